#include "worker/worker_server.h"

#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/interrupt.h"
#include "base/write_queue.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/worker.grpc.pb.h"
#include "worker/problem_cache.h"
#include "worker/session.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

namespace {

constexpr char kServiceName[] = "aia.v1.Worker";
// Messages queued for the session thread before the stream stops being read
// (proto/worker.proto, rule 3): the query being answered is not in the inbox.
constexpr size_t kInboxLimit = 1;
// Replies queued behind the write in flight before the session thread waits: a
// client that does not read its answers holds the thread, not the daemon's memory.
constexpr size_t kOutboxLimit = 1;
// How often the ticker sends heartbeats and checks deadlines.
constexpr absl::Duration kTick = absl::Milliseconds(50);

}  // namespace

class SessionReactor;

// The service: admits sessions (at most max_sessions, none while draining), and
// runs the ticker, one thread for all sessions that sends heartbeats and ends
// sessions whose Setup or coordinator is overdue.
class WorkerServer::Impl final : public v1::Worker::CallbackService {
 public:
  explicit Impl(const Options& options)
      : options_(options), cache_(options.problem_cache_capacity, options.problem_cache_bytes) {}
  ~Impl() { StopTicker(); }

  grpc::ServerBidiReactor<ToWorker, FromWorker>* Session(
      grpc::CallbackServerContext* context) override;

  const Options& options() const { return options_; }
  ProblemCache& cache() { return cache_; }
  WorkerObserver* observer() const { return options_.observer.get(); }
  void ReportCache() {
    if (observer() != nullptr) observer()->ProblemCacheChanged(cache_.size(), cache_.bytes());
  }
  void Log(const std::string& line) const {
    if (options_.log) {
      options_.log(line);
    } else {
      std::fprintf(stderr, "aia_worker: %s\n", line.c_str());
    }
  }

  // Registers `session`; false with the status to refuse it with when the worker
  // is full or draining.
  bool Admit(SessionReactor* session, grpc::Status* refusal);
  // Forgets `session` (about to be deleted).
  void Unregister(SessionReactor* session);
  // A registered session's object is gone.
  void SessionGone();

  void StartTicker() { ticker_ = std::thread([this] { TickerLoop(); }); }
  void StopTicker();
  // From now on, sessions are refused.
  void BeginDrain() {
    absl::MutexLock lock(&mu_);
    draining_ = true;
  }
  // Asks every session to leave after its step in progress.
  void LeaveAll();
  // Ends every session with an in-band Error carrying `status`, then `status`.
  void EndAll(const grpc::Status& status);
  // Waits until every session's reactor and thread are gone; false on timeout.
  bool AwaitNoSessions(absl::Duration timeout);

  // Held for the whole of Shutdown, so a concurrent caller (or the destructor)
  // waits for the first Shutdown to complete instead of racing it on `server`.
  absl::Mutex shutdown_mu;
  std::unique_ptr<grpc::Server> server ABSL_GUARDED_BY(shutdown_mu);
  int port = 0;

 private:
  void TickerLoop();
  // The registered sessions, each with a reference taken (release with Unref).
  std::vector<SessionReactor*> Snapshot();

