// AggregationAlgorithm: the query is a function of an aggregate of every worker's
// latest answer (the Julia package's AggregationAlgorithm).
//
// The coordinator keeps the latest answer of each worker that has answered and
// is not lost. After each central step it computes the aggregate of those answers
// with Aggregate() (default: their sum, added in worker order) and the next query
// with QueryFrom(aggregate, central).
//
//   asynchronous  Update(a, worker): a replaces worker's latest answer; then one
//                 aggregate and one query (sent to that worker).
//   synchronous   UpdateSynchronous(round): every answer of the round replaces
//                 its worker's latest; then one aggregate and one query (for all).
//
// Workers: OnWorkerLost(w) drops w's answer from the aggregate (the next query
// no longer counts it); a rejoined worker (OnWorkerRejoined) re-enters the
// aggregate with its next answer. supports_rejoin() is true: the coordinator
// holds full answers, so a worker that forgot its past cannot corrupt them.
//
// Cost on the coordinator: O(workers x dimension) memory (one vector a worker)
// and, with the default Aggregate, O(workers x dimension) time a central step.
// For O(dimension) memory use AveragingAlgorithm (averaging.h).
//
// Answers are dense vectors of one dimension, fixed by the first answer (an
// answer of another dimension is DataLoss, blamed on its worker); queries are
// dense vectors too. Subclasses write Init (q0), WorkerStep (the worker's answer)
// and QueryFrom; they may override Aggregate.
//
// Example (gradient descent on the sum of the workers' latest shard gradients):
//
//   class SumGd : public AggregationAlgorithm {
//    protected:
//     absl::StatusOr<Vector> Init(const Problem& central) override {
//       q_ = Vector::Zero(central.dimension());
//       return q_;
//     }
//     absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem& local) override {
//       Vector g;
//       dynamic_cast<FiniteSumProblem&>(local).Gradient(q, g);
//       return g;
//     }
//     absl::StatusOr<Vector> QueryFrom(const Vector& sum, const Problem&) override {
//       q_ -= 0.001 * sum;
//       return q_;
//     }
//     Vector q_;
//   };
//
// Thread safety: as every Algorithm, an instance is used by one thread at a time.
#ifndef AIA_ALGORITHMS_WRAPPERS_AGGREGATION_H_
#define AIA_ALGORITHMS_WRAPPERS_AGGREGATION_H_

#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"
#include "algorithms/typed_algorithm.h"
#include "base/eigen.h"
#include "problems/problem.h"

namespace aia {

class AggregationAlgorithm : public TypedAlgorithm<Vector, Vector> {
 public:
  bool supports_synchronous() const override { return true; }
  bool supports_rejoin() const override { return true; }

  // Sizes the table of latest answers (it also grows on demand).
  void OnWorkersReady(const std::vector<WorkerInfo>& workers) override;
  // Drops the worker's latest answer from the aggregate.
  void OnWorkerLost(int worker) override;
  // Nothing to do: the worker re-enters the aggregate when it answers.
  void OnWorkerRejoined(int worker) override {}

  // Coordinator state, for subclasses' hooks and for tests.
  // The latest answer of `worker`, or null if it has none (never answered, or lost).
  const Vector* latest(int worker) const;
  // How many workers have a latest answer in the aggregate.
  int answered_count() const;

 protected:
  // The aggregate of the latest answers (one pointer a worker that has one, in
  // worker order; never empty when called from a central step). Default: their
  // sum, added in worker order. `dimension` is the answers' dimension.
  virtual Vector Aggregate(const std::vector<const Vector*>& latest, Eigen::Index dimension);
  // The next query from the aggregate.
  virtual absl::StatusOr<Vector> QueryFrom(const Vector& aggregate, const Problem& central) = 0;

  // The central steps, in terms of the above.
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo& from,
                                     const Problem& central) final;
  absl::StatusOr<Vector> SyncCentralStep(const std::vector<std::pair<int, ConstVectorRef>>& answers,
                                         const Problem& central) final;

 private:
  // DataLoss (naming `worker`) unless `a` may join the aggregate.
  absl::Status CheckAnswer(const ConstVectorRef& a, int worker) const;
  void Store(const ConstVectorRef& a, int worker);
  absl::StatusOr<Vector> Query(const Problem& central);

  // latest_[w]: worker w's latest answer; nullopt when it has none.
  std::vector<std::optional<Vector>> latest_;
  // The answers' dimension, fixed by the first answer; -1 before.
  Eigen::Index dimension_ = -1;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_WRAPPERS_AGGREGATION_H_
