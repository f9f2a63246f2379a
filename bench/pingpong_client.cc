#include "bench/pingpong_client.h"

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

// What the streams of one run share: the round trips left to hand out, the
// clock, and how the streams are doing.
class Shared {
 public:
  Shared(int streams, int64_t round_trips)
      : streams_(streams), total_(round_trips), tickets_(round_trips) {}

  // Claims the next round trip; false when all are handed out.
  bool TakeTicket() { return tickets_.fetch_sub(1, std::memory_order_relaxed) > 0; }

  void Echoed() {
    if (echoed_.fetch_add(1, std::memory_order_relaxed) + 1 == total_) {
      absl::MutexLock lock(&mu_);
      end_ = Clock::now();
    }
  }

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

  bool AwaitDone(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ == streams_; };
    return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  }

  bool AllReady() {
    absl::MutexLock lock(&mu_);
    return ready_ == streams_ && error_.ok();
  }

  absl::Status error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  int64_t echoed() const { return echoed_.load(); }

  void StartClock() {
    absl::MutexLock lock(&mu_);
    start_ = Clock::now();
  }

  double ElapsedSeconds() {
    absl::MutexLock lock(&mu_);
    return std::chrono::duration<double>(end_ - start_).count();
  }

 private:
  const int streams_;
  const int64_t total_;
  std::atomic<int64_t> tickets_;
  std::atomic<int64_t> echoed_{0};

  absl::Mutex mu_;
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  Clock::time_point start_ ABSL_GUARDED_BY(mu_);
  Clock::time_point end_ ABSL_GUARDED_BY(mu_);
};

// One stream. Each exchange is a write and a read started together; whichever
// of their reactions comes last starts the next exchange (gRPC does not order
// OnWriteDone before the OnReadDone of the echo). The hold keeps the call open
// between the hello exchange and Go(), which runs outside any reaction.
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

  // Starts the timed exchanges (after every stream is ready).
  void Go() {
    running_ = true;
    Next();
    ReleaseHold();
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
      shared_->Echoed();
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

  int64_t round_trips() const { return round_trips_; }

 private:
  // Go() and Abort() run on the caller's thread only.
  void ReleaseHold() {
    if (hold_released_) return;
    hold_released_ = true;
    RemoveHold();
  }

  // One operation of the exchange finished; the last one moves on.
  void Settle() {
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (!running_) {
      shared_->Ready();
      return;
    }
    Next();
  }

  void Next() {
    if (!shared_->TakeTicket()) {
      StartWritesDone();
      return;
    }
    pending_.store(2, std::memory_order_relaxed);
    StartRead(&response_);
    StartWrite(request_);
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
  int64_t round_trips_ = 0;  // touched by reactions only
  bool hold_released_ = false;
};

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
  if (options.round_trips < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ping-pong: round_trips must be >= 1, got ", options.round_trips));
  }
  const int count = static_cast<int>(options.addresses.size());

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<PingPong::Stub>> stubs;
  const auto connect_deadline = absl::ToChronoTime(absl::Now() + options.connect_timeout);
  for (const std::string& address : options.addresses) {
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(connect_deadline)) {
      return absl::UnavailableError(absl::StrCat("ping-pong: cannot connect to ", address));
    }
    stubs.push_back(PingPong::NewStub(channels.back()));
  }

  Frame request;
  request.mutable_payload()->assign(static_cast<size_t>(options.payload_bytes), '\x5a');
  Shared shared(count, options.round_trips);
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < count; ++i) {
    streams.push_back(std::make_unique<Stream>(i, stubs[i].get(), &request, &shared));
  }
  for (auto& stream : streams) stream->Start();

  const absl::Time ready_deadline = absl::Now() + options.connect_timeout;
  if (!shared.AwaitReady(ready_deadline) || !shared.AllReady()) {
    for (auto& stream : streams) stream->Abort();
    shared.AwaitDone(absl::InfiniteFuture());  // cancellation ends them
    absl::Status error = shared.error();
    if (!error.ok()) return error;
    return absl::DeadlineExceededError("ping-pong: streams did not open in time");
  }

  shared.StartClock();
  for (auto& stream : streams) stream->Go();
  if (!shared.AwaitDone(absl::Now() + options.run_timeout)) {
    for (auto& stream : streams) stream->Abort();
    shared.AwaitDone(absl::InfiniteFuture());
    return absl::DeadlineExceededError(absl::StrCat("ping-pong: ", shared.echoed(), " of ",
                                                    options.round_trips, " round trips after ",
                                                    absl::FormatDuration(options.run_timeout)));
  }
  if (absl::Status error = shared.error(); !error.ok()) return error;
  if (shared.echoed() != options.round_trips) {
    return absl::InternalError(absl::StrCat("ping-pong: ", shared.echoed(),
                                            " round trips instead of ", options.round_trips));
  }
  PingPongResult result;
  result.round_trips = shared.echoed();
  result.elapsed_s = shared.ElapsedSeconds();
  for (const auto& stream : streams) {
    result.per_stream.push_back(stream->round_trips());
  }
  return result;
}

}  // namespace bench
}  // namespace aia
