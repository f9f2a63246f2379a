// RunState: the counting, stopping and saving rules of a run, without I/O or
// clocks, so tests can drive it step by step (the run semantics in docs/).
//
//   asynchronous mode (Step)
//     iteration     +1 per processed answer
//     answer_count  per worker, +1 per processed answer of that worker
//     epoch         min of answer_count over the live workers (a worker that
//                   rejoins counts from the epoch at its return, so the epoch never
//                   goes back)
//   synchronous mode (Round)
//     iteration, epoch  +1 per round; answer_count +1 for each worker in the round
//
// After each step, Step() says whether to save a record and whether to stop:
//   save  every stop.iteration-th iteration; once when the epoch counter reaches a
//         multiple of save.epoch; when run time passes the next multiple of
//         save.time_s; always at the final step.
//   stop  iteration >= stop.iteration, epoch >= stop.epoch, time >= stop.time_s,
//         precision <= stop.precision, the algorithm's stop hook; the first that
//         holds names the reason. The algorithm's save hook also saves.
//
// Example:
//   RunState state(/*workers=*/4, config.stop(), config.save());
//   RunState::Decision d = state.Step(/*worker=*/2, {.time_s = 0.13, .precision = p});
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
    // Set when the run stops after this step: "iteration", "epoch", "time_s",
    // "precision" or "algorithm".
    std::optional<std::string> stop;
  };

  // What a central step reports besides its worker(s).
  struct StepInfo {
    double time_s = 0;                // since the start
    std::optional<double> precision;  // how far the query moved; absent if not measured
    bool algorithm_stop = false;      // the algorithm's stop hook
    bool algorithm_save = false;      // the algorithm's save hook
  };

  RunState(int workers, const v1::StopSpec& stop, const v1::SaveSpec& save);

  // Asynchronous mode: processes one answer from `worker`.
  Decision Step(int worker, const StepInfo& info);
  // Synchronous mode: processes one round with an answer from each of `workers`.
  Decision Round(const std::vector<int>& workers, const StepInfo& info);

  // Whether the run must stop at `time_s` with no new step (the time limit).
  bool TimeIsUp(double time_s) const;
  // When the time limit falls, in seconds after the start (infinity if none).
  double time_limit_s() const;

  // Leaves `worker` out of the epoch from now on.
  void MarkLost(int worker);
  // Counts `worker` again, from the current epoch.
  void MarkRejoined(int worker);
  bool live(int worker) const { return live_[worker]; }
  int live_count() const;

  int64_t iteration() const { return iteration_; }
  int64_t epoch() const { return epoch_; }
  const std::vector<int64_t>& answer_count() const { return answer_count_; }
  // The iteration of the last record Step() asked to save (0: record 0).
  int64_t last_saved_iteration() const { return last_saved_iteration_; }

 private:
  int64_t ComputeEpoch() const;
  Decision Decide(int64_t previous_epoch, const StepInfo& info);

  const v1::StopSpec stop_;
  const v1::SaveSpec save_;
  std::vector<int64_t> answer_count_;
  // answer_count_ - offset_ is what counts toward the epoch (non-zero after a rejoin).
  std::vector<int64_t> offset_;
  std::vector<bool> live_;
  int64_t iteration_ = 0;
  int64_t epoch_ = 0;
  double next_save_time_s_;
  int64_t last_saved_iteration_ = 0;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_RUN_STATE_H_
