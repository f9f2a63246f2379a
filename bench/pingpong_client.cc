#include "bench/pingpong_client.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/pingpong.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace aia {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

// How long cancelled streams get to end before the run gives up on them.
constexpr absl::Duration kCancelGrace = absl::Seconds(30);

class Stream;

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// What the streams of one run share: the round trips (rounds) left to hand
// out, the clock, and how the streams are doing.
class Shared {
 public:
  Shared(const PingPongOptions& options, int streams)
      : mode_(options.mode),
        streams_(streams),
        count_(options.count),
        min_duration_(absl::ToChronoNanoseconds(options.min_duration)) {}

  // Claims the next round trip (asynchronous) or round (synchronous); false
  // when the count is handed out and the minimum duration has passed.
  // A refusal is when a stream stopped, so the run ends no earlier than it.
  bool TakeTicket() {
    if (taken_.fetch_add(1, std::memory_order_relaxed) < count_) return true;
    const Clock::time_point now = Clock::now();
    if (min_duration_.count() > 0 && now < start() + min_duration_) return true;
    Clock::rep seen = stopped_ns_.load(std::memory_order_relaxed);
    while (seen < now.time_since_epoch().count() &&
           !stopped_ns_.compare_exchange_weak(seen, now.time_since_epoch().count())) {
    }
    return false;
  }

  // Synchronous: starts the next round on every stream, or half-closes every
  // stream when no round is left. Runs on the caller's thread for the first
  // round, then in the reaction that completes a round; every stream is idle
  // then (its previous exchange has settled).
  void BeginRound();

  // Synchronous: one stream's exchange of the current round has settled; the
  // last one begins the next round.
  void RoundEchoed() {
    if (round_left_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    rounds_.fetch_add(1, std::memory_order_relaxed);
    BeginRound();
  }

  void set_streams(std::vector<Stream*> streams) { stream_list_ = std::move(streams); }

  void Ready() {
    absl::MutexLock lock(&mu_);
    ++ready_;
  }

  void Fail(const absl::Status& status) {
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = status;
  }

  void Done() {
    absl::MutexLock lock(&mu_);
    ++done_;
  }

  // Waits until every stream is ready (or one failed); false at the deadline.
  bool AwaitReady(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return ready_ == streams_ || !error_.ok() || done_ > 0;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  }

  // Waits until every stream has ended, a stream failed, or (synchronous) the
  // last round is over; false at the deadline.
  bool AwaitEnd(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto end = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_ == streams_ || !error_.ok() || rounds_over_;
    };
    return mu_.AwaitWithDeadline(absl::Condition(&end), deadline);
  }

  bool AwaitDone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ == streams_; };
    return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  }

  bool AllReady() {
    absl::MutexLock lock(&mu_);
    return ready_ == streams_ && error_.ok();
  }

  bool rounds_over() {
    absl::MutexLock lock(&mu_);
    return rounds_over_;
  }

  absl::Status error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  PingPongMode mode() const { return mode_; }
  int64_t rounds() const { return rounds_.load(); }

  void StartClock() { start_ns_.store(Clock::now().time_since_epoch().count()); }
  Clock::time_point start() const {
    return Clock::time_point(Clock::duration(start_ns_.load(std::memory_order_relaxed)));
  }
  // The latest refused ticket; read once the streams are done.
  Clock::time_point stopped() const {
    return Clock::time_point(Clock::duration(stopped_ns_.load()));
  }

 private:
  const PingPongMode mode_;
  const int streams_;
  const int64_t count_;
  const std::chrono::nanoseconds min_duration_;
  std::atomic<int64_t> taken_{0};
  // Set once by StartClock, before the first payload.
  std::atomic<Clock::rep> start_ns_{0};
  std::atomic<Clock::rep> stopped_ns_{0};
  // Synchronous: streams whose exchange of this round has not settled.
  std::atomic<int> round_left_{0};
  std::atomic<int64_t> rounds_{0};
  // Synchronous: every stream, set before the first round.
  std::vector<Stream*> stream_list_;

  absl::Mutex mu_;
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  bool rounds_over_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// One stream. Each exchange is a write and a read started together; whichever
// of their reactions comes last settles the exchange (gRPC does not order
// OnWriteDone before the OnReadDone of the echo). The hold keeps the call open
// while operations are started outside its own reactions: Go() on the caller's
// thread and, synchronously, every exchange begun by another stream's reaction;
// asynchronous runs release it in Go(), synchronous ones once the rounds are over.
class Stream final : public grpc::ClientBidiReactor<Frame, Frame> {
 public:
  Stream(int index, PingPong::Stub* stub, const Frame* request, Shared* shared)
      : index_(index), stub_(stub), request_(request), shared_(shared) {}

