// HeartbeatSender: the coordinator's half of in-stream liveness
// (proto/worker.proto, rule 5). A thread of its own sends a Heartbeat on every
// registered link every `interval`, so that workers hear from the coordinator
// even while the central loop is busy with a long step.
//
// Example:
//   HeartbeatSender heartbeats(absl::Milliseconds(1250));
//   heartbeats.Add(link.get());
//   ...
//   heartbeats.Remove(link.get());  // before the link is destroyed
//
// Thread safety: Add and Remove may be called from any thread.
#ifndef AIA_COORDINATOR_HEARTBEATS_H_
#define AIA_COORDINATOR_HEARTBEATS_H_

#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/link.h"

namespace aia {

class HeartbeatSender {
 public:
  explicit HeartbeatSender(absl::Duration interval);
  // Stops the thread.
  ~HeartbeatSender();
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

  void Add(Link* link);
  // Once it returns, `link` is never touched again.
  void Remove(Link* link);

 private:
  void Loop();

  const absl::Duration interval_;
  absl::Mutex mu_;
  std::set<Link*> links_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_HEARTBEATS_H_
