// A hand-made grpc.health.v1 client for tests: the servers' health service is
// checked without generated health stubs (no health.proto in this workspace).
#ifndef AIA_TESTS_GRPC_HEALTH_H_
#define AIA_TESTS_GRPC_HEALTH_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace aia::testing {

// Calls grpc.health.v1.Health/Check on `channel` for `service` ("" is the server
// as a whole): the request is HealthCheckRequest{service} (field 1, a string).
// Returns the response bytes ("\x08\x01" is SERVING), or "" on error with the
// call's status in `status`. The call's deadline is 10 s; if it has not completed
// after 15 s it is cancelled and the test fails.
std::string HealthCheck(const std::shared_ptr<grpc::Channel>& channel, grpc::Status& status,
                        const std::string& service = "");

}  // namespace aia::testing

#endif  // AIA_TESTS_GRPC_HEALTH_H_
