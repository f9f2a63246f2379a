#include "algorithms/sgd/sgd.h"

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "algorithms/finite_sum.h"
#include "algorithms/typed_algorithm.h"
#include "base/status_macros.h"

namespace aia {
namespace {

constexpr absl::string_view kName = "sgd";

class Sgd : public TypedAlgorithm<Vector, Vector> {
 public:
  std::string message_version() const override {
    return "sgd/1: the answer is stepsize times a row gradient at the query";
  }
  Sgd(double stepsize, bool zero_start, double staleness_damping, uint64_t seed)
      : stepsize_(stepsize),
        zero_start_(zero_start),
        staleness_damping_(staleness_damping),
        rng_(seed) {}

  bool supports_synchronous() const override { return true; }

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    q_ = Vector::Zero(central.dimension());
    if (!zero_start_) {
      for (Eigen::Index j = 0; j < q_.size(); ++j) q_[j] = uniform(rng_);
    }
    return q_;
  }

  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem& local) override {
    ASSIGN_OR_RETURN(const FiniteSumProblem* problem, AsFiniteSum(local, kName));
    RETURN_IF_ERROR(CheckDimension("the query", q.size(), local));
    if (problem->rows() < 1) return absl::FailedPreconditionError("the shard has no rows");
    std::uniform_int_distribution<int64_t> row(0, problem->rows() - 1);
    Vector gradient;
    problem->RowGradient(q, row(rng_), gradient);
    gradient *= stepsize_;
    return gradient;
  }

  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo& from,
                                     const Problem& central) override {
    if (a.size() != q_.size()) {
      return absl::DataLossError(
          absl::StrCat("the answer has dimension ", a.size(), ", the query ", q_.size()));
    }
    // No damping of a fresh answer (or a staleness below 0, which no run gives).
    if (staleness_damping_ == 0 || from.staleness() <= 0) {
      q_ -= a;
    } else {
      q_ -= a / (1 + staleness_damping_ * static_cast<double>(from.staleness()));
    }
    return q_;
  }

  // A minibatch step: the mean of the round's steps.
  absl::StatusOr<Vector> SyncCentralStep(const std::vector<std::pair<int, ConstVectorRef>>& answers,
                                         const Problem& central) override {
    if (answers.empty()) return absl::InternalError("a synchronous round with no answers");
    Vector sum = Vector::Zero(q_.size());
    for (const auto& [worker, a] : answers) {
      if (a.size() != q_.size()) {
        return absl::DataLossError(absl::StrCat("worker ", worker, " answered dimension ", a.size(),
                                                ", the query has ", q_.size()));
      }
      sum += a;
    }
    q_ -= sum / static_cast<double>(answers.size());
    return q_;
  }

 private:
  const double stepsize_;
  const bool zero_start_;
  const double staleness_damping_;
  std::mt19937_64 rng_;
  Vector q_;  // the current central point
};

}  // namespace

absl::StatusOr<std::unique_ptr<Algorithm>> NewSgd(const AlgorithmContext& context) {
  const v1::SgdParams& params = context.spec.sgd();
  const double stepsize = params.has_stepsize() ? params.stepsize() : 0.01;
  RETURN_IF_ERROR(CheckPositive("algorithm.sgd.stepsize", stepsize));
  const double damping = params.staleness_damping();
  if (!std::isfinite(damping) || damping < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("algorithm.sgd.staleness_damping must be finite and >= 0, got ", damping));
  }
  return std::make_unique<Sgd>(stepsize, params.zero_start(), damping, context.seed);
}

AIA_REGISTER(AlgorithmRegistry(), "sgd", NewSgd);

}  // namespace aia
