#include "base/clock.h"

#include <algorithm>
#include <chrono>

namespace aia {

absl::Time SteadyNow() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

bool AwaitSteady(absl::Mutex& mu, const absl::Condition& condition, absl::Time deadline) {
  while (!condition.Eval()) {
    const absl::Duration left = deadline - SteadyNow();
    if (left <= absl::ZeroDuration()) return false;
    mu.AwaitWithTimeout(condition, std::min(left, absl::Milliseconds(100)));
  }
  return true;
}

}  // namespace aia
