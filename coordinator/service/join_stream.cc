#include "coordinator/service/join_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/clock.h"

namespace aia {
namespace {

int64_t SteadyNanos() { return absl::ToUnixNanos(SteadyNow()); }

}  // namespace

// The run's Link to a joined worker: shares the stream, so that the call can
// outlive whichever of the two lets go first.
class JoinedLink final : public Link {
 public:
  JoinedLink(std::shared_ptr<JoinStream> stream, int slot, int link_id, EventQueue* events)
      : stream_(std::move(stream)), slot_(slot), link_id_(link_id), events_(events) {}
  ~JoinedLink() override { stream_->Cancel(); }

  void Start(std::shared_ptr<const Outgoing> first) override {
    stream_->StartSession(slot_, link_id_, events_, std::move(first));
  }
  void Send(std::shared_ptr<const Outgoing> message) override {
    stream_->Send(std::move(message));
  }
  void Close() override { stream_->Close(); }
  void Cancel() override { stream_->Cancel(); }
  bool AwaitDone(absl::Time deadline) override { return stream_->AwaitDone(deadline); }
  absl::Time last_received() const override { return stream_->last_received(); }
  void SendHeartbeat() override { stream_->SendHeartbeat(); }

 private:
  const std::shared_ptr<JoinStream> stream_;
  const int slot_;
  const int link_id_;
  EventQueue* const events_;
};

void ConfigureJoinServer(grpc::ServerBuilder& builder, int64_t max_message_bytes) {
  const int max_bytes = static_cast<int>(std::min<int64_t>(max_message_bytes, INT32_MAX));
  builder.SetMaxReceiveMessageSize(max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
}

JoinStream* JoinStream::Create(grpc::CallbackServerContext* context, JoinPool* pool) {
  auto stream = std::make_shared<JoinStream>(context, pool);
  stream->self_ = stream;
  stream->StartRead(&stream->incoming_bytes_);
  return stream.get();
}

JoinStream::JoinStream(grpc::CallbackServerContext* context, JoinPool* pool)
    : context_(context),
      pool_(pool),
      peer_(context->peer()),
      last_received_ns_(SteadyNanos()) {}

std::unique_ptr<Link> JoinStream::OpenLink(std::shared_ptr<JoinStream> stream, int slot,
                                           int link_id, EventQueue* events) {
  return std::make_unique<JoinedLink>(std::move(stream), slot, link_id, events);
}

void JoinStream::StartSession(int slot, int link_id, EventQueue* events,
                              std::shared_ptr<const Outgoing> setup) {
  grpc::ByteBuffer bytes = setup->Bytes();
  absl::MutexLock lock(&mu_);
  slot_ = slot;
  link_id_ = link_id;
  events_ = events;
  phase_ = Phase::kSession;
  if (done_ || finished_ || finish_pending_) {
    // The worker went away between the Offer and now.
    Event event;
    event.kind = Event::Kind::kClosed;
    event.status = absl::UnavailableError("the joined worker's stream ended before its Setup");
    PushLocked(std::move(event));
    return;
  }
  ++requests_;
  WriteLocked(std::move(bytes));
}

void JoinStream::Send(std::shared_ptr<const Outgoing> message) {
  grpc::ByteBuffer bytes = message->Bytes();  // outside the lock
  absl::MutexLock lock(&mu_);
  if (closing_ || broken_ || finish_pending_) return;
  if (message->message().has_query()) ++requests_;
  WriteLocked(std::move(bytes));
}

void JoinStream::SendHeartbeat() {
  static const auto* const heartbeat = new std::shared_ptr<const Outgoing>([] {
    v1::ToWorker message;
    message.mutable_heartbeat();
    return std::make_shared<const Outgoing>(std::move(message));
  }());
  grpc::ByteBuffer bytes = (*heartbeat)->Bytes();
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kSession || requests_ == 0 || closing_ || broken_ || finish_pending_ ||
      outbox_.size() > 1) {
    return;
  }
  WriteLocked(std::move(bytes));
}

void JoinStream::Close() {
  absl::MutexLock lock(&mu_);
  closing_ = true;
  // The worker half-closes after Stop (or has already); then the call ends OK.
  if (reads_done_) FinishLocked(grpc::Status::OK);
}

void JoinStream::Cancel() {
  absl::MutexLock lock(&mu_);
  if (finished_ || finish_pending_ || done_) return;
  context_->TryCancel();
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the coordinator abandoned the session"));
}

bool JoinStream::AwaitDone(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; };
  return AwaitSteady(mu_, absl::Condition(&done), deadline);
}

