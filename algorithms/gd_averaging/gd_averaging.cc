#include "algorithms/gd_averaging/gd_averaging.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "algorithms/finite_sum.h"
#include "algorithms/wrappers/averaging.h"
#include "base/status_macros.h"

namespace aia {
namespace {

constexpr absl::string_view kName = "gd_averaging";

class GdAveraging : public AveragingAlgorithm {
 public:
  std::string message_version() const override {
    return "gd_averaging/2: the answer is the difference of the weighted local point";
  }
  GdAveraging(double stepsize, bool uniform_weights)
      : AveragingAlgorithm(uniform_weights ? Weights::kUniform : Weights::kRows),
        stepsize_(stepsize) {}

  std::vector<std::string> saved_value_names() const override { return objective_.names(); }
  std::vector<double> SavedValues(const Problem& central) override {
    return objective_.Saved(central, q_);
  }
  std::vector<std::pair<std::string, std::string>> ProgressValues() const override {
    return objective_.Progress();
  }
  std::map<std::string, double> FinalReport(const Problem& central) override {
    return objective_.Final(central, q_);
  }

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    RETURN_IF_ERROR(AsFiniteSum(central, kName).status());
    q_ = Vector::Zero(central.dimension());
    return q_;
  }

  absl::StatusOr<Vector> FullAnswer(const ConstVectorRef& q, Problem& local) override {
    ASSIGN_OR_RETURN(const FiniteSumProblem* problem, AsFiniteSum(local, kName));
    RETURN_IF_ERROR(CheckDimension("the query", q.size(), local));
    if (problem->rows() < 1) return absl::FailedPreconditionError("the shard has no rows");
    Vector gradient;
    problem->Gradient(q, gradient);
    return q - (stepsize_ / static_cast<double>(problem->rows())) * gradient;
  }

  absl::StatusOr<Vector> QueryFrom(const Vector& average, const Problem&) override {
    if (average.size() != q_.size()) {
      return absl::DataLossError(
          absl::StrCat("the answers have dimension ", average.size(), ", the query ", q_.size()));
    }
    q_ = average;
    return q_;
  }

 private:
  const double stepsize_;
  Vector q_;  // the current central point
  ObjectiveHooks objective_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Algorithm>> NewGdAveraging(const AlgorithmContext& context) {
  const v1::GdAveragingParams& params = context.spec.gd_averaging();
  const double stepsize = params.has_stepsize() ? params.stepsize() : 0.1;
  RETURN_IF_ERROR(CheckPositive("algorithm.gd_averaging.stepsize", stepsize));
  return std::make_unique<GdAveraging>(stepsize, params.uniform_weights());
}

AIA_REGISTER(AlgorithmRegistry(), "gd_averaging", NewGdAveraging);

}  // namespace aia
