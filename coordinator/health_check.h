// CheckHealth: one grpc.health.v1.Health/Check call (for `aia health`, probes and
// scripts), made by hand over a generic stub: Debian's gRPC ships no generated
// health stubs. The request is HealthCheckRequest{service} (field 1, a string);
// the response HealthCheckResponse{status} (field 1, an enum).
//
// Example:
//   absl::StatusOr<HealthStatus> health = CheckHealth(channel, "aia.v1.Worker",
//                                                     absl::Seconds(5));
//   if (health.ok() && *health == HealthStatus::kServing) ...
//
// Thread safety: thread-safe (each call has its own context).
#ifndef AIA_COORDINATOR_HEALTH_CHECK_H_
#define AIA_COORDINATOR_HEALTH_CHECK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace aia {

// grpc.health.v1.HealthCheckResponse.ServingStatus.
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN".
const char* HealthStatusName(HealthStatus status);

// Calls Check for `service` ("" is the server as a whole) with `timeout` as the
// deadline. An error is the call's status (NOT_FOUND: no such service;
// UNAVAILABLE: unreachable; UNAUTHENTICATED: a token refused ...), as an
// absl::Status with the gRPC code and message.
absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service, absl::Duration timeout);

}  // namespace aia

#endif  // AIA_COORDINATOR_HEALTH_CHECK_H_
