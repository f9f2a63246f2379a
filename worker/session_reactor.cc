#include "worker/session_reactor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/interrupt.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "worker/wire_form.h"
#include "worker/session.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

namespace {

// Messages queued for the session thread before the stream stops being read
// (proto/worker.proto, rule 3): the query being answered is not in the inbox.
constexpr size_t kInboxLimit = 1;
// Replies queued behind the write in flight before the session thread waits: a
// client that does not read its answers holds the thread, not the daemon's memory.
constexpr size_t kOutboxLimit = 1;
// How often the ticker sends heartbeats and checks deadlines.
constexpr absl::Duration kTick = absl::Milliseconds(50);

}  // namespace

// ---------------------------------------------------------------------------
// SessionHost

SessionHost::SessionHost(Options options) : options_(std::move(options)) {}

SessionHost::~SessionHost() { StopTicker(); }

void SessionHost::ReportCache() {
  if (observer() != nullptr) observer()->ProblemCacheChanged(cache().size(), cache().bytes());
}

void SessionHost::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "aia_worker: %s\n", line.c_str());
  }
}

bool SessionHost::Admit(SessionReactor* session, grpc::Status* refusal) {
  absl::MutexLock lock(&mu_);
  if (draining_) {
    if (observer() != nullptr) observer()->SessionRefused(SessionRefusal::kDraining);
    *refusal = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down");
    return false;
  }
  if (options_.max_sessions > 0 && static_cast<int>(sessions_.size()) >= options_.max_sessions) {
    if (observer() != nullptr) observer()->SessionRefused(SessionRefusal::kFull);
    *refusal = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                            absl::StrCat("the worker serves its limit of ", options_.max_sessions,
                                         " sessions (--max_sessions)"));
    return false;
  }
  sessions_.insert(session);
  ++objects_;
  return true;
}

void SessionHost::Unregister(SessionReactor* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
}

void SessionHost::SessionGone() {
  absl::MutexLock lock(&mu_);
  --objects_;
}

std::vector<SessionReactor*> SessionHost::Snapshot() {
  absl::MutexLock lock(&mu_);
  std::vector<SessionReactor*> sessions;
  for (SessionReactor* session : sessions_) {
    // Unregister waits for mu_, so a session in the set is not yet deleted.
    if (session->TryRef()) sessions.push_back(session);
  }
  return sessions;
}

void SessionHost::StartTicker() {
  ticker_ = std::thread([this] { TickerLoop(); });
}

void SessionHost::TickerLoop() {
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

void SessionHost::StopTicker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ticker_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

void SessionHost::BeginDrain() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

void SessionHost::LeaveAll() {
  for (SessionReactor* session : Snapshot()) {
    session->Leave();
    session->Unref();
  }
}

void SessionHost::EndAll(const grpc::Status& status) {
  for (SessionReactor* session : Snapshot()) {
    session->End(status);
    session->Unref();
  }
}

void SessionHost::CancelAll() {
  for (SessionReactor* session : Snapshot()) {
    session->Cancel();
    session->Unref();
  }
}

bool SessionHost::AwaitNoSessions(absl::Duration timeout) {
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

// ---------------------------------------------------------------------------
// SessionReactor

SessionReactor::SessionReactor(SessionHost* host, Transport transport, std::string peer)
    : host_(host),
      transport_(transport),
      peer_(std::move(peer)),
      created_(SteadyNow()),
      setup_deadline_(transport == Transport::kServer ? host->options().setup_deadline
                                                      : absl::InfiniteDuration()) {}

void SessionReactor::Begin(std::optional<FromWorker> first) {
  grpc::Status refusal;
  if (!host_->Admit(this, &refusal)) {
    if (transport_ == Transport::kServer) {
      host_->Log(absl::StrCat("refused a session from ", peer_, ": ", refusal.error_message()));
    }
    absl::MutexLock lock(&mu_);
    finished_ = true;
    if (transport_ == Transport::kJoin) CancelStreamOp();
    EndStreamOp(refusal);
    return;
  }
  admitted_ = true;
  absl::MutexLock lock(&mu_);
  if (transport_ == Transport::kServer) ReportStartLocked();
  last_received_ = created_;
  if (first.has_value()) SendLocked(*first);
  StartReadOp(&incoming_bytes_);
}

void SessionReactor::ReportStartLocked() {
  if (reported_) return;
  reported_ = true;
  if (WorkerObserver* observer = host_->observer()) observer->SessionStarted();
}

bool SessionReactor::setup_received() {
  absl::MutexLock lock(&mu_);
  return thread_started_;
}

void SessionReactor::ReadDone(bool ok) {
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
  const int64_t received = static_cast<int64_t>(incoming_bytes_.Length());
  incoming_.Clear();
  const bool parsed =
      grpc::SerializationTraits<ToWorker>::Deserialize(&incoming_bytes_, &incoming_).ok();
  if (WorkerObserver* observer = host_->observer()) observer->Received(received);
  last_received_ = SteadyNow();
  if (input_closed_ || finished_) return;  // ending, cancelled or broken
  if (!parsed) {
    if (!thread_started_) ReportStartLocked();
    NoteEndLocked(SessionEnd::kError);
    EndLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "received a message that is not an aia.v1.ToWorker"),
              /*send_error=*/true);
    return;
  }
  if (incoming_.has_heartbeat()) {
    StartReadOp(&incoming_bytes_);
    return;
  }
  if (!thread_started_) {
    if (!incoming_.has_setup()) {
      ReportStartLocked();  // a session that failed: the observer hears of it
      NoteEndLocked(SessionEnd::kError);
      EndLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "the first message of a session must be a Setup"),
                /*send_error=*/true);
      return;
    }
    ReportStartLocked();
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
    StartReadOp(&incoming_bytes_);
  } else {
    read_paused_ = true;  // resumed by the session thread as it takes messages
  }
}