  const Options options_;
  ProblemCache cache_;
  absl::Mutex mu_;
  std::set<SessionReactor*> sessions_ ABSL_GUARDED_BY(mu_);
  int objects_ ABSL_GUARDED_BY(mu_) = 0;  // registered session objects not yet deleted
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ticker_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

// One run's stream. gRPC's reactions only move messages between the stream and
// the inbox/outbox; no thread exists until the Setup arrives, then a thread of
// the session's own handles the inbox, so a long worker step never blocks gRPC.
// The object deletes itself once gRPC (OnDone), its thread and any ticker pass
// are finished with it (a reference count).
class SessionReactor final : public grpc::ServerBidiReactor<ToWorker, FromWorker> {
 public:
  SessionReactor(WorkerServer::Impl* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context), peer_(context->peer()), created_(SteadyNow()) {
    grpc::Status refusal;
    if (!service_->Admit(this, &refusal)) {
      service_->Log(absl::StrCat("refused a session from ", peer_, ": ", refusal.error_message()));
      absl::MutexLock lock(&mu_);
      finished_ = true;
      Finish(refusal);
      return;
    }
    admitted_ = true;
    absl::MutexLock lock(&mu_);
    last_received_ = created_;
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      // The coordinator closed its side or the stream broke: the step in progress
      // finishes, nothing queued is answered (rule 6).
      input_closed_ = true;
      inbox_.clear();
      NoteEndLocked(SessionEnd::kClosed);
      MaybeFinishLocked();
      return;
    }
    if (WorkerObserver* observer = service_->observer()) {
      observer->Received(static_cast<int64_t>(incoming_.ByteSizeLong()));
    }
    last_received_ = SteadyNow();
    if (input_closed_ || finished_) return;  // ending, cancelled or broken
    if (incoming_.has_heartbeat()) {
      StartRead(&incoming_);
      return;
    }
    if (!thread_started_) {
      if (!incoming_.has_setup()) {
        NoteEndLocked(SessionEnd::kError);
        EndLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                               "the first message of a session must be a Setup"),
                  /*send_error=*/true);
        return;
      }
      // Heartbeats as asked, at most 100 a second; 0 (or nonsense) for none. The
      // coordinator's silence is counted from liveness_timeout_s (0: never).
      const v1::Setup& setup = incoming_.setup();
      if (std::isfinite(setup.heartbeat_s()) && setup.heartbeat_s() > 0) {
        heartbeat_ = absl::Seconds(std::clamp(setup.heartbeat_s(), 0.01, 3600.0));
      }
      if (std::isfinite(setup.liveness_timeout_s()) && setup.liveness_timeout_s() > 0) {
        liveness_ = absl::Seconds(std::clamp(setup.liveness_timeout_s(), 0.1, 86400.0));
      }
      ++refs_;
      try {
        std::thread([this] { Run(); }).detach();
      } catch (const std::system_error&) {
        --refs_;
        NoteEndLocked(SessionEnd::kError);
        EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "the worker cannot start a thread for the session"),
                  /*send_error=*/true);
        return;
      }
      thread_started_ = true;
    }
    inbox_.push_back(std::move(incoming_));
    incoming_.Clear();
    if (inbox_.size() < kInboxLimit) {
      StartRead(&incoming_);
    } else {
      read_paused_ = true;  // resumed by the session thread as it takes messages
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      // The stream is broken: stop working on it at once.
      outbox_.Clear();
      outbox_.Done();
      NoteEndLocked(SessionEnd::kCancelled);
      StopWorkLocked();
    } else if (const FromWorker* next = outbox_.Done()) {
      write_started_ = SteadyNow();
      StartWrite(next);
    }
    MaybeFinishLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    NoteEndLocked(SessionEnd::kCancelled);
    StopWorkLocked();
    MaybeFinishLocked();
  }

  void OnDone() override {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    Unref();
  }

  // Adds a reference unless the object is already on its way out.
  bool TryRef() {
    absl::MutexLock lock(&mu_);
    if (refs_ == 0) return false;
    ++refs_;
    return true;
  }

  void Unref() {
    bool last;
    std::optional<SessionEnd> end_cause;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
      end_cause = end_cause_;
    }
    if (!last) return;
    WorkerServer::Impl* service = service_;
    const bool admitted = admitted_;
    if (admitted && service->observer() != nullptr) {
      service->observer()->SessionEnded(end_cause.value_or(SessionEnd::kClosed));
    }
    if (admitted) service->Unregister(this);
    delete this;
    if (admitted) service->SessionGone();
  }

  // The ticker's visit: a heartbeat when one is due; the end of a session whose
  // Setup or coordinator is overdue.
  void Tick(absl::Time now) {
    std::string log;
    {
      absl::MutexLock lock(&mu_);
      log = TickLocked(now);
    }
    if (!log.empty()) service_->Log(log);
  }

  // Tick's work; returns a line for the log, or "".
  std::string TickLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || done_ || ending_) return "";
    const absl::Duration deadline = service_->options().setup_deadline;
    if (!thread_started_) {
      if (now - created_ <= deadline) return "";
      NoteEndLocked(SessionEnd::kSetupDeadline);
      EndLocked(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                             absl::StrCat("no Setup within ", absl::FormatDuration(deadline),
                                          " (--setup_deadline_s)")),
                /*send_error=*/true);
      return absl::StrCat("closed a stream from ", peer_, ": no Setup within ",
                          absl::FormatDuration(deadline));
    }
    // A heartbeat only when nothing is being written: one queued behind a message
    // the client does not read would only add to the queue.
    if (heartbeat_ > absl::ZeroDuration() && !outbox_.in_flight() && now - last_sent_ >= heartbeat_) {
      FromWorker heartbeat;
      heartbeat.mutable_heartbeat();
      SendLocked(std::move(heartbeat));
    }
    if (liveness_ <= absl::ZeroDuration()) return "";
    std::string why;
    if (!read_paused_ && !input_closed_ && now - last_received_ > liveness_) {
      why = absl::StrCat("the coordinator sent nothing for ", absl::FormatDuration(liveness_),
                         " (its heartbeats)");
    } else if (outbox_.in_flight() && now - write_started_ > liveness_) {
      // A coordinator that does not read would otherwise hold the session (and
      // its thread, waiting to send) for good.
      why = absl::StrCat("the coordinator read nothing for ", absl::FormatDuration(liveness_));
    }
    if (why.empty()) return "";
    const bool stalled = outbox_.in_flight() && now - write_started_ > liveness_;
    NoteEndLocked(SessionEnd::kLiveness);
    EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, why), /*send_error=*/!stalled);
    // A write that never completes would keep the stream from finishing: cancel it.
    if (stalled) context_->TryCancel();
    return absl::StrCat("ended the session of ", peer_, ": ", why);
  }

  // A drain starts: the session leaves once the step in progress, or the query
  // it has received, is answered (at once if there is none), with Leave and status
  // OK.
  void Leave() {
    absl::MutexLock lock(&mu_);
    if (finished_ || done_ || ending_) return;
    leaving_ = true;
    if (!thread_started_) {
      EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"),
                /*send_error=*/true);
    } else if (!step_in_progress_ && inbox_.empty()) {
      LeaveLocked();  // otherwise after the reply to what it is on (or has received)
    }
  }

  // Ends the session from outside (a drain): an in-band Error, then `status`.
  void End(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (finished_ || done_ || ending_) return;
    NoteEndLocked(SessionEnd::kShutdown);
    EndLocked(status, /*send_error=*/true);
  }

 private:
  // The session thread: handles messages in order until the session is done, the
  // stream ends or the session is stopped.
  void Run() {
    {
      ScopedInterrupt scope(&interrupt_);  // simulated delays end when the session does
      WorkerSession session(service_->options().data_root, &service_->cache());
      while (!session.done()) {
        ToWorker message;
        {
          absl::MutexLock lock(&mu_);
          mu_.Await(absl::Condition(this, &SessionReactor::CanTakeLocked));
          if (inbox_.empty()) break;  // closed or stopped
          message = std::move(inbox_.front());
          inbox_.pop_front();
          if (message.has_stop()) NoteEndLocked(SessionEnd::kStopped);
          if (read_paused_ && !input_closed_) {
            read_paused_ = false;
            last_received_ = SteadyNow();  // silence is counted while reading only
            StartRead(&incoming_);
          }
        }
        {
          absl::MutexLock lock(&mu_);
          step_in_progress_ = true;
        }
        std::optional<FromWorker> reply = session.Handle(message);
        if (message.has_setup()) service_->ReportCache();  // the problem was taken out
        {
          absl::MutexLock lock(&mu_);
          step_in_progress_ = false;
          if (!reply.has_value() && leaving_ && !ending_) LeaveLocked();
        }
        if (!reply.has_value()) continue;
        bool ended_here = false;
        {
          absl::MutexLock lock(&mu_);
          if (ending_) continue;  // ended from outside: its own Error went already
          if (reply->has_error()) {
            // The session's last word: nothing (not a heartbeat) follows it.
            ended_here = true;
            NoteEndLocked(SessionEnd::kError);
            end_status_ = grpc::Status(static_cast<grpc::StatusCode>(reply->error().code()),
                                       reply->error().reason());
            SendLocked(std::move(*reply));
            ending_ = true;
            input_closed_ = true;
            inbox_.clear();
          } else {
            SendLocked(std::move(*reply));
            if (leaving_) LeaveLocked();  // the drain waited for this answer
          }
        }
        if (ended_here) service_->Log(absl::StrCat("session of ", peer_, " ended: ", session.error()));
      }
    }  // the session returns its problem to the cache here
    service_->ReportCache();
    {
      absl::MutexLock lock(&mu_);
      thread_done_ = true;
      MaybeFinishLocked();
    }
    Unref();
  }

  void SendLocked(FromWorker message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (done_ || finished_ || broken_) return;
    if (WorkerObserver* observer = service_->observer()) {
      observer->Sent(static_cast<int64_t>(message.ByteSizeLong()));
      if (message.has_answer()) observer->Answered(message.answer().compute_s());
    }
    last_sent_ = SteadyNow();
    if (const FromWorker* next = outbox_.Push(std::move(message))) {
      write_started_ = last_sent_;
      StartWrite(next);
    }
  }

  // Records why the session ends, for the observer; the first cause stands.
  void NoteEndLocked(SessionEnd cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!end_cause_.has_value()) end_cause_ = cause;
  }

  // No more work: queued messages are dropped and a simulated delay in progress
  // ends; the step being computed finishes but its answer is not sent.
  void StopWorkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    input_closed_ = true;
    broken_ = true;
    inbox_.clear();
    if (!interrupt_.HasBeenNotified()) interrupt_.Notify();
  }

  void LeaveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    NoteEndLocked(SessionEnd::kShutdown);
    FromWorker leave;
    leave.mutable_leave()->set_reason("the worker is shutting down");
    SendLocked(std::move(leave));
    EndLocked(grpc::Status::OK, /*send_error=*/false);
  }

  void EndLocked(const grpc::Status& status, bool send_error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ending_ = true;
    end_status_ = status;
    input_closed_ = true;
    inbox_.clear();
    if (!interrupt_.HasBeenNotified()) interrupt_.Notify();
    if (send_error) {
      FromWorker error;
      error.mutable_error()->set_reason(status.error_message());
      error.mutable_error()->set_code(static_cast<int>(status.error_code()));
      SendLocked(std::move(error));
    }
    MaybeFinishLocked();
  }

  // The session thread may take the next message (or learn there is none).
  bool CanTakeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return input_closed_ || (!inbox_.empty() && outbox_.size() <= kOutboxLimit);
  }

  // Finishes the stream once there is no thread left to answer and every message
  // is written.
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || done_ || outbox_.in_flight()) return;
    const bool no_thread = thread_started_ ? thread_done_ : (ending_ || input_closed_);
    if (!no_thread) return;
    finished_ = true;
    Finish(end_status_);
  }

  WorkerServer::Impl* const service_;
  grpc::CallbackServerContext* const context_;  // valid until OnDone
  const std::string peer_;
  const absl::Time created_;  // SteadyNow()
  bool admitted_ = false;
  absl::Notification interrupt_;

  absl::Mutex mu_;
  ToWorker incoming_;  // the read in flight
  std::deque<ToWorker> inbox_ ABSL_GUARDED_BY(mu_);
  WriteQueue<FromWorker> outbox_ ABSL_GUARDED_BY(mu_);
  absl::Duration heartbeat_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Duration liveness_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time last_received_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);  // of the write in flight
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  std::optional<SessionEnd> end_cause_ ABSL_GUARDED_BY(mu_);  // for the observer
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool input_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool thread_started_ ABSL_GUARDED_BY(mu_) = false;
  bool step_in_progress_ ABSL_GUARDED_BY(mu_) = false;  // the thread handles a message
  bool leaving_ ABSL_GUARDED_BY(mu_) = false;           // a drain asked it to leave
  bool thread_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until OnDone; +1 for the thread
};

