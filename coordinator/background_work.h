// BackgroundWork: the work a task-pool algorithm leaves off the central thread
// (Algorithm::TakeBackgroundWork: a master problem's solve), one job at a time on
// a thread of its own. When a job ends it pushes a kWake event, so that the
// central loop, waiting for events, looks at it at once.
//
// Example (the task-pool loop):
//   if (auto job = algorithm->TakeBackgroundWork()) work.Start(std::move(job));
//   ... queued tasks keep going to idle workers; answers wait ...
//   if (work.done()) ASSIGN_OR_RETURN(std::vector<std::string> tasks, work.Collect());
//
// Thread safety: one owner thread calls every method.
#ifndef AIA_COORDINATOR_BACKGROUND_WORK_H_
#define AIA_COORDINATOR_BACKGROUND_WORK_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "algorithms/algorithm.h"
#include "coordinator/link.h"

namespace aia {

class BackgroundWork {
 public:
  explicit BackgroundWork(EventQueue* events) : events_(events) {}
  // Waits for a job still running.
  ~BackgroundWork();
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  // Runs `job`; none may be pending (started and not collected).
  void Start(BackgroundJob job);
  // A job was started and its result not collected yet.
  bool pending() const { return thread_.joinable(); }
  // The pending job has finished.
  bool done() const;
  // Waits until the pending job has finished (its result stays to collect).
  void Wait();
  // The pending job's result, once it finished (waits if need be); an exception
  // it threw is an Internal error.
  absl::StatusOr<std::vector<std::string>> Collect();

 private:
  EventQueue* const events_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::StatusOr<std::vector<std::string>> result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aia

#endif  // AIA_COORDINATOR_BACKGROUND_WORK_H_
