#include "algorithms/cutting_plane/candidates.h"

#include <cmath>

namespace aia {

void CandidateTracker::Open(uint64_t candidate, int64_t tasks) {
  candidates_[candidate] = Candidate{tasks, 0, false};
}

int64_t CandidateTracker::Threshold(int64_t tasks) const {
  // A small tolerance, so that alpha * tasks = 3.0000000000000004 still needs 3.
  return static_cast<int64_t>(std::ceil(alpha_ * static_cast<double>(tasks) - 1e-9));
}

bool CandidateTracker::TaskBack(uint64_t candidate) {
  auto it = candidates_.find(candidate);
  if (it != candidates_.end()) ++it->second.back;
  return TriggerWaiting();
}

bool CandidateTracker::TriggerWaiting() {
  // The new candidate will be open: allowed only below the basket.
  if (open() >= basket_) return false;
  for (auto& [id, c] : candidates_) {
    if (!c.triggered && c.back >= Threshold(c.tasks)) {
      c.triggered = true;
      return true;
    }
  }
  return false;
}

bool CandidateTracker::Complete(uint64_t candidate) const {
  auto it = candidates_.find(candidate);
  return it != candidates_.end() && it->second.back >= it->second.tasks;
}

int CandidateTracker::open() const {
  int count = 0;
  for (const auto& [id, c] : candidates_) count += c.back < c.tasks;
  return count;
}

}  // namespace aia
