// Interruptible waits for code that runs on a session's thread (worker steps,
// simulated delays): a sleep that ends early once the session is cancelled, so a
// cancelled or abandoned session never keeps a thread asleep.
//
// Example (the worker's session thread):
//   absl::Notification cancelled;
//   ScopedInterrupt scope(&cancelled);  // this thread's sleeps watch `cancelled`
//   ... plugin code: if (!SleepUnlessInterrupted(absl::Seconds(3))) return Cancelled;
//
// Thread safety: the scope is per thread; the notification may fire from any thread.
#ifndef AIA_BASE_INTERRUPT_H_
#define AIA_BASE_INTERRUPT_H_

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace aia {

// While alive, SleepUnlessInterrupted on this thread ends when `interrupt` fires.
class ScopedInterrupt {
 public:
  explicit ScopedInterrupt(const absl::Notification* interrupt);
  ~ScopedInterrupt();
  ScopedInterrupt(const ScopedInterrupt&) = delete;
  ScopedInterrupt& operator=(const ScopedInterrupt&) = delete;

 private:
  const absl::Notification* const previous_;
};

// Sleeps for `duration`; false if this thread's interrupt fired first (at once if
// it had already). Without a ScopedInterrupt it is a plain sleep.
bool SleepUnlessInterrupted(absl::Duration duration);

}  // namespace aia

#endif  // AIA_BASE_INTERRUPT_H_