  // Opens the stream and exchanges an empty frame.
  void Start() {
    stub_->async()->Stream(&context_, this);
    pending_.store(2);
    StartWrite(&hello_);
    StartRead(&response_);
    AddHold();
    StartCall();
  }

  // Starts the timed exchanges (after every stream is ready): asynchronous, this
  // stream's first; synchronous, none (Shared::BeginRound starts them).
  void Go() {
    running_ = true;
    if (shared_->mode() == PingPongMode::kSynchronous) return;
    Next();
    ReleaseHold();
  }

  // One exchange of the payload.
  void Exchange() {
    pending_.store(2, std::memory_order_relaxed);
    StartRead(&response_);
    StartWrite(request_);
  }

  // No more exchanges: half-close, so the server finishes the call.
  void Close() { StartWritesDone(); }

  // Go() and Abort() run on the caller's thread only.
  void ReleaseHold() {
    if (hold_released_) return;
    hold_released_ = true;
    RemoveHold();
  }

  // Ends the stream early (another stream failed, or a deadline passed).
  void Abort() {
    context_.TryCancel();
    ReleaseHold();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the stream broke; OnDone says how
    Settle();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the server finished early or the stream broke
    if (running_) {
      if (response_.payload().size() != request_->payload().size()) {
        shared_->Fail(absl::DataLossError(
            absl::StrCat("stream ", index_, ": echo of ", response_.payload().size(),
                         " bytes for a payload of ", request_->payload().size())));
        context_.TryCancel();
        return;
      }
      ++round_trips_;
      last_echo_ = Clock::now();
    }
    Settle();
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok()) {
      shared_->Fail(
          absl::UnavailableError(absl::StrCat("stream ", index_, " ended: ", status.error_message(),
                                              " (code ", status.error_code(), ")")));
    }
    shared_->Done();
  }

  // Read after the stream is done.
  int64_t round_trips() const { return round_trips_; }
  Clock::time_point last_echo() const { return last_echo_; }

 private:
  // One operation of the exchange finished; the last one moves on.
  void Settle() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (!running_) {
      shared_->Ready();
      return;
    }
    if (shared_->mode() == PingPongMode::kSynchronous) {
      shared_->RoundEchoed();
      return;
    }
    Next();
  }

  // Asynchronous: the next exchange if a round trip is left.
  void Next() {
    if (shared_->TakeTicket()) {
      Exchange();
    } else {
      Close();
    }
  }

  const int index_;
  PingPong::Stub* const stub_;
  const Frame* const request_;
  Shared* const shared_;
  grpc::ClientContext context_;
  const Frame hello_;
  Frame response_;
  // Operations of the current exchange still in flight.
  std::atomic<int> pending_{0};
  // Set by Go() before the first timed exchange; read by reactions after it.
  std::atomic<bool> running_{false};
  // Touched by reactions only (and read once the stream is done).
  int64_t round_trips_ = 0;
  Clock::time_point last_echo_;
  bool hold_released_ = false;
};

void Shared::BeginRound() {
  if (TakeTicket()) {
    round_left_.store(streams_, std::memory_order_release);
    for (Stream* stream : stream_list_) stream->Exchange();
    return;
  }
  for (Stream* stream : stream_list_) stream->Close();
  absl::MutexLock lock(&mu_);
  rounds_over_ = true;
}

// Everything a run's streams use, kept together so that streams which do not end
// after cancellation can be left alive rather than destroyed under gRPC.
struct Session {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<PingPong::Stub>> stubs;
  Frame request;
  std::unique_ptr<Shared> shared;
  std::vector<std::unique_ptr<Stream>> streams;
};

// Cancels every stream and waits (bounded) for them to end. Returns `cause`, or
// Internal when they do not end in time, in which case the session is left
// alive on purpose (gRPC may still call into its streams).
absl::Status AbortAll(std::unique_ptr<Session> session, absl::Status cause) {
  for (auto& stream : session->streams) stream->Abort();
  if (!session->shared->AwaitDone(absl::Now() + kCancelGrace)) {
    session.release();  // leaked: see above
    return absl::InternalError(absl::StrCat("ping-pong: streams did not end ",
                                            absl::FormatDuration(kCancelGrace),
                                            " after cancellation (", cause.message(), ")"));
  }
  return cause;
}

}  // namespace

