// RunState: the counting, stopping and saving rules of a run, without I/O or
// clocks, so tests can drive it step by step (the run semantics in docs/).
//
//   iteration     +1 per processed answer (asynchronous mode)
//   answer_count  per worker, +1 per processed answer of that worker
//   epoch         min of answer_count over the live workers
//
// After each step, Step() says whether to save a record and whether to stop:
//   save  every stop.iteration-th iteration; once when the epoch counter reaches a
//         multiple of save.epoch; when run time passes the next multiple of
//         save.time_s; always at the final step.
//   stop  iteration >= stop.iteration, epoch >= stop.epoch, time >= stop.time_s,
//         precision <= stop.precision; the first that holds names the reason.
//
// Example:
//   RunState state(/*workers=*/4, config.stop(), config.save());
//   RunState::Decision d = state.Step(/*worker=*/2, /*time_s=*/0.13, precision);
//   if (d.save) history.Append(...);
//   if (d.stop) { summary.stop_reason = *d.stop; ... }
//
// Thread safety: not thread-safe; the central loop owns it.
#ifndef AIA_COORDINATOR_RUN_STATE_H_
#define AIA_COORDINATOR_RUN_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/config.pb.h"

namespace aia {

class RunState {
 public:
  struct Decision {
    bool save = false;
    // Set when the run stops after this step: "iteration", "epoch", "time_s" or
    // "precision".
    std::optional<std::string> stop;
  };

  RunState(int workers, const v1::StopSpec& stop, const v1::SaveSpec& save);

  // Processes one answer from `worker`, made `time_s` after the start, whose
  // central step moved the query by `precision` (absent when not measured).
  Decision Step(int worker, double time_s, std::optional<double> precision);

  // Whether the run must stop at `time_s` with no new step (the time limit).
  bool TimeIsUp(double time_s) const;
  // When the time limit falls, in seconds after the start (infinity if none).
  double time_limit_s() const;

  // Leaves `worker` out of the epoch from now on.
  void MarkLost(int worker);

  int64_t iteration() const { return iteration_; }
  int64_t epoch() const { return epoch_; }
  const std::vector<int64_t>& answer_count() const { return answer_count_; }
  // The iteration of the last record Step() asked to save (0: record 0).
  int64_t last_saved_iteration() const { return last_saved_iteration_; }

 private:
  int64_t ComputeEpoch() const;

  const v1::StopSpec stop_;
  const v1::SaveSpec save_;
  std::vector<int64_t> answer_count_;
  std::vector<bool> live_;
  int64_t iteration_ = 0;
  int64_t epoch_ = 0;
  double next_save_time_s_;
  int64_t last_saved_iteration_ = 0;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_RUN_STATE_H_
