#include "coordinator/heartbeats.h"


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
    if (AwaitSteady(mu_, absl::Condition(&stop), SteadyNow() + interval_)) return;
    for (Link* link : links_) link->SendHeartbeat();
  }
}

}  // namespace aia
