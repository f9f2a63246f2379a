#include "coordinator/worker_link.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/clock.h"

namespace aia {

namespace {

int64_t SteadyNanos() { return absl::ToUnixNanos(SteadyNow()); }

}  // namespace

WorkerLink::WorkerLink(int worker, int link_id, grpc::GenericStub* stub, EventQueue* events)
    : worker_(worker),
      link_id_(link_id),
      stub_(stub),
      events_(events),
      last_received_ns_(SteadyNanos()) {}

absl::Time WorkerLink::last_received() const {
  return absl::FromUnixNanos(last_received_ns_.load(std::memory_order_relaxed));
}

void WorkerLink::SendHeartbeat() {
  static const auto* const heartbeat = new std::shared_ptr<const Outgoing>([] {
    v1::ToWorker message;
    message.mutable_heartbeat();
    return std::make_shared<const Outgoing>(std::move(message));
  }());
  grpc::ByteBuffer bytes = (*heartbeat)->Bytes();
  absl::MutexLock lock(&mu_);
  // Not before the Setup (rule 1); behind a large message a heartbeat would only
  // add to the queue.
  if (!started_ || closing_ || broken_ || outbox_.size() > 1) return;
  WriteLocked(std::move(bytes));
}

void WorkerLink::Start(std::shared_ptr<const Outgoing> first) {
  stub_->PrepareBidiStreamingCall(&context_, "/aia.v1.Worker/Session", grpc::StubOptions(), this);
  grpc::ByteBuffer bytes = first->Bytes();
  {
    absl::MutexLock lock(&mu_);
    ++requests_;  // the Setup
    started_ = true;
    WriteLocked(std::move(bytes));
  }
  StartRead(&incoming_);
  // Writes are started from the central loop, outside reactions: hold the call
  // open until Close() or Cancel().
  AddHold();
  StartCall();
}

void WorkerLink::Send(std::shared_ptr<const Outgoing> message) {
  grpc::ByteBuffer bytes = message->Bytes();  // outside the lock
  absl::MutexLock lock(&mu_);
  if (closing_ || broken_) return;
  if (message->message().has_query()) ++requests_;
  WriteLocked(std::move(bytes));
}

void WorkerLink::Close() {
  absl::MutexLock lock(&mu_);
  if (closing_) return;
  closing_ = true;
  if (!outbox_.in_flight()) MaybeWritesDoneLocked();
  ReleaseHoldLocked();
}

void WorkerLink::ReleaseHoldLocked() {
  if (hold_released_) return;
  hold_released_ = true;
  RemoveHold();
}

void WorkerLink::Cancel() {
  context_.TryCancel();
  Close();
}

bool WorkerLink::AwaitDone(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; };
  return AwaitSteady(mu_, absl::Condition(&done), deadline);
}

void WorkerLink::WriteLocked(grpc::ByteBuffer bytes) {
  if (broken_) return;
  if (const grpc::ByteBuffer* next = outbox_.Push(std::move(bytes))) StartWrite(next);
}

void WorkerLink::MaybeWritesDoneLocked() {
  if (broken_ || !closing_ || writes_done_sent_) return;
  writes_done_sent_ = true;
  StartWritesDone();
}

void WorkerLink::OnReadDone(bool ok) {
  if (!ok) {
    // The stream ended (the worker finished it, or it broke): write nothing more
    // and let OnDone come, to report how.
    absl::MutexLock lock(&mu_);
    closing_ = true;
    ReleaseHoldLocked();
    return;
  }
  last_received_ns_.store(SteadyNanos(), std::memory_order_relaxed);
  Event event;
  event.worker = worker_;
  event.link_id = link_id_;
  // Parsed here, on gRPC's thread, as a typed stream would.
  const bool parsed =
      grpc::SerializationTraits<v1::FromWorker>::Deserialize(&incoming_, &event.message).ok();
  incoming_.Clear();
  if (parsed && event.message.has_heartbeat()) {
    StartRead(&incoming_);
    return;
  }
  if (!parsed) {
    event.message.Clear();
    event.message.mutable_error()->set_reason(
        "sent a message that is not an aia.v1.FromWorker (proto/worker.proto)");
    event.message.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INTERNAL));
    events_->Push(std::move(event));
    context_.TryCancel();
    return;  // no more reads; OnDone follows the cancellation
  }
  {
    // A reply a request, and one Error at any time (rules 2 to 6): a worker that
    // sends more is cut off, so that it cannot grow the coordinator's queue.
    absl::MutexLock lock(&mu_);
    if (++replies_ > requests_ + 1) {
      event.message.mutable_error()->set_reason(absl::StrCat(
          "sent ", replies_, " messages for ", requests_,
          " requests (proto/worker.proto: one reply a request)"));
      event.message.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INTERNAL));
      events_->Push(std::move(event));
      context_.TryCancel();
      return;  // no more reads; OnDone follows the cancellation
    }
  }
  events_->Push(std::move(event));
  StartRead(&incoming_);
}

void WorkerLink::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  if (!ok) {
    broken_ = true;  // the stream is gone; OnDone will tell why
    outbox_.Clear();
    outbox_.Done();
    return;
  }
  if (const grpc::ByteBuffer* next = outbox_.Done()) {
    StartWrite(next);
  } else {
    MaybeWritesDoneLocked();
  }
}

void WorkerLink::OnDone(const grpc::Status& status) {
  Event event;
  event.kind = Event::Kind::kClosed;
  event.worker = worker_;
  event.link_id = link_id_;
  event.status = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                              status.error_message());
  events_->Push(std::move(event));
  absl::MutexLock lock(&mu_);
  done_ = true;
}

}  // namespace aia
