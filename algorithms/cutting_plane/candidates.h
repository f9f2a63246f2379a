// CandidateTracker: the partial barrier and the basket of asynchronous
// cutting-plane methods (Linderoth & Wright).
//
// Each candidate point is evaluated by `tasks` tasks. A candidate *triggers* the
// next one once a fraction alpha of its tasks are back (alpha = 1: every task,
// the synchronous method); at most `basket` candidates may have tasks out at once,
// so a trigger that would exceed it waits until a candidate completes. Every
// candidate triggers at most once.
//
// Example:
//   CandidateTracker tracker(/*alpha=*/0.6, /*basket=*/3);
//   tracker.Open(id, tasks);
//   ...
//   if (tracker.TaskBack(id)) { make the next candidate; tracker.Open(next, tasks); }
//
// Thread safety: not thread-safe (the central loop owns it).
#ifndef AIA_ALGORITHMS_CUTTING_PLANE_CANDIDATES_H_
#define AIA_ALGORITHMS_CUTTING_PLANE_CANDIDATES_H_

#include <cstdint>
#include <map>

namespace aia {

class CandidateTracker {
 public:
  // 0 < alpha <= 1; basket >= 1.
  CandidateTracker(double alpha, int basket) : alpha_(alpha), basket_(basket) {}

  // A new candidate with `tasks` tasks out.
  void Open(uint64_t candidate, int64_t tasks);
  // One task of `candidate` is back. True if a new candidate should be made now
  // (this one, or an earlier one kept waiting by the basket, triggers).
  bool TaskBack(uint64_t candidate);

  // Whether every task of `candidate` is back.
  bool Complete(uint64_t candidate) const;
  // Candidates with tasks still out.
  int open() const;
  // Tasks back needed for a candidate of `tasks` tasks to trigger: ceil(alpha*tasks).
  int64_t Threshold(int64_t tasks) const;

 private:
  struct Candidate {
    int64_t tasks = 0;
    int64_t back = 0;
    bool triggered = false;
  };
  // The first candidate that has reached its threshold and not triggered yet.
  bool TriggerWaiting();

  const double alpha_;
  const int basket_;
  std::map<uint64_t, Candidate> candidates_;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_CUTTING_PLANE_CANDIDATES_H_
