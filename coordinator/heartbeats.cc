#include "coordinator/heartbeats.h"

#include <algorithm>

#include "base/clock.h"

namespace aia {

HeartbeatSender::HeartbeatSender(absl::Duration interval)
    : interval_(interval), thread_([this] { Loop(); }) {}

HeartbeatSender::~HeartbeatSender() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void HeartbeatSender::Add(Link* link) {
  absl::MutexLock lock(&mu_);
  links_.insert(link);
}

void HeartbeatSender::Remove(Link* link) {
  absl::MutexLock lock(&mu_);  // waits for a round of sends in progress
  links_.erase(link);
}

void HeartbeatSender::Loop() {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  while (true) {
    // In slices against the steady clock (absl's waits run on wall time).
    const absl::Time next = SteadyNow() + interval_;
    for (absl::Duration left = interval_; left > absl::ZeroDuration();
         left = next - SteadyNow()) {
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), std::min(left, absl::Milliseconds(100)))) {
        return;
      }
    }
    for (Link* link : links_) link->SendHeartbeat();
  }
}

}  // namespace aia