grpc::ServerBidiReactor<ToWorker, FromWorker>* WorkerServer::Impl::Session(
    grpc::CallbackServerContext* context) {
  return new SessionReactor(this, context);
}

bool WorkerServer::Impl::Admit(SessionReactor* session, grpc::Status* refusal) {
  absl::MutexLock lock(&mu_);
  if (draining_) {
    if (observer() != nullptr) observer()->SessionRefused(SessionRefusal::kDraining);
    *refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down");
    return false;
  }
  if (static_cast<int>(sessions_.size()) >= options_.max_sessions) {
    if (observer() != nullptr) observer()->SessionRefused(SessionRefusal::kFull);
    *refusal = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("the worker serves its limit of ", options_.max_sessions,
                                         " sessions (--max_sessions)"));
    return false;
  }
  sessions_.insert(session);
  ++objects_;
  if (observer() != nullptr) observer()->SessionStarted();
  return true;
}

void WorkerServer::Impl::Unregister(SessionReactor* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
}

void WorkerServer::Impl::SessionGone() {
  absl::MutexLock lock(&mu_);
  --objects_;
}

std::vector<SessionReactor*> WorkerServer::Impl::Snapshot() {
  absl::MutexLock lock(&mu_);
  std::vector<SessionReactor*> sessions;
  for (SessionReactor* session : sessions_) {
    // Unregister waits for mu_, so a session in the set is not yet deleted.
    if (session->TryRef()) sessions.push_back(session);
  }
  return sessions;
}

