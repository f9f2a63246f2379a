#include "worker/joiner.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "base/version.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "proto/coordinator.grpc.pb.h"
#include "worker/session_reactor.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

namespace {

constexpr int kMaxSessions = 64;
constexpr size_t kMaxName = 256;
// HTTP/2 keepalive of the channel (proto/coordinator.proto: the service allows a
// ping every 5 s).
constexpr int kKeepaliveMs = 10000;

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

std::string StatusText(const grpc::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                      status.error_message().empty() ? "" : ": ", status.error_message());
}

}  // namespace

// The dialer: one thread opens each slot's stream when it is due; a stream's end
// (OnDone, on a gRPC thread) frees its slot and sets when it is due again.
class Joiner::Impl {
 public:
  Impl(const Options& options, SessionHost::Options host_options);
  ~Impl();

  grpc::GenericStub* stub() { return stub_.get(); }
  SessionHost& host() { return host_; }
  const std::string& target() const { return options_.target; }
  const v1::FromWorker& offer() const { return offer_; }

  void StartDialer() {
    dialer_ = std::thread([this] { DialerLoop(); });
  }
  // A stream of `slot` is over with `status`; `had_setup` if it carried a session.
  void StreamEnded(int slot, const grpc::Status& status, bool had_setup);
  void Shutdown(absl::Duration grace);

 private:
  struct Slot {
    bool open = false;
    absl::Time due = absl::InfinitePast();  // SteadyNow()
    absl::Duration backoff;                 // before the next failed stream's retry
    absl::Duration waited;                  // the delay before the stream now open
  };

  void DialerLoop();
  absl::Duration Jittered(absl::Duration delay) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  SessionHost host_;
  FromWorker offer_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;

  absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // a slot is free: the dialer looks again
  // Failures since the last Setup, and when the last of them was logged.
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_failure_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_){std::random_device{}()};
  std::thread dialer_;
};

namespace {

// A session on the client stream of Coordinator.Join: the Offer first, no Setup
// deadline, and the worker ends the session by half-closing the stream. A hold,
// taken before the call starts and released once the stream is ended, keeps gRPC
// from finishing the call (OnDone) while the session's thread or the ticker may
// still start a write from outside a reaction.
class JoinReactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                          public SessionReactor {
 public:
  JoinReactor(Joiner::Impl* joiner, int slot)
      : SessionReactor(&joiner->host(), Transport::kJoin,
                       absl::StrCat("coordinator ", joiner->target())),
        joiner_(joiner),
        slot_(slot) {
    joiner->stub()->PrepareBidiStreamingCall(&context_, "/aia.v1.Coordinator/Join",
                                             grpc::StubOptions(), this);
    AddHold();
    Begin(joiner->offer());
    StartCall();
  }

  void OnReadDone(bool ok) override { ReadDone(ok); }
  void OnWriteDone(bool ok) override { WriteDone(ok); }
  void OnDone(const grpc::Status& status) override {
    joiner_->StreamEnded(slot_, status, setup_received());
    Done();
  }

 private:
  void StartReadOp(grpc::ByteBuffer* bytes) override { StartRead(bytes); }
  void StartWriteOp(const grpc::ByteBuffer* bytes) override { StartWrite(bytes); }
  void EndStreamOp(const grpc::Status&) override {
    StartWritesDone();
    RemoveHold();  // nothing is written after this
  }
  void CancelStreamOp() override { context_.TryCancel(); }

  Joiner::Impl* const joiner_;
  const int slot_;
  grpc::ClientContext context_;
};

}  // namespace

Joiner::Impl::Impl(const Options& options, SessionHost::Options host_options)
    : options_(options), host_(std::move(host_options)) {
  v1::Offer* offer = offer_.mutable_offer();
  offer->set_version(kVersion);
  offer->set_host(HostName());
  offer->set_name(options.name.empty() ? absl::StrCat(offer->host(), ":", getpid()) : options.name);

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A stream waiting in the pool sends no data: keep pinging all the same.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // The channel's own reconnection follows the streams' backoff, so that a
  // coordinator that is back is reached by the next stream.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.initial_backoff)));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.initial_backoff)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.max_backoff)));
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  channel_ = grpc::CreateCustomChannel(
      options.target,
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
      args);
  stub_ = std::make_unique<grpc::GenericStub>(channel_);

  absl::MutexLock lock(&mu_);
  slots_.resize(options.sessions);
  for (Slot& slot : slots_) slot.backoff = options.initial_backoff;
}

