#include "problems/l1_regression/l1_regression.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "problems/data.h"
#include "problems/lp_values.h"

namespace aia {
namespace {

// Every row: cutting-plane tasks may name any piece, so no instance holds a shard.
absl::StatusOr<Dataset> LoadAllRows(const ProblemContext& context) {
  switch (context.spec.source_case()) {
    case v1::ProblemSpec::kFile:
      return LoadDataFile(context.spec.file(), context.data_root);
    case v1::ProblemSpec::kSynthetic:
      return GenerateSynthetic(context.spec.synthetic(), /*keep=*/nullptr);
    default:
      return absl::InvalidArgumentError("problem.file or problem.synthetic is required");
  }
}

LinearConstraints FreeFirstStage(int64_t dimension) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  LinearConstraints first;
  first.c = Vector::Zero(dimension);
  first.a.resize(0, dimension);
  first.row_lower.resize(0);
  first.row_upper.resize(0);
  first.lower = Vector::Constant(dimension, -kInf);
  first.upper = Vector::Constant(dimension, kInf);
  return first;
}

}  // namespace

L1Regression::L1Regression(Matrix a, Vector b, std::string description)
    : a_(std::move(a)),
      b_(std::move(b)),
      description_(std::move(description)),
      first_stage_(FreeFirstStage(a_.cols())) {}

absl::StatusOr<std::unique_ptr<L1Regression>> L1Regression::Create(const ProblemContext& context) {
  RETURN_IF_ERROR(CheckProblemSpec(context.spec));
  ASSIGN_OR_RETURN(Dataset data, LoadAllRows(context));
  const bool intercept = context.spec.l1_regression().intercept();
  const int64_t features = data.features.cols();
  // The rows become cuts of a Clp master LP: keep them to what Clp takes.
  const std::string& name = context.spec.source_case() == v1::ProblemSpec::kFile
                                ? context.spec.file().path()
                                : data.source;
  for (int64_t i = 0; i < data.features.rows(); ++i) {
    if (!IsLpNumber(data.labels(i))) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": row ", i + 1,
                                                     ", the label is beyond +-",
                                                     kMaxLpMagnitudeText, " (Clp's limit)"));
    }
    for (int64_t k = 0; k < features; ++k) {
      if (!IsLpNumber(data.features(i, k))) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": row ", i + 1, ", feature ", k + 1,
                                                       " is beyond +-", kMaxLpMagnitudeText,
                                                       " (Clp's limit)"));
      }
    }
  }
  if (features == 0 && !intercept) {
    return absl::InvalidArgumentError(
        absl::StrCat(data.source, " has no features (and there is no intercept)"));
  }
  std::string description = absl::StrCat(
      "l1_regression: ", data.features.rows(), " rows of ", data.source, ", ", features,
      features == 1 ? " feature" : " features", intercept ? " + intercept" : "");
  Matrix a;
  if (intercept) {
    a.resize(data.features.rows(), features + 1);
    a.leftCols(features) = data.features;
    a.col(features).setOnes();
  } else {
    a = std::move(data.features);
  }
  return std::make_unique<L1Regression>(std::move(a), std::move(data.labels),
                                        std::move(description));
}

absl::StatusOr<PieceEvaluation> L1Regression::Evaluate(int64_t j,
                                                       const Eigen::Ref<const Vector>& x) {
  if (j < 0 || j >= pieces()) {
    return absl::OutOfRangeError(
        absl::StrCat("l1_regression: piece ", j, " is not in [0, ", pieces(), ")"));
  }
  if (x.size() != dimension()) {
    return absl::InvalidArgumentError(
        absl::StrCat("l1_regression: x has size ", x.size(), ", the dimension is ", dimension()));
  }
  // Values and subgradients go into a Clp master LP.
  RETURN_IF_ERROR(CheckLpVector("l1_regression: x", x));
  const auto row = a_.row(j);
  const double residual = row.dot(x) - b_(j);
  PieceEvaluation evaluation;
  evaluation.value = std::abs(residual);
  const double sign = residual > 0 ? 1.0 : (residual < 0 ? -1.0 : 0.0);
  evaluation.subgradient = sign * row.transpose();
  return evaluation;
}

double L1Regression::Objective(const Eigen::Ref<const Vector>& x) const {
  return (a_ * x - b_).lpNorm<1>();
}

absl::StatusOr<std::unique_ptr<Problem>> NewL1Regression(const ProblemContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<L1Regression> problem, L1Regression::Create(context));
  return std::unique_ptr<Problem>(std::move(problem));
}

AIA_REGISTER(ProblemRegistry(), "l1_regression", NewL1Regression);

}  // namespace aia
