#include "worker/worker_server.h"

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/worker.grpc.pb.h"
#include "worker/problem_cache.h"
#include "worker/session.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

// The service: creates a Session reactor per stream and counts the live ones.
class WorkerServer::Impl final : public v1::Worker::CallbackService {
 public:
  explicit Impl(const Options& options)
      : options_(options), cache_(options.problem_cache_capacity) {}

  grpc::ServerBidiReactor<ToWorker, FromWorker>* Session(
      grpc::CallbackServerContext* context) override;

  const Options& options() const { return options_; }
  ProblemCache& cache() { return cache_; }

  void SessionStarted() {
    absl::MutexLock lock(&mu_);
    ++live_sessions_;
  }
  void SessionEnded() {
    absl::MutexLock lock(&mu_);
    --live_sessions_;
  }
  // Waits until every session's reactor and thread are gone.
  void AwaitNoSessions() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* live) { return *live == 0; }, &live_sessions_));
  }

  // Held for the whole of Shutdown, so a concurrent caller (or the destructor)
  // waits for the first Shutdown to complete instead of racing it on `server`.
  absl::Mutex shutdown_mu;
  std::unique_ptr<grpc::Server> server ABSL_GUARDED_BY(shutdown_mu);
  int port = 0;

 private:
  const Options options_;
  ProblemCache cache_;
  absl::Mutex mu_;
  int live_sessions_ ABSL_GUARDED_BY(mu_) = 0;
};

namespace {

// One run's stream. gRPC's reactions only move messages between the stream and
// the inbox/outbox; a thread of the session's own handles the inbox, so a long
// worker step never blocks gRPC. The object deletes itself once both gRPC (OnDone)
// and its thread are finished with it.
class Session final : public grpc::ServerBidiReactor<ToWorker, FromWorker> {
 public:
  explicit Session(WorkerServer::Impl* service) : service_(service) {
    service_->SessionStarted();
    StartRead(&incoming_);
    std::thread([this] { Run(); }).detach();
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      input_closed_ = true;  // the coordinator closed its side or the stream broke
      return;
    }
    inbox_.push_back(std::move(incoming_));
    incoming_.Clear();
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    outbox_.pop_front();
    write_in_flight_ = false;
    if (!ok) {
      input_closed_ = true;  // the stream is broken: stop working on it
      outbox_.clear();
    } else if (!outbox_.empty()) {
      write_in_flight_ = true;
      StartWrite(&outbox_.front());
    }
    MaybeFinishLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    input_closed_ = true;
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    Unref();
  }

 private:
  // The session thread: handles messages in order until the session is done or
  // the stream ends.
  void Run() {
    {
      WorkerSession session(service_->options().data_root, &service_->cache());
      while (!session.done()) {
        ToWorker message;
        {
          absl::MutexLock lock(&mu_);
          mu_.Await(absl::Condition(this, &Session::HasInputLocked));
          if (inbox_.empty()) break;  // closed
          message = std::move(inbox_.front());
          inbox_.pop_front();
        }
        std::optional<FromWorker> reply = session.Handle(message);
        if (reply.has_value()) Send(std::move(*reply));
      }
    }  // the session returns its problem to the cache here
    {
      absl::MutexLock lock(&mu_);
      thread_done_ = true;
      MaybeFinishLocked();
    }
    Unref();
  }

  void Send(FromWorker message) {
    absl::MutexLock lock(&mu_);
    if (done_ || finished_) return;
    outbox_.push_back(std::move(message));
    if (!write_in_flight_) {
      write_in_flight_ = true;
      StartWrite(&outbox_.front());
    }
  }

  bool HasInputLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !inbox_.empty() || input_closed_;
  }

  // Finishes the stream once the thread is done and every answer is written.
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (thread_done_ && !write_in_flight_ && !finished_ && !done_) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  void Unref() {
    bool last;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) {
      WorkerServer::Impl* service = service_;
      delete this;
      service->SessionEnded();
    }
  }

  WorkerServer::Impl* const service_;

  absl::Mutex mu_;
  ToWorker incoming_ ABSL_GUARDED_BY(mu_);  // the read in flight
  std::deque<ToWorker> inbox_ ABSL_GUARDED_BY(mu_);
  std::deque<FromWorker> outbox_ ABSL_GUARDED_BY(mu_);  // front is the write in flight
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool input_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool thread_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int refs_ ABSL_GUARDED_BY(mu_) = 2;  // gRPC and the session thread
};

}  // namespace

grpc::ServerBidiReactor<ToWorker, FromWorker>* WorkerServer::Impl::Session(
    grpc::CallbackServerContext*) {
  return new class Session(this);
}

absl::StatusOr<std::unique_ptr<WorkerServer>> WorkerServer::Start(const Options& options) {
  if (options.max_message_bytes < 1024 || options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes must be in [1024, 2^31), got ", options.max_message_bytes));
  }
  auto impl = std::make_unique<Impl>(options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(
      options.listen,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &impl->port);
  builder.RegisterService(impl.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  // Let coordinators ping every second to detect a lost worker quickly.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  {
    absl::MutexLock lock(&impl->shutdown_mu);
    impl->server = builder.BuildAndStart();
    if (impl->server == nullptr || impl->port == 0) {
      // A server that started without the port must not outlive `impl`, its service.
      if (impl->server != nullptr) impl->server->Shutdown();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
    }
  }
  return std::unique_ptr<WorkerServer>(new WorkerServer(std::move(impl)));
}

WorkerServer::WorkerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WorkerServer::~WorkerServer() { Shutdown(); }

int WorkerServer::port() const { return impl_->port; }

void WorkerServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&impl_->shutdown_mu);
  if (impl_->server == nullptr) return;
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  impl_->AwaitNoSessions();
  impl_->server->Wait();
  impl_->server.reset();
}

}  // namespace aia
