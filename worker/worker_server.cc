#include "worker/worker_server.h"

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/worker.grpc.pb.h"
#include "worker/problem_cache.h"
#include "worker/session_reactor.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

namespace {

constexpr char kServiceName[] = "aia.v1.Worker";

}  // namespace

// The service: admits sessions through its SessionHost (at most max_sessions, none
// while draining).
class WorkerServer::Impl final : public v1::Worker::WithRawCallbackMethod_Session<v1::Worker::Service> {
 public:
  explicit Impl(SessionHost::Options options) : host(std::move(options)) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Session(
      grpc::CallbackServerContext* context) override;

  SessionHost host;
  // Held for the whole of Shutdown, so a concurrent caller (or the destructor)
  // waits for the first Shutdown to complete instead of racing it on `server`.
  absl::Mutex shutdown_mu;
  std::unique_ptr<grpc::Server> server ABSL_GUARDED_BY(shutdown_mu);
  int port = 0;
};

namespace {

// A session on the server stream of Worker.Session: it ends with Finish(status).
class ServerSessionReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                                   public SessionReactor {
 public:
  ServerSessionReactor(SessionHost* host, grpc::CallbackServerContext* context)
      : SessionReactor(host, Transport::kServer, context->peer()), context_(context) {
    Begin();
  }

  void OnReadDone(bool ok) override { ReadDone(ok); }
  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnCancel() override { Cancelled(); }
  void OnDone() override { Done(); }

 private:
  void StartReadOp(grpc::ByteBuffer* bytes) override { StartRead(bytes); }
  void StartWriteOp(const grpc::ByteBuffer* bytes) override { StartWrite(bytes); }
  void EndStreamOp(const grpc::Status& status) override { Finish(status); }
  void CancelStreamOp() override { context_->TryCancel(); }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
};

}  // namespace

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* WorkerServer::Impl::Session(
    grpc::CallbackServerContext* context) {
  return new ServerSessionReactor(&host, context);
}

absl::StatusOr<std::unique_ptr<WorkerServer>> WorkerServer::Start(const Options& options) {
  if (options.max_message_bytes < 1024 || options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes must be in [1024, 2^31), got ", options.max_message_bytes));
  }
  if (options.max_sessions < 1 || options.max_sessions > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_sessions must be in [1, 100000], got ", options.max_sessions));
  }
  for (const auto& [name, value] : {std::pair{"setup_deadline", options.setup_deadline},
                                    std::pair{"handshake_timeout", options.handshake_timeout},
                                    std::pair{"idle_timeout", options.idle_timeout}}) {
    if (value < absl::Milliseconds(10) || value > absl::Hours(24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be in [0.01 s, 24 h], got ", absl::FormatDuration(value)));
    }
  }
  SessionHost::Options host;
  host.data_root = options.data_root;
  host.cache = options.cache != nullptr
                   ? options.cache
                   : std::make_shared<ProblemCache>(options.problem_cache_capacity,
                                                    options.problem_cache_bytes);
  host.max_sessions = options.max_sessions;
  host.setup_deadline = options.setup_deadline;
  host.log = options.log;
  host.observer = options.observer;
  auto impl = std::make_unique<Impl>(std::move(host));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      options.listen,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &impl->port);
  builder.RegisterService(impl.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  // A second daemon on the same port is an error, not a silent load balancer.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Connections that never finish their handshake, or hold no call, are closed.
  builder.AddChannelArgument(
      GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(options.handshake_timeout)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(options.idle_timeout)));
  // Streams beyond the session limit (and a few health checks) are refused by
  // HTTP/2 itself.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_sessions + 8);
  {
    absl::MutexLock lock(&impl->shutdown_mu);
    impl->server = builder.BuildAndStart();
    if (impl->server == nullptr || impl->port == 0) {
      // A server that started without the port must not outlive `impl`, its service.
      if (impl->server != nullptr) impl->server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.listen, " (in use, or not an address here)"));
    }
    grpc::HealthCheckServiceInterface* health = impl->server->GetHealthCheckService();
    if (health != nullptr) health->SetServingStatus(kServiceName, true);
  }
  impl->host.StartTicker();
  return std::unique_ptr<WorkerServer>(new WorkerServer(std::move(impl)));
}

WorkerServer::WorkerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WorkerServer::~WorkerServer() { Shutdown(); }

int WorkerServer::port() const { return impl_->port; }

void WorkerServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&impl_->shutdown_mu);
  if (impl_->server == nullptr) return;
  // Drain: no new sessions, health NOT_SERVING; running sessions get the grace to
  // end, then an in-band Error before they are cancelled.
  impl_->host.BeginDrain();
  grpc::HealthCheckServiceInterface* health = impl_->server->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(false);
  impl_->host.LeaveAll();  // each session leaves after the step it is on
  if (!impl_->host.AwaitNoSessions(grace)) {
    impl_->host.EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"));
    impl_->host.AwaitNoSessions(absl::Seconds(1));
  }
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  impl_->host.AwaitNoSessions(absl::InfiniteDuration());  // worker steps still running
  impl_->server->Wait();
  impl_->host.StopTicker();
  impl_->server.reset();
}

}  // namespace aia
