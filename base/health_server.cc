#include "base/health_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"

namespace aia {
namespace {

// Every call but the health service's: UNIMPLEMENTED. (It also gives the server
// a callback service, without which gRPC refuses to start one holding only the
// default health service.)
class Unimplemented final : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Refusal final : public grpc::ServerGenericBidiReactor {
     public:
      Refusal() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "health checks only")); }
      void OnDone() override { delete this; }
    };
    return new Refusal;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& listen,
                                                                  const std::string& service) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return absl::InvalidArgumentError(absl::StrCat("expected HOST:PORT, got '", listen, "'"));
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  // Probes only: a few small requests; nobody needs large messages or many streams.
  builder.SetMaxReceiveMessageSize(4096);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 8);
  auto unimplemented = std::make_unique<Unimplemented>();
  builder.RegisterCallbackGenericService(unimplemented.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  auto health = std::unique_ptr<HealthServer>(
      new HealthServer(std::move(server), std::move(unimplemented), service, port));
  health->server_->GetHealthCheckService()->SetServingStatus(true);
  health->SetServing(true);
  return health;
}

HealthServer::HealthServer(std::unique_ptr<grpc::Server> server,
                           std::unique_ptr<grpc::CallbackGenericService> generic,
                           std::string service, int port)
    : generic_(std::move(generic)),
      server_(std::move(server)),
      service_(std::move(service)),
      port_(port) {}

HealthServer::~HealthServer() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

void HealthServer::SetServing(bool serving) {
  server_->GetHealthCheckService()->SetServingStatus(service_, serving);
}

}  // namespace aia
