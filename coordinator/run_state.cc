#include "coordinator/run_state.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aia {

RunState::RunState(int workers, const v1::StopSpec& stop, const v1::SaveSpec& save)
    : stop_(stop),
      save_(save),
      answer_count_(workers, 0),
      live_(workers, true),
      next_save_time_s_(save.has_time_s() ? save.time_s()
                                          : std::numeric_limits<double>::infinity()) {}

RunState::Decision RunState::Step(int worker, double time_s, std::optional<double> precision) {
  ++iteration_;
  ++answer_count_[worker];
  const int64_t previous_epoch = epoch_;
  epoch_ = ComputeEpoch();

  Decision decision;
  if (save_.has_iteration() && iteration_ % save_.iteration() == 0) decision.save = true;
  if (save_.has_epoch() && epoch_ > previous_epoch && epoch_ % save_.epoch() == 0) {
    decision.save = true;
  }
  if (time_s >= next_save_time_s_) {
    decision.save = true;
    // The next multiple of save.time_s after now (several may have passed).
    next_save_time_s_ = (std::floor(time_s / save_.time_s()) + 1) * save_.time_s();
  }

  if (stop_.has_iteration() && iteration_ >= stop_.iteration()) {
    decision.stop = "iteration";
  } else if (stop_.has_epoch() && epoch_ >= stop_.epoch()) {
    decision.stop = "epoch";
  } else if (TimeIsUp(time_s)) {
    decision.stop = "time_s";
  } else if (stop_.has_precision() && precision.has_value() && *precision <= stop_.precision()) {
    decision.stop = "precision";
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

int64_t RunState::ComputeEpoch() const {
  int64_t epoch = std::numeric_limits<int64_t>::max();
  bool any = false;
  for (size_t w = 0; w < answer_count_.size(); ++w) {
    if (!live_[w]) continue;
    any = true;
    epoch = std::min(epoch, answer_count_[w]);
  }
  return any ? epoch : epoch_;
}

}  // namespace aia
