// AveragingAlgorithm: the query is a function of the weighted average of every
// worker's latest answer (the Julia package's AveragingAlgorithm), kept in
// O(dimension) memory on the coordinator.
//
// Worker side: the subclass's FullAnswer gives the worker's new answer a_i; the
// wrapper sends the DIFFERENCE between a_i and what the coordinator already holds
// for this worker (the first answer of a session: the difference from zero, i.e.
// a_i itself). Each worker session has its own instance, so its memory of what it
// sent lives and dies with the session.
//
// Coordinator side: S = sum_i w_i a_i, updated with w_i * difference, and
// W = sum of w_i over the workers that have answered at least once; the average
// is S / W and the next query is QueryFrom(average, central).
//
//   asynchronous  Update(d, worker): S += w * d; then one query (for that worker).
//   synchronous   UpdateSynchronous(round): every difference of the round is
//                 added; then one query (for all).
//
// Accuracy (no drift over long runs):
//   * The coordinator's S is a compensated sum (a sum vector and a compensation
//     vector: Neumaier's TwoSum per component, renormalized at every step, i.e. a
//     double-double) and each w * d is split into its rounded product and exact
//     error (Dekker's TwoProduct), both added; so S carries no accumulated
//     rounding of past updates (error ~ u |S| plus second-order terms, u = 2^-53).
//   * The worker keeps what it has sent as a double-double (error feedback): the
//     rounding of one difference is folded into the next one instead of staying
//     in S forever. The coordinator's picture of worker i is a_i up to half an ulp
//     of its latest difference: it shrinks as the algorithm converges, however
//     long the run and whatever the magnitudes it went through. In all, component
//     j of the average is within about u (sum_i w_i (|a_ij| + |d_ij| / 2)) / W of
//     the exact one, d_i being worker i's latest difference.
//   A plain running sum of plain differences drifts by about u |a| sqrt(updates)
//   where |a| is the largest magnitude ever seen (averaging_test.cc shows it).
//
// Weights: Weights::kRows uses the rows of each worker's shard from
// OnWorkersReady (a worker with no row count is FailedPrecondition when its
// answer arrives); Weights::kUniform weighs every worker 1.
//
// Lost workers: their last answer STAYS in the average. By the O(dimension)
// design the coordinator has no copy of a worker's answer to take out of S.
// Rejoin: supports_rejoin() is false. A restarted worker's new session has
// forgotten what its predecessor sent, so its first difference (its full answer)
// would be added on top of the old contribution and count it twice. If the
// engine still reports a rejoin, that worker's next answer is FailedPrecondition
// rather than a silently wrong average.
//
// Answers (differences) and queries are dense vectors; the answers' dimension is
// fixed by the first one (another dimension is DataLoss, blamed on its worker).
//
// Example (gradient steps averaged over the workers):
//
//   class AveragedGd : public AveragingAlgorithm {
//    public:
//     AveragedGd() : AveragingAlgorithm(Weights::kRows) {}
//    protected:
//     absl::StatusOr<Vector> Init(const Problem& central) override {
//       return Vector::Zero(central.dimension());
//     }
//     absl::StatusOr<Vector> FullAnswer(const ConstVectorRef& q, Problem& local) override {
//       Vector g;
//       dynamic_cast<FiniteSumProblem&>(local).Gradient(q, g);
//       return q - 0.1 * g / local.rows();
//     }
//     absl::StatusOr<Vector> QueryFrom(const Vector& average, const Problem&) override {
//       return average;
//     }
//   };
//
// Thread safety: as every Algorithm, an instance is used by one thread at a time.
#ifndef AIA_ALGORITHMS_WRAPPERS_AVERAGING_H_
#define AIA_ALGORITHMS_WRAPPERS_AVERAGING_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"
#include "algorithms/typed_algorithm.h"
#include "base/eigen.h"
#include "problems/problem.h"

namespace aia {

class AveragingAlgorithm : public TypedAlgorithm<Vector, Vector> {
 public:
  enum class Weights {
    kUniform,  // w_i = 1
    kRows,     // w_i = rows of worker i's shard (OnWorkersReady)
  };

  explicit AveragingAlgorithm(Weights weights) : weights_kind_(weights) {}

  bool supports_synchronous() const override { return true; }
  // False: see the header comment (a restarted worker's differences double count).
  bool supports_rejoin() const override { return false; }

  // Records the weights (Weights::kRows).
  void OnWorkersReady(const std::vector<WorkerInfo>& workers) override;
  // Nothing to undo: the lost worker's last answer stays in the average.
  void OnWorkerLost(int worker) override {}
  // Marks the worker: its next answer is FailedPrecondition (see the header comment).
  void OnWorkerRejoined(int worker) override;

  // Coordinator state, for subclasses' hooks and for tests.
  // The current weighted average; empty before the first answer or while the
  // answered workers' weights sum to 0.
  Vector average() const;
  // Sum of the weights of the workers that have answered at least once.
  double weight_sum() const { return weight_sum_; }
  int answered_count() const;

 protected:
  // Worker: this worker's new full answer to `q`.
  virtual absl::StatusOr<Vector> FullAnswer(const ConstVectorRef& q, Problem& local) = 0;
  // Coordinator: the next query from the current weighted average.
  virtual absl::StatusOr<Vector> QueryFrom(const Vector& average, const Problem& central) = 0;

  // The TypedAlgorithm steps, in terms of the above.
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem& local) final;
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& d, const AnswerInfo& from,
                                     const Problem& central) final;
  absl::StatusOr<Vector> SyncCentralStep(const std::vector<std::pair<int, ConstVectorRef>>& answers,
                                         const Problem& central) final;

 private:
  // OK if `d` from `worker` may be added; sets *weight.
  absl::Status Check(const ConstVectorRef& d, int worker, Eigen::Index dimension,
                     double* weight) const;
  // S += weight * d (compensated); counts the worker's weight once.
  void Add(const ConstVectorRef& d, int worker, double weight);
  absl::StatusOr<Vector> Query(const Problem& central);

  const Weights weights_kind_;

  // --- Worker side ---
  // What this session has sent, as a double-double sent_hi_ + sent_lo_ (empty
  // before the first answer).
  Vector sent_hi_;
  Vector sent_lo_;

  // --- Coordinator side ---
  // rows_[w] from OnWorkersReady; -1 when unknown.
  std::vector<int64_t> rows_;
  // answered_[w]: worker w's weight is in weight_sum_.
  std::vector<bool> answered_;
  // rejoined_[w]: w rejoined; its answers are refused.
  std::vector<bool> rejoined_;
  // S = sum_ + compensation_ (per component); empty before the first answer.
  Vector sum_;
  Vector compensation_;
  double weight_sum_ = 0;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_WRAPPERS_AVERAGING_H_
