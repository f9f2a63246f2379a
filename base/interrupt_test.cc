#include "base/interrupt.h"

#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

TEST(SleepUnlessInterrupted, SleepsWithoutAnInterrupt) {
  const absl::Time start = absl::Now();
  EXPECT_TRUE(SleepUnlessInterrupted(absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

TEST(SleepUnlessInterrupted, EndsAtOnceWhenAlreadyInterrupted) {
  absl::Notification interrupt;
  interrupt.Notify();
  ScopedInterrupt scope(&interrupt);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(SleepUnlessInterrupted(absl::Hours(1)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(SleepUnlessInterrupted, EndsWhenInterruptedFromAnotherThread) {
  absl::Notification interrupt;
  ScopedInterrupt scope(&interrupt);
  std::thread other([&] { interrupt.Notify(); });
  EXPECT_FALSE(SleepUnlessInterrupted(absl::Hours(1)));
  other.join();
}

TEST(SleepUnlessInterrupted, ScopeEndsWithItsThread) {
  absl::Notification interrupt;
  interrupt.Notify();
  { ScopedInterrupt scope(&interrupt); }
  EXPECT_TRUE(SleepUnlessInterrupted(absl::Milliseconds(1)));
}

}  // namespace
}  // namespace aia
