#include "coordinator/link.h"

#include <algorithm>

#include "base/clock.h"

namespace aia {

void EventQueue::Push(Event event) {
  absl::MutexLock lock(&mu_);
  events_.push_back(std::move(event));
}

bool EventQueue::PopUntil(absl::Time deadline, Event* event) {
  absl::MutexLock lock(&mu_);
  auto nonempty = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !events_.empty(); };
  // Waits in slices of at most 100 ms against the steady clock, so that a jump of
  // the wall clock (which absl's waits are measured on) cannot stretch a timeout.
  while (!nonempty()) {
    const absl::Duration left = deadline - SteadyNow();
    if (left <= absl::ZeroDuration()) return false;
    mu_.AwaitWithTimeout(absl::Condition(&nonempty), std::min(left, absl::Milliseconds(100)));
  }
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

}  // namespace aia