Joiner::Impl::~Impl() { Shutdown(absl::Seconds(5)); }

absl::Duration Joiner::Impl::Jittered(absl::Duration delay) {
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  return delay * factor(random_);
}

void Joiner::Impl::DialerLoop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const absl::Time now = SteadyNow();
    absl::Time next = absl::InfiniteFuture();
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
      Slot& slot = slots_[i];
      if (slot.open) continue;
      if (slot.due <= now) {
        slot.open = true;
        new JoinReactor(this, i);  // deletes itself
      } else {
        next = std::min(next, slot.due);
      }
    }
    changed_ = false;
    auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return changed_ || stopping_; };
    if (next == absl::InfiniteFuture()) {
      mu_.Await(absl::Condition(&wake));
    } else {
      mu_.AwaitWithTimeout(absl::Condition(&wake), next - now);
    }
  }
}

void Joiner::Impl::StreamEnded(int slot_index, const grpc::Status& status, bool had_setup) {
  std::string log;
  {
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[slot_index];
    slot.open = false;
    changed_ = true;
    if (stopping_) return;
    const absl::Time now = SteadyNow();
    if (had_setup) {
      slot.backoff = options_.initial_backoff;
      failing_ = false;
      if (status.ok()) {
        slot.due = now;  // the session is over: offer the worker again at once
        slot.waited = absl::ZeroDuration();
        return;
      }
    }
    const absl::Duration delay = Jittered(slot.backoff);
    // The first failure, then at most one line per backoff step (the other
    // streams' failures in the same step are not repeated).
    const bool quiet = failing_ && now - last_failure_log_ < slot.waited;
    slot.due = now + delay;
    slot.waited = delay;
    slot.backoff = std::min(slot.backoff * 2, options_.max_backoff);
    if (quiet) return;
    failing_ = true;
    last_failure_log_ = now;
    const std::string next = absl::StrCat(
        "; next attempt in ", absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(10))));
    if (had_setup) {
      log = absl::StrCat("the session's stream to the coordinator at ", options_.target,
                         " broke: ", StatusText(status), next);
    } else if (status.ok()) {
      log = absl::StrCat("the coordinator at ", options_.target,
                         " ended a Join stream before a Setup", next);
    } else {
      log = absl::StrCat("cannot join the coordinator at ", options_.target, ": ",
                         StatusText(status), next);
    }
  }
  host_.Log(log);
}

void Joiner::Impl::Shutdown(absl::Duration grace) {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (dialer_.joinable()) dialer_.join();  // no stream opens from now on
  host_.BeginDrain();
  host_.LeaveAll();  // idle streams are cancelled; sessions leave after their step
  if (!host_.AwaitNoSessions(grace)) {
    host_.EndAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the worker is shutting down"));
    if (!host_.AwaitNoSessions(absl::Seconds(1))) host_.CancelAll();
  }
  host_.AwaitNoSessions(absl::InfiniteDuration());  // worker steps still running
  host_.StopTicker();
}

absl::StatusOr<std::unique_ptr<Joiner>> Joiner::Start(const Options& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("the join target is empty");
  if (options.sessions < 1 || options.sessions > kMaxSessions) {
    return absl::InvalidArgumentError(
        absl::StrCat("join sessions must be in [1, ", kMaxSessions, "], got ", options.sessions));
  }
  if (options.name.size() > kMaxName) {
    return absl::InvalidArgumentError(
        absl::StrCat("the join name has ", options.name.size(), " bytes, more than ", kMaxName));
  }
  if (options.max_message_bytes < 1024 || options.max_message_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes must be in [1024, 2^31), got ", options.max_message_bytes));
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError("the join backoff must be positive, its maximum no less");
  }
  SessionHost::Options host;
  host.data_root = options.data_root;
  host.cache = options.cache != nullptr
                   ? options.cache
                   : std::make_shared<ProblemCache>(options.problem_cache_capacity,
                                                    options.problem_cache_bytes);
  host.log = options.log;
  host.observer = options.observer;
  auto impl = std::make_unique<Impl>(options, std::move(host));
  impl->host().StartTicker();
  impl->StartDialer();
  return std::unique_ptr<Joiner>(new Joiner(std::move(impl)));
}

Joiner::Joiner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Joiner::~Joiner() = default;  // Impl's destructor drains

void Joiner::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace aia