void WorkerServer::Impl::TickerLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ticker_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), kTick)) return;
    }
    const absl::Time now = SteadyNow();
    for (SessionReactor* session : Snapshot()) {
      session->Tick(now);
      session->Unref();
    }
  }
}

void WorkerServer::Impl::StopTicker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ticker_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

void WorkerServer::Impl::LeaveAll() {
  for (SessionReactor* session : Snapshot()) {
    session->Leave();
    session->Unref();
  }
}

void WorkerServer::Impl::EndAll(const grpc::Status& status) {
  for (SessionReactor* session : Snapshot()) {
    session->End(status);
    session->Unref();
  }
}

bool WorkerServer::Impl::AwaitNoSessions(absl::Duration timeout) {
  const absl::Time deadline = SteadyNow() + timeout;
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return objects_ == 0; };
  while (!none()) {
    const absl::Duration left = deadline - SteadyNow();
    if (left <= absl::ZeroDuration()) return false;
    mu_.AwaitWithTimeout(absl::Condition(&none), std::min(left, absl::Milliseconds(100)));
  }
  return true;
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
  // A second daemon on the same port is an error, not a silent load balancer.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Connections that never finish their handshake, or hold no call, are closed.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
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
  impl->StartTicker();
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
  impl_->BeginDrain();
  grpc::HealthCheckServiceInterface* health = impl_->server->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(false);
  impl_->LeaveAll();  // each session leaves after the step it is on
  if (!impl_->AwaitNoSessions(grace)) {
    impl_->EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"));
    impl_->AwaitNoSessions(absl::Seconds(1));
  }
  impl_->server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  impl_->AwaitNoSessions(absl::InfiniteDuration());  // worker steps still running
  impl_->server->Wait();
  impl_->StopTicker();
  impl_->server.reset();
}

}  // namespace aia