absl::StatusOr<PingPongResult> RunPingPong(const PingPongOptions& options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError("ping-pong: no server addresses");
  }
  if (options.payload_bytes < 0 || options.payload_bytes + 64 > options.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ping-pong: payload of ", options.payload_bytes,
                     " bytes does not fit max_message_bytes=", options.max_message_bytes));
  }
  if (options.count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ping-pong: count must be >= 1, got ", options.count));
  }
  if (options.min_duration < absl::ZeroDuration() || options.min_duration > options.run_timeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("ping-pong: min_duration must be in [0, run_timeout], got ",
                     absl::FormatDuration(options.min_duration)));
  }
  const int count = static_cast<int>(options.addresses.size());

  auto session = std::make_unique<Session>();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  const auto connect_deadline = absl::ToChronoTime(absl::Now() + options.connect_timeout);
  for (const std::string& address : options.addresses) {
    session->channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    if (!session->channels.back()->WaitForConnected(connect_deadline)) {
      return absl::UnavailableError(absl::StrCat("ping-pong: cannot connect to ", address));
    }
    session->stubs.push_back(PingPong::NewStub(session->channels.back()));
  }

  session->request.mutable_payload()->assign(static_cast<size_t>(options.payload_bytes), '\x5a');
  session->shared = std::make_unique<Shared>(options, count);
  Shared& shared = *session->shared;
  std::vector<Stream*> stream_list;
  for (int i = 0; i < count; ++i) {
    session->streams.push_back(
        std::make_unique<Stream>(i, session->stubs[i].get(), &session->request, &shared));
    stream_list.push_back(session->streams.back().get());
  }
  shared.set_streams(stream_list);
  for (auto& stream : session->streams) stream->Start();

  if (!shared.AwaitReady(absl::Now() + options.connect_timeout) || !shared.AllReady()) {
    absl::Status error = shared.error();
    return AbortAll(std::move(session), error.ok() ? absl::DeadlineExceededError(
                                                         "ping-pong: streams did not open in time")
                                                   : error);
  }

  const double cpu_start = ProcessCpuSeconds();
  shared.StartClock();
  const absl::Time deadline = absl::Now() + options.run_timeout;
  for (auto& stream : session->streams) stream->Go();
  if (options.mode == PingPongMode::kSynchronous) shared.BeginRound();
  bool in_time = shared.AwaitEnd(deadline);
  if (in_time && shared.error().ok() && shared.rounds_over()) {
    for (auto& stream : session->streams) stream->ReleaseHold();
    in_time = shared.AwaitDone(deadline);
  }
  if (!in_time) {
    return AbortAll(std::move(session),
                    absl::DeadlineExceededError(absl::StrCat(
                        "ping-pong: not done after ", absl::FormatDuration(options.run_timeout))));
  }
  if (absl::Status error = shared.error(); !error.ok()) {
    return AbortAll(std::move(session), error);
  }
  PingPongResult result;
  result.cpu_s = ProcessCpuSeconds() - cpu_start;
  // The run ends at its last echo or its last refused ticket, whichever is
  // later: a minimum duration is then always met.
  Clock::time_point end = std::max(shared.start(), shared.stopped());
  for (const auto& stream : session->streams) {
    result.per_stream.push_back(stream->round_trips());
    result.round_trips += stream->round_trips();
    end = std::max(end, stream->last_echo());
  }
  result.rounds = options.mode == PingPongMode::kSynchronous ? shared.rounds() : 0;
  result.elapsed_s = std::chrono::duration<double>(end - shared.start()).count();
  // Rounds (synchronous) or round trips (asynchronous), as `count` counts them.
  const bool synchronous = options.mode == PingPongMode::kSynchronous;
  const int64_t done = synchronous ? result.rounds : result.round_trips;
  const bool counted =
      options.min_duration == absl::ZeroDuration() ? done == options.count : done >= options.count;
  if (!counted || (synchronous && result.round_trips != result.rounds * count)) {
    return absl::InternalError(absl::StrCat("ping-pong: ", result.round_trips, " round trips (",
                                            result.rounds, " rounds) for a count of ",
                                            options.count));
  }
  return result;
}

}  // namespace bench
}  // namespace aia
