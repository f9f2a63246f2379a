#include "coordinator/service/join_listener.h"

#include <algorithm>
#include <chrono>
#include <climits>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "proto/coordinator.grpc.pb.h"

namespace aia {

class JoinListener::Impl final
    : public CoordinatorCallbackService {
 public:
  explicit Impl(const Options& options) : options_(options), directory_(DirectoryOptions(options)) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Join(
      grpc::CallbackServerContext* context) override {
    return JoinStream::Create(context, &directory_);
  }

  absl::Status Serve() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options_.listen,
                             options_.credentials != nullptr ? options_.credentials
                                                             : grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    ConfigureJoinServer(builder, options_.max_message_bytes);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen,
                                                 " (in use, or not an address of this machine)"));
    }
    return absl::OkStatus();
  }

  void Shutdown() {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    directory_.Shutdown();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  int port() const { return port_; }
  WorkerDirectory& directory() { return directory_; }

 private:
  static WorkerDirectory::Options DirectoryOptions(const Options& options) {
    WorkerDirectory::Options directory;
    directory.log = options.log;
    return directory;
  }

  const Options options_;
  WorkerDirectory directory_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<JoinListener>> JoinListener::Start(const Options& options) {
  auto impl = std::make_unique<Impl>(options);
  if (absl::Status status = impl->Serve(); !status.ok()) return status;
  return std::unique_ptr<JoinListener>(new JoinListener(std::move(impl)));
}

JoinListener::JoinListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JoinListener::~JoinListener() { Shutdown(); }
int JoinListener::port() const { return impl_->port(); }
WorkerDirectory& JoinListener::directory() { return impl_->directory(); }
void JoinListener::Shutdown() { impl_->Shutdown(); }

}  // namespace aia
