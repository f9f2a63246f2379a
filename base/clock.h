// The monotonic clock every timeout in aia runs on. SteadyNow() is an absl::Time
// that only moves forward at the rate of CLOCK_MONOTONIC (it is not wall time:
// never print it as a date, never pass it to an absl wait that takes a deadline;
// wait for `deadline - SteadyNow()` instead).
#ifndef AIA_BASE_CLOCK_H_
#define AIA_BASE_CLOCK_H_

#include "absl/time/time.h"

namespace aia {

absl::Time SteadyNow();

}  // namespace aia

#endif  // AIA_BASE_CLOCK_H_
