#include "base/interrupt.h"

#include "absl/time/clock.h"

namespace aia {
namespace {

thread_local const absl::Notification* current_interrupt = nullptr;

}  // namespace

ScopedInterrupt::ScopedInterrupt(const absl::Notification* interrupt)
    : previous_(current_interrupt) {
  current_interrupt = interrupt;
}

ScopedInterrupt::~ScopedInterrupt() { current_interrupt = previous_; }

bool SleepUnlessInterrupted(absl::Duration duration) {
  if (current_interrupt == nullptr) {
    absl::SleepFor(duration);
    return true;
  }
  return !current_interrupt->WaitForNotificationWithTimeout(duration);
}

}  // namespace aia
