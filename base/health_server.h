// HealthServer: a plaintext gRPC port that serves only grpc.health.v1.Health, for
// probes that cannot speak the daemon's TLS and token (Kubernetes' native gRPC
// probes, a load balancer's health check). It carries nothing but SERVING /
// NOT_SERVING: "" stays SERVING while the process lives (liveness), `service`
// (e.g. "aia.v1.Worker") turns NOT_SERVING once the daemon drains (readiness).
//
// Example:
//   ASSIGN_OR_RETURN(auto health, HealthServer::Start("0.0.0.0:7071", "aia.v1.Worker"));
//   ...
//   health->SetServing(false);  // draining: readiness probes fail, liveness holds
//
// Thread safety: every method may be called from any thread.
#ifndef AIA_BASE_HEALTH_SERVER_H_
#define AIA_BASE_HEALTH_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"

namespace aia {

class HealthServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks one). InvalidArgument if it is not
  // HOST:PORT, Unavailable if it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(const std::string& listen,
                                                             const std::string& service);
  ~HealthServer();

  int port() const { return port_; }
  // `service`'s status; "" stays SERVING.
  void SetServing(bool serving);

 private:
  HealthServer(std::unique_ptr<grpc::Server> server,
               std::unique_ptr<grpc::CallbackGenericService> generic, std::string service,
               int port);

  std::unique_ptr<grpc::CallbackGenericService> generic_;  // outlives the server
  std::unique_ptr<grpc::Server> server_;
  const std::string service_;
  const int port_;
};

}  // namespace aia

#endif  // AIA_BASE_HEALTH_SERVER_H_
