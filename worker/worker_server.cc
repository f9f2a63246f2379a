#include "worker/worker_server.h"

#include <chrono>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "algorithms/algorithm.h"
#include "base/status_macros.h"
#include "base/version.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "problems/problem.h"
#include "proto/worker.grpc.pb.h"
#include "worker/problem_cache.h"

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
  // The session thread: handles messages in order until Stop, an error, or the end
  // of the stream.
  void Run() {
    while (true) {
      ToWorker message;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Session::HasInputLocked));
        if (inbox_.empty()) break;  // closed
        message = std::move(inbox_.front());
        inbox_.pop_front();
      }
      absl::Status status = Handle(message);
      if (!status.ok()) {
        FromWorker error;
        error.mutable_error()->set_reason(std::string(status.message()));
        error.mutable_error()->set_code(static_cast<int>(status.code()));
        Send(std::move(error));
        break;
      }
      if (message.has_stop()) break;
    }
    if (problem_ != nullptr) service_->cache().Put(cache_key_, std::move(problem_));
    {
      absl::MutexLock lock(&mu_);
      thread_done_ = true;
      MaybeFinishLocked();
    }
    Unref();
  }

  absl::Status Handle(const ToWorker& message) {
    switch (message.kind_case()) {
      case ToWorker::kSetup:
        return HandleSetup(message.setup());
      case ToWorker::kQuery:
        return HandleQuery(message.query());
      case ToWorker::kStop:
        return absl::OkStatus();
      case ToWorker::KIND_NOT_SET:
        break;
    }
    return absl::InvalidArgumentError("received an empty message (no setup, query or stop)");
  }

  absl::Status HandleSetup(const v1::Setup& setup) {
    if (algorithm_ != nullptr) return absl::FailedPreconditionError("received a second Setup");
    const absl::Time start = absl::Now();
    if (setup.worker_count() < 1 || setup.worker_index() < 0 ||
        setup.worker_index() >= setup.worker_count()) {
      return absl::InvalidArgumentError(absl::StrCat("Setup has worker index ",
                                                     setup.worker_index(), " of ",
                                                     setup.worker_count()));
    }
    AlgorithmContext algorithm_context{setup.algorithm(), setup.seed(), setup.worker_index(),
                                       setup.worker_count()};
    ASSIGN_OR_RETURN(algorithm_, NewAlgorithm(algorithm_context));
    if (algorithm_->query_type() != setup.query_type() ||
        algorithm_->answer_type() != setup.answer_type()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "algorithm '", setup.algorithm().name(), "' here takes ", algorithm_->query_type(),
          " queries and gives ", algorithm_->answer_type(), " answers; the coordinator's takes ",
          setup.query_type(), " and gives ", setup.answer_type(), " (different aia versions?)"));
    }
    const std::string& data_root = service_->options().data_root;
    cache_key_ = ProblemCache::Key(setup.problem(), data_root, setup.worker_index(),
                                   setup.worker_count());
    problem_ = service_->cache().Take(cache_key_);
    const bool cached = problem_ != nullptr;
    if (!cached) {
      ProblemContext problem_context{setup.problem(), data_root, setup.worker_index(),
                                     setup.worker_count()};
      ASSIGN_OR_RETURN(problem_, NewProblem(problem_context));
    }
    FromWorker ready;
    ready.mutable_ready()->set_dimension(problem_->dimension());
    ready.mutable_ready()->set_rows(problem_->rows());
    ready.mutable_ready()->set_cached(cached);
    ready.mutable_ready()->set_setup_s(absl::ToDoubleSeconds(absl::Now() - start));
    ready.mutable_ready()->set_version(kVersion);
    Send(std::move(ready));
    return absl::OkStatus();
  }

  absl::Status HandleQuery(const v1::Query& query) {
    if (algorithm_ == nullptr) {
      return absl::FailedPreconditionError("received a Query before Setup");
    }
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> answer = algorithm_->Answer(query.payload(), *problem_);
    if (!answer.ok()) {
      return absl::Status(answer.status().code(),
                          absl::StrCat("worker step on query ", query.id(), " failed: ",
                                       answer.status().message()));
    }
    FromWorker reply;
    v1::Answer* out = reply.mutable_answer();
    out->set_query_id(query.id());
    *out->mutable_payload() = std::move(answer).value();
    out->set_compute_s(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    Send(std::move(reply));
    return absl::OkStatus();
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

  // Used by the session thread only.
  std::unique_ptr<Algorithm> algorithm_;
  std::unique_ptr<Problem> problem_;
  std::string cache_key_;

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
    return absl::InvalidArgumentError(absl::StrCat(
        "max_message_bytes must be in [1024, 2^31), got ", options.max_message_bytes));
  }
  auto impl = std::make_unique<Impl>(options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &impl->port);
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
