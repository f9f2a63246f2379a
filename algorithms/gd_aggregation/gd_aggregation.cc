#include "algorithms/gd_aggregation/gd_aggregation.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "algorithms/finite_sum.h"
#include "algorithms/wrappers/aggregation.h"
#include "base/status_macros.h"

namespace aia {
namespace {

constexpr absl::string_view kName = "gd_aggregation";

class GdAggregation : public AggregationAlgorithm {
 public:
  std::string message_version() const override {
    return "gd_aggregation/1: the answer is the shard gradient at the query";
  }
  explicit GdAggregation(double stepsize) : stepsize_(stepsize) {}

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

  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem& local) override {
    ASSIGN_OR_RETURN(const FiniteSumProblem* problem, AsFiniteSum(local, kName));
    RETURN_IF_ERROR(CheckDimension("the query", q.size(), local));
    Vector gradient;
    problem->Gradient(q, gradient);
    return gradient;
  }

  absl::StatusOr<Vector> QueryFrom(const Vector& sum, const Problem&) override {
    if (sum.size() != q_.size()) {
      return absl::DataLossError(
          absl::StrCat("the gradients have dimension ", sum.size(), ", the query ", q_.size()));
    }
    q_ -= stepsize_ * sum;
    return q_;
  }

 private:
  const double stepsize_;
  Vector q_;  // the current central point
  ObjectiveHooks objective_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Algorithm>> NewGdAggregation(const AlgorithmContext& context) {
  const v1::GdAggregationParams& params = context.spec.gd_aggregation();
  const double stepsize = params.has_stepsize() ? params.stepsize() : 0.0001;
  RETURN_IF_ERROR(CheckPositive("algorithm.gd_aggregation.stepsize", stepsize));
  return std::make_unique<GdAggregation>(stepsize);
}

AIA_REGISTER(AlgorithmRegistry(), "gd_aggregation", NewGdAggregation);

}  // namespace aia