void SessionReactor::WriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  if (!ok) {
    // The stream is broken: stop working on it at once.
    outbox_.Clear();
    outbox_.Done();
    NoteEndLocked(SessionEnd::kCancelled);
    StopWorkLocked();
  } else if (const grpc::ByteBuffer* next = outbox_.Done()) {
    write_started_ = SteadyNow();
    StartWriteOp(next);
  }
  MaybeFinishLocked();
}

void SessionReactor::Cancelled() {
  absl::MutexLock lock(&mu_);
  NoteEndLocked(SessionEnd::kCancelled);
  StopWorkLocked();
  MaybeFinishLocked();
}

void SessionReactor::Done() {
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  Unref();
}

bool SessionReactor::TryRef() {
  absl::MutexLock lock(&mu_);
  if (refs_ == 0) return false;
  ++refs_;
  return true;
}

void SessionReactor::Unref() {
  bool last;
  bool reported;
  std::optional<SessionEnd> end_cause;
  {
    absl::MutexLock lock(&mu_);
    last = --refs_ == 0;
    end_cause = end_cause_;
    reported = reported_;
  }
  if (!last) return;
  SessionHost* host = host_;
  const bool admitted = admitted_;
  if (reported && host->observer() != nullptr) {
    host->observer()->SessionEnded(end_cause.value_or(SessionEnd::kClosed));
  }
  if (admitted) host->Unregister(this);
  delete this;
  if (admitted) host->SessionGone();
}

void SessionReactor::Tick(absl::Time now) {
  std::string log;
  {
    absl::MutexLock lock(&mu_);
    log = TickLocked(now);
  }
  if (!log.empty()) host_->Log(log);
}

std::string SessionReactor::TickLocked(absl::Time now) {
  if (finished_ || done_ || ending_) return "";
  if (!thread_started_) {
    if (now - created_ <= setup_deadline_) return "";
    ReportStartLocked();
    NoteEndLocked(SessionEnd::kSetupDeadline);
    EndLocked(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                           absl::StrCat("no Setup within ", absl::FormatDuration(setup_deadline_),
                                        " (--setup_deadline_s)")),
              /*send_error=*/true);
    return absl::StrCat("closed a stream from ", peer_, ": no Setup within ",
                        absl::FormatDuration(setup_deadline_));
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
  if (stalled) CancelLocked();
  return absl::StrCat("ended the session of ", peer_, ": ", why);
}

void SessionReactor::Leave() {
  absl::MutexLock lock(&mu_);
  if (finished_ || done_ || ending_) return;
  leaving_ = true;
  if (!thread_started_) {
    if (transport_ == Transport::kJoin) {
      // A stream waiting in the coordinator's pool carries no session: drop it.
      EndLocked(grpc::Status::OK, /*send_error=*/false);
      CancelLocked();
    } else {
      EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"),
                /*send_error=*/true);
    }
  } else if (!step_in_progress_ && inbox_.empty()) {
    LeaveLocked();  // otherwise after the reply to what it is on (or has received)
  }
}

