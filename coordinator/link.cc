#include "coordinator/link.h"

#include "base/clock.h"

namespace aia {

void EventQueue::Push(Event event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(std::move(event));
}

bool EventQueue::PopUntil(absl::Time deadline, Event* event) {
  if (drained_.empty()) {
    absl::MutexLock lock(&mu_);
    auto nonempty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); };
    if (!AwaitSteady(mu_, absl::Condition(&nonempty), deadline)) return false;
    drained_.swap(events_);  // every event that arrived, in one hand-off
  }
  *event = std::move(drained_.front());
  drained_.pop_front();
  return true;
}

}  // namespace aia
