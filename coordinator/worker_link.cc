#include "coordinator/worker_link.h"

namespace aia {

void EventQueue::Push(Event event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(std::move(event));
}

bool EventQueue::PopUntil(absl::Time deadline, Event* event) {
  absl::MutexLock lock(&mu_);
  auto nonempty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); };
  if (!mu_.AwaitWithDeadline(absl::Condition(&nonempty), deadline)) return false;
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

WorkerLink::WorkerLink(int worker, int link_id, v1::Worker::Stub* stub, EventQueue* events)
    : worker_(worker), link_id_(link_id), stub_(stub), events_(events) {}

void WorkerLink::Start(std::shared_ptr<const v1::ToWorker> first) {
  stub_->async()->Session(&context_, this);
  {
    absl::MutexLock lock(&mu_);
    outbox_.push_back(std::move(first));
    StartNextWriteLocked();
  }
  StartRead(&incoming_);
  // Writes are started from the central loop, outside reactions: hold the call
  // open until Close() or Cancel().
  AddHold();
  StartCall();
}

void WorkerLink::Send(std::shared_ptr<const v1::ToWorker> message) {
  absl::MutexLock lock(&mu_);
  if (closing_ || broken_) return;
  outbox_.push_back(std::move(message));
  StartNextWriteLocked();
}

void WorkerLink::Close() {
  absl::MutexLock lock(&mu_);
  if (closing_) return;
  closing_ = true;
  StartNextWriteLocked();
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
  return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
}

void WorkerLink::StartNextWriteLocked() {
  if (write_in_flight_ || broken_) return;
  if (!outbox_.empty()) {
    write_in_flight_ = true;
    StartWrite(outbox_.front().get());
  } else if (closing_ && !writes_done_sent_) {
    writes_done_sent_ = true;
    StartWritesDone();
  }
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
  Event event;
  event.worker = worker_;
  event.link_id = link_id_;
  event.message = std::move(incoming_);
  incoming_.Clear();
  events_->Push(std::move(event));
  StartRead(&incoming_);
}

void WorkerLink::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  outbox_.pop_front();
  write_in_flight_ = false;
  if (!ok) {
    broken_ = true;  // the stream is gone; OnDone will tell why
    outbox_.clear();
    return;
  }
  StartNextWriteLocked();
}

void WorkerLink::OnDone(const grpc::Status& status) {
  Event event;
  event.kind = Event::Kind::kClosed;
  event.worker = worker_;
  event.link_id = link_id_;
  event.status = status;
  events_->Push(std::move(event));
  absl::MutexLock lock(&mu_);
  done_ = true;
}

}  // namespace aia