absl::Time JoinStream::last_received() const {
  return absl::FromUnixNanos(last_received_ns_.load(std::memory_order_relaxed));
}

void JoinStream::WriteLocked(grpc::ByteBuffer bytes) {
  if (broken_) return;
  if (const grpc::ByteBuffer* next = outbox_.Push(std::move(bytes))) StartWrite(next);
}

void JoinStream::FinishLocked(const grpc::Status& status) {
  if (finished_ || finish_pending_) return;
  finish_pending_ = true;
  finish_status_ = status;
  MaybeFinishLocked();
}

void JoinStream::MaybeFinishLocked() {
  if (!finish_pending_ || finished_ || outbox_.in_flight()) return;
  finished_ = true;
  Finish(finish_status_);
}

void JoinStream::PushLocked(Event event) {
  event.worker = slot_;
  event.link_id = link_id_;
  events_->Push(std::move(event));
}

void JoinStream::OnReadDone(bool ok) {
  absl::MutexLock lock(&mu_);
  if (!ok) {
    // The worker half-closed (it ended its session, or gave up waiting) or the
    // stream broke; OnDone reports which.
    // In a session its last message (a Stop's end, an Error, a Leave) said why.
    reads_done_ = true;
    FinishLocked(grpc::Status::OK);
    return;
  }
  last_received_ns_.store(SteadyNanos(), std::memory_order_relaxed);
  incoming_.Clear();
  if (!grpc::SerializationTraits<v1::FromWorker>::Deserialize(&incoming_bytes_, &incoming_).ok()) {
    if (phase_ == Phase::kSession) {
      Event event;
      event.message.mutable_error()->set_reason(
          "sent a message that is not an aia.v1.FromWorker (proto/worker.proto)");
      event.message.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INTERNAL));
      PushLocked(std::move(event));
    }
    FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "a message that is not an aia.v1.FromWorker"));
    return;
  }
  switch (phase_) {
    case Phase::kOffer: {
      if (!incoming_.has_offer()) {
        FinishLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "the first message of a Join stream must be an Offer"));
        return;
      }
      const v1::Offer offer = incoming_.offer();
      phase_ = Phase::kWaiting;
      mu_.Unlock();  // the pool may take the stream at once
      const grpc::Status refusal = pool_->Offered(shared_from_this(), offer);
      mu_.Lock();
      if (!refusal.ok()) {
        FinishLocked(refusal);
        return;
      }
      break;
    }
    case Phase::kWaiting:
      if (!incoming_.has_heartbeat()) {
        FinishLocked(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                  "a worker waiting in the pool may send only Heartbeats"));
        return;
      }
      break;
    case Phase::kSession: {
      if (incoming_.has_heartbeat()) break;
      Event event;
      // A reply a request, and one Error at any time: more is cut off.
      if (++replies_ > requests_ + 1) {
        event.message.mutable_error()->set_reason(
            absl::StrCat("sent ", replies_, " messages for ", requests_,
                         " requests (proto/worker.proto: one reply a request)"));
        event.message.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INTERNAL));
        PushLocked(std::move(event));
        context_->TryCancel();
        FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "too many replies"));
        return;
      }
      event.message = std::move(incoming_);
      incoming_.Clear();
      PushLocked(std::move(event));
      break;
    }
  }
  StartRead(&incoming_bytes_);
}

void JoinStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  if (!ok) {
    broken_ = true;
    outbox_.Clear();
    outbox_.Done();
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the joined worker's stream broke"));
    MaybeFinishLocked();
    return;
  }
  if (const grpc::ByteBuffer* next = outbox_.Done()) {
    StartWrite(next);
  } else {
    MaybeFinishLocked();
  }
}

void JoinStream::OnCancel() {
  absl::MutexLock lock(&mu_);
  broken_ = true;
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the joined worker's stream broke"));
}

void JoinStream::OnDone() {
  std::shared_ptr<JoinStream> self = std::move(self_);  // released on return
  bool was_waiting = false;
  {
    absl::MutexLock lock(&mu_);
    was_waiting = phase_ == Phase::kWaiting;
    if (phase_ == Phase::kSession && events_ != nullptr) {
      Event event;
      event.kind = Event::Kind::kClosed;
      event.status = broken_ ? absl::UnavailableError("the joined worker's connection was lost")
                             : absl::Status(static_cast<absl::StatusCode>(
                                                finish_status_.error_code()),
                                            finish_status_.error_message());
      PushLocked(std::move(event));
    }
    done_ = true;
  }
  if (was_waiting) pool_->Gone(this);
}

}  // namespace aia
