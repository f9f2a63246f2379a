#include "bench/pingpong_service.h"

#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/pingpong.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace aia {
namespace bench {
namespace {

// One stream. At most one operation is in flight at any time (read, then write,
// then read), so OnReadDone(false) always comes with no write outstanding and
// Finish is safe there.
class Echoer final : public grpc::ServerBidiReactor<Frame, Frame> {
 public:
  Echoer() { StartRead(&frame_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the stream broke
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&frame_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    StartRead(&frame_);
  }

  void OnDone() override { delete this; }

 private:
  Frame frame_;  // the frame being read or echoed
};

}  // namespace

class PingPongServer::Impl final : public PingPong::CallbackService {
 public:
  grpc::ServerBidiReactor<Frame, Frame>* Stream(grpc::CallbackServerContext*) override {
    return new Echoer();
  }

  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

absl::StatusOr<std::unique_ptr<PingPongServer>> PingPongServer::Start(const Options& options) {
  if (options.max_message_bytes < 1024 || options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes must be in [1024, 2^31), got ", options.max_message_bytes));
  }
  auto impl = std::make_unique<Impl>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.RegisterService(impl.get());
  // The same message limits as the worker daemon (worker/worker_server.cc).
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  return std::unique_ptr<PingPongServer>(new PingPongServer(std::move(impl)));
}

PingPongServer::PingPongServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PingPongServer::~PingPongServer() { Shutdown(); }

int PingPongServer::port() const { return impl_->port; }

void PingPongServer::Shutdown(absl::Duration grace) {
  if (impl_->server == nullptr) return;
  // Shutdown returns once every stream has ended (OnDone has run).
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace bench
}  // namespace aia
