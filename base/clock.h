// The monotonic clock every timeout in aia runs on. SteadyNow() is an absl::Time
// that only moves forward at the rate of CLOCK_MONOTONIC (it is not wall time:
// never print it as a date, never pass it to an absl wait that takes a deadline;
// wait for `deadline - SteadyNow()` instead).
#ifndef AIA_BASE_CLOCK_H_
#define AIA_BASE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aia {

absl::Time SteadyNow();

// With `mu` held: waits until `condition` holds (true) or SteadyNow() reaches
// `deadline` (false), in slices of at most 100 ms against the steady clock, so
// that a jump of the wall clock (which absl's waits are measured on) cannot
// stretch the wait.
bool AwaitSteady(absl::Mutex& mu, const absl::Condition& condition, absl::Time deadline)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

}  // namespace aia

#endif  // AIA_BASE_CLOCK_H_
