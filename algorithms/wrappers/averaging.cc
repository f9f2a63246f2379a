#include "algorithms/wrappers/averaging.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {
namespace {

// Error-free transformations (Knuth's TwoSum, Dekker's TwoProduct): the rounded
// result and its exact error. They rely on IEEE double arithmetic without
// reassociation (no -ffast-math).
struct Pair {
  double value;
  double error;
};

inline Pair TwoSum(double a, double b) {
  const double s = a + b;
  const double z = s - a;
  return {s, (a - (s - z)) + (b - z)};
}

inline Pair TwoProduct(double a, double b) {
  const double p = a * b;
#ifdef __FMA__
  // A hardware fma is exact and fast; where the compiler may contract a*b+c into
  // an fma, Veltkamp's split below would not be exact either.
  return {p, std::fma(a, b, -p)};
#else
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  const double ca = kSplit * a;
  const double a_hi = ca - (ca - a);
  const double a_lo = a - a_hi;
  const double cb = kSplit * b;
  const double b_hi = cb - (cb - b);
  const double b_lo = b - b_hi;
  return {p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo};
#endif
}

}  // namespace

void AveragingAlgorithm::OnWorkersReady(const std::vector<WorkerInfo>& workers) {
  rows_.assign(workers.size(), -1);
  for (size_t i = 0; i < workers.size(); ++i) rows_[i] = workers[i].rows;
}

void AveragingAlgorithm::OnWorkerRejoined(int worker) {
  if (worker < 0) return;
  if (static_cast<size_t>(worker) >= rejoined_.size()) rejoined_.resize(worker + 1, false);
  rejoined_[worker] = true;
}

Vector AveragingAlgorithm::average() const {
  if (sum_.size() == 0 || weight_sum_ == 0) return Vector();
  return (sum_ + compensation_) / weight_sum_;
}

int AveragingAlgorithm::answered_count() const {
  int count = 0;
  for (bool answered : answered_) count += answered ? 1 : 0;
  return count;
}

absl::StatusOr<Vector> AveragingAlgorithm::WorkerStep(const ConstVectorRef& q, Problem& local) {
  ASSIGN_OR_RETURN(Vector a, FullAnswer(q, local));
  const Eigen::Index n = a.size();
  if (sent_hi_.size() == 0) {
    sent_hi_ = Vector::Zero(n);
    sent_lo_ = Vector::Zero(n);
  } else if (sent_hi_.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the answer's dimension changed from ", sent_hi_.size(), " to ", n, " within a session"));
  }
  // d = a - sent, rounded once; then sent += d in double-double, so the part of
  // a - sent that d's rounding dropped is sent with the next difference.
  Vector d(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    const Pair s = TwoSum(a[j], -sent_hi_[j]);
    const double dj = s.value + (s.error - sent_lo_[j]);
    const Pair h = TwoSum(sent_hi_[j], dj);
    const Pair renormalized = TwoSum(h.value, h.error + sent_lo_[j]);
    sent_hi_[j] = renormalized.value;
    sent_lo_[j] = renormalized.error;
    d[j] = dj;
  }
  return d;
}

absl::Status AveragingAlgorithm::Check(const ConstVectorRef& d, int worker, Eigen::Index dimension,
                                       double* weight) const {
  if (worker < 0) return absl::InternalError(absl::StrCat("an answer from worker ", worker));
  if (static_cast<size_t>(worker) < rejoined_.size() && rejoined_[worker]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker ", worker,
        " rejoined, but an averaging algorithm cannot take a rejoined worker: its new session "
        "does not know what the old one sent, so its answer would be counted twice"));
  }
  if (d.size() != dimension) {
    return absl::DataLossError(absl::StrCat("worker ", worker, " answered a vector of dimension ",
                                            d.size(), "; the answers have dimension ", dimension));
  }
  if (weights_kind_ == Weights::kUniform) {
    *weight = 1.0;
  } else {
    if (static_cast<size_t>(worker) >= rows_.size() || rows_[worker] < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("no row count for worker ", worker,
                       " (weights by rows need OnWorkersReady before the first answer)"));
    }
    *weight = static_cast<double>(rows_[worker]);
  }
  return absl::OkStatus();
}

void AveragingAlgorithm::Add(const ConstVectorRef& d, int worker, double weight) {
  const Eigen::Index n = d.size();
  if (sum_.size() == 0) {
    sum_ = Vector::Zero(n);
    compensation_ = Vector::Zero(n);
  }
  if (static_cast<size_t>(worker) >= answered_.size()) answered_.resize(worker + 1, false);
  if (!answered_[worker]) {
    answered_[worker] = true;
    weight_sum_ += weight;
  }
  // S is kept as the unevaluated sum sum_ + compensation_ and renormalized at every
  // step, so the compensation stays below half an ulp of the current S: errors of
  // a past of large magnitudes do not linger in it.
  double* sum = sum_.data();
  double* compensation = compensation_.data();
  for (Eigen::Index j = 0; j < n; ++j) {
    const Pair p = weight == 1.0 ? Pair{d[j], 0.0} : TwoProduct(weight, d[j]);
    const Pair s = TwoSum(sum[j], p.value);
    const Pair renormalized = TwoSum(s.value, compensation[j] + (s.error + p.error));
    sum[j] = renormalized.value;
    compensation[j] = renormalized.error;
  }
}

absl::StatusOr<Vector> AveragingAlgorithm::Query(const Problem& central) {
  if (weight_sum_ == 0) {
    return absl::FailedPreconditionError(
        "the weights of the workers that answered sum to 0 (shards with no rows?)");
  }
  return QueryFrom(average(), central);
}

absl::StatusOr<Vector> AveragingAlgorithm::CentralStep(const ConstVectorRef& d,
                                                       const AnswerInfo& from,
                                                       const Problem& central) {
  double weight = 0;
  RETURN_IF_ERROR(Check(d, from.worker, sum_.size() > 0 ? sum_.size() : d.size(), &weight));
  Add(d, from.worker, weight);
  return Query(central);
}

absl::StatusOr<Vector> AveragingAlgorithm::SyncCentralStep(
    const std::vector<std::pair<int, ConstVectorRef>>& answers, const Problem& central) {
  if (answers.empty()) return absl::InternalError("a synchronous round with no answers");
  // All or nothing: a bad answer leaves S as it was.
  const Eigen::Index dimension = sum_.size() > 0 ? sum_.size() : answers.front().second.size();
  std::vector<double> weights(answers.size());
  for (size_t k = 0; k < answers.size(); ++k) {
    RETURN_IF_ERROR(Check(answers[k].second, answers[k].first, dimension, &weights[k]));
  }
  for (size_t k = 0; k < answers.size(); ++k) {
    Add(answers[k].second, answers[k].first, weights[k]);
  }
  return Query(central);
}

}  // namespace aia
