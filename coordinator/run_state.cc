#include "coordinator/run_state.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aia {

RunState::RunState(int workers, const v1::StopSpec& stop, const v1::SaveSpec& save)
    : stop_(stop),
      save_(save),
      answer_count_(workers, 0),
      offset_(workers, 0),
      live_(workers, true),
      next_save_time_s_(save.has_time_s() ? save.time_s()
                                          : std::numeric_limits<double>::infinity()) {}

RunState::Decision RunState::Step(int worker, const StepInfo& info) {
  ++iteration_;
  ++answer_count_[worker];
  const int64_t previous_epoch = epoch_;
  epoch_ = std::max(epoch_, ComputeEpoch());
  return Decide(previous_epoch, info);
}

RunState::Decision RunState::Round(const std::vector<int>& workers, const StepInfo& info) {
  ++iteration_;
  for (int worker : workers) ++answer_count_[worker];
  const int64_t previous_epoch = epoch_;
  ++epoch_;
  return Decide(previous_epoch, info);
}

RunState::Decision RunState::Decide(int64_t previous_epoch, const StepInfo& info) {
  Decision decision;
  decision.save = info.algorithm_save;
  if (save_.has_iteration() && iteration_ % save_.iteration() == 0) decision.save = true;
  if (save_.has_epoch() && epoch_ > previous_epoch && epoch_ % save_.epoch() == 0) {
    decision.save = true;
  }
  if (info.time_s >= next_save_time_s_) {
    decision.save = true;
    // The next multiple of save.time_s after now (several may have passed).
    next_save_time_s_ = (std::floor(info.time_s / save_.time_s()) + 1) * save_.time_s();
  }

  if (stop_.has_iteration() && iteration_ >= stop_.iteration()) {
    decision.stop = "iteration";
  } else if (stop_.has_epoch() && epoch_ >= stop_.epoch()) {
    decision.stop = "epoch";
  } else if (TimeIsUp(info.time_s)) {
    decision.stop = "time_s";
  } else if (stop_.has_precision() && info.precision.has_value() &&
             *info.precision <= stop_.precision()) {
    decision.stop = "precision";
  } else if (info.algorithm_stop) {
    decision.stop = "algorithm";
  }
  if (decision.stop.has_value()) decision.save = true;  // the final step is always saved
  if (decision.save) last_saved_iteration_ = iteration_;
  return decision;
}

bool RunState::TimeIsUp(double time_s) const { return time_s >= time_limit_s(); }

double RunState::time_limit_s() const {
  return stop_.has_time_s() ? stop_.time_s() : std::numeric_limits<double>::infinity();
}

void RunState::MarkLost(int worker) {
  live_[worker] = false;
  epoch_ = std::max(epoch_, ComputeEpoch());
}

void RunState::MarkRejoined(int worker) {
  live_[worker] = true;
  offset_[worker] = answer_count_[worker] - epoch_;
}

int RunState::live_count() const {
  int count = 0;
  for (bool live : live_) count += live;
  return count;
}

int64_t RunState::ComputeEpoch() const {
  int64_t epoch = std::numeric_limits<int64_t>::max();
  bool any = false;
  for (size_t w = 0; w < answer_count_.size(); ++w) {
    if (!live_[w]) continue;
    any = true;
    epoch = std::min(epoch, answer_count_[w] - offset_[w]);
  }
  return any ? epoch : epoch_;
}

}  // namespace aia