void SessionReactor::End(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finished_ || done_ || ending_) return;
  NoteEndLocked(SessionEnd::kShutdown);
  EndLocked(status, /*send_error=*/true);
}

void SessionReactor::Cancel() {
  absl::MutexLock lock(&mu_);
  if (done_) return;
  NoteEndLocked(SessionEnd::kShutdown);
  CancelLocked();
}

void SessionReactor::Run() {
  {
    ScopedInterrupt scope(&interrupt_);  // simulated delays end when the session does
    WorkerSession session(host_->options().data_root, &host_->cache());
    while (!session.done()) {
      ToWorker message;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &SessionReactor::CanTakeLocked));
        if (inbox_.empty()) break;  // closed or stopped
        message = std::move(inbox_.front());
        inbox_.pop_front();
        // In the same critical section: a drain (Leave) never sees the message
        // neither queued nor in progress, so it waits for its reply.
        step_in_progress_ = true;
        if (message.has_stop()) NoteEndLocked(SessionEnd::kStopped);
        if (read_paused_ && !input_closed_) {
          read_paused_ = false;
          last_received_ = SteadyNow();  // silence is counted while reading only
          StartReadOp(&incoming_bytes_);
        }
      }
      std::optional<WorkerReply> reply = session.Handle(message);
      if (message.has_setup()) host_->ReportCache();  // the problem was taken out
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
        if (reply->message.has_error()) {
          // The session's last word: nothing (not a heartbeat) follows it.
          ended_here = true;
          NoteEndLocked(SessionEnd::kError);
          end_status_ = grpc::Status(static_cast<grpc::StatusCode>(reply->message.error().code()),
                                     reply->message.error().reason());
          SendLocked(reply->message);
          ending_ = true;
          input_closed_ = true;
          inbox_.clear();
        } else {
          SendLocked(reply->message, reply->answer_payload);
          if (leaving_) LeaveLocked();  // the drain waited for this answer
        }
      }
      if (ended_here) host_->Log(absl::StrCat("session of ", peer_, " ended: ", session.error()));
    }
  }  // the session returns its problem to the cache here
  host_->ReportCache();
  {
    absl::MutexLock lock(&mu_);
    thread_done_ = true;
    MaybeFinishLocked();
  }
  Unref();
}

void SessionReactor::SendLocked(const FromWorker& message, const Payload& answer_payload) {
  if (done_ || finished_ || broken_) return;
  if (WorkerObserver* observer = host_->observer()) {
    observer->Sent(static_cast<int64_t>(message.ByteSizeLong() + answer_payload.size()));
    if (message.has_answer()) observer->Answered(message.answer().compute_s());
  }
  last_sent_ = SteadyNow();
  if (const grpc::ByteBuffer* next = outbox_.Push(WireForm(message, answer_payload))) {
    write_started_ = last_sent_;
    StartWriteOp(next);
  }
}

void SessionReactor::NoteEndLocked(SessionEnd cause) {
  if (!end_cause_.has_value()) end_cause_ = cause;
}

// No more work: queued messages are dropped and a simulated delay in progress
// ends; the step being computed finishes but its answer is not sent.
void SessionReactor::StopWorkLocked() {
  input_closed_ = true;
  broken_ = true;
  inbox_.clear();
  if (!interrupt_.HasBeenNotified()) interrupt_.Notify();
}

void SessionReactor::LeaveLocked() {
  NoteEndLocked(SessionEnd::kShutdown);
  FromWorker leave;
  leave.mutable_leave()->set_reason("the worker is shutting down");
  SendLocked(std::move(leave));
  EndLocked(grpc::Status::OK, /*send_error=*/false);
}

void SessionReactor::EndLocked(const grpc::Status& status, bool send_error) {
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

// The stream is cancelled: the work stops at once (a server's OnCancel would say
// the same; a client's stream has no such reaction).
void SessionReactor::CancelLocked() {
  StopWorkLocked();
  CancelStreamOp();
}

// The session thread may take the next message (or learn there is none).
bool SessionReactor::CanTakeLocked() const {
  return input_closed_ || (!inbox_.empty() && outbox_.size() <= kOutboxLimit);
}

// Ends the stream once there is no thread left to answer and every message is
// written.
void SessionReactor::MaybeFinishLocked() {
  if (finished_ || done_ || outbox_.in_flight()) return;
  const bool no_thread = thread_started_ ? thread_done_ : (ending_ || input_closed_);
  if (!no_thread) return;
  finished_ = true;
  EndStreamOp(end_status_);
}

}  // namespace aia
