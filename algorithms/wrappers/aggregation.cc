#include "algorithms/wrappers/aggregation.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {

void AggregationAlgorithm::OnWorkersReady(const std::vector<WorkerInfo>& workers) {
  if (latest_.size() < workers.size()) latest_.resize(workers.size());
}

void AggregationAlgorithm::OnWorkerLost(int worker) {
  if (worker >= 0 && static_cast<size_t>(worker) < latest_.size()) latest_[worker].reset();
}

const Vector* AggregationAlgorithm::latest(int worker) const {
  if (worker < 0 || static_cast<size_t>(worker) >= latest_.size()) return nullptr;
  return latest_[worker].has_value() ? &*latest_[worker] : nullptr;
}

int AggregationAlgorithm::answered_count() const {
  int count = 0;
  for (const std::optional<Vector>& a : latest_) count += a.has_value() ? 1 : 0;
  return count;
}

Vector AggregationAlgorithm::Aggregate(const std::vector<const Vector*>& latest,
                                       Eigen::Index dimension) {
  Vector sum = Vector::Zero(dimension);
  for (const Vector* a : latest) sum += *a;
  return sum;
}

absl::Status AggregationAlgorithm::CheckAnswer(const ConstVectorRef& a, int worker) const {
  if (worker < 0) return absl::InternalError(absl::StrCat("an answer from worker ", worker));
  if (dimension_ >= 0 && a.size() != dimension_) {
    return absl::DataLossError(absl::StrCat("worker ", worker, " answered a vector of dimension ",
                                            a.size(), "; the answers have dimension ", dimension_));
  }
  return absl::OkStatus();
}

void AggregationAlgorithm::Store(const ConstVectorRef& a, int worker) {
  if (static_cast<size_t>(worker) >= latest_.size()) latest_.resize(worker + 1);
  if (dimension_ < 0) dimension_ = a.size();
  if (latest_[worker].has_value()) {
    *latest_[worker] = a;  // reuses the buffer
  } else {
    latest_[worker].emplace(a);
  }
}

absl::StatusOr<Vector> AggregationAlgorithm::Query(const Problem& central) {
  std::vector<const Vector*> latest;
  latest.reserve(latest_.size());
  for (const std::optional<Vector>& a : latest_) {
    if (a.has_value()) latest.push_back(&*a);
  }
  return QueryFrom(Aggregate(latest, dimension_), central);
}

absl::StatusOr<Vector> AggregationAlgorithm::CentralStep(const ConstVectorRef& a,
                                                         const AnswerInfo& from,
                                                         const Problem& central) {
  RETURN_IF_ERROR(CheckAnswer(a, from.worker));
  Store(a, from.worker);
  return Query(central);
}

absl::StatusOr<Vector> AggregationAlgorithm::SyncCentralStep(
    const std::vector<std::pair<int, ConstVectorRef>>& answers, const Problem& central) {
  if (answers.empty()) return absl::InternalError("a synchronous round with no answers");
  // All or nothing: a bad answer leaves every latest answer as it was.
  Eigen::Index dimension = dimension_ >= 0 ? dimension_ : answers.front().second.size();
  for (const auto& [worker, a] : answers) {
    if (worker < 0) return absl::InternalError(absl::StrCat("an answer from worker ", worker));
    if (a.size() != dimension) {
      return absl::DataLossError(absl::StrCat("worker ", worker, " answered a vector of dimension ",
                                              a.size(), "; the answers have dimension ",
                                              dimension));
    }
  }
  for (const auto& [worker, a] : answers) Store(a, worker);
  return Query(central);
}

}  // namespace aia
