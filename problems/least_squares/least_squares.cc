#include "problems/least_squares/least_squares.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "problems/data.h"
#include "problems/digest.h"
#include "problems/readers.h"

namespace aia {
LeastSquares::LeastSquares(Matrix a, Vector b, std::string description)
    : a_(std::move(a)), b_(std::move(b)), description_(std::move(description)) {}

absl::StatusOr<std::unique_ptr<LeastSquares>> LeastSquares::Create(const ProblemContext& context) {
  RETURN_IF_ERROR(CheckProblemSpec(context.spec));
  ASSIGN_OR_RETURN(DataShard shard, LoadShard(context));
  const bool intercept = context.spec.least_squares().intercept();
  const int64_t features = shard.data.features.cols();
  if (features == 0 && !intercept) {
    return absl::InvalidArgumentError(
        absl::StrCat(shard.data.source, " has no features (and there is no intercept)"));
  }
  std::string description =
      absl::StrCat("least_squares: ", shard.description, ", ", features,
                   features == 1 ? " feature" : " features", intercept ? " + intercept" : "");
  Matrix a;
  if (intercept) {
    a.resize(shard.data.features.rows(), features + 1);
    a.leftCols(features) = shard.data.features;
    a.col(features).setOnes();
  } else {
    a = std::move(shard.data.features);
  }
  auto problem = std::make_unique<LeastSquares>(std::move(a), std::move(shard.data.labels),
                                                std::move(description));
  if (context.worker_count == 1) problem->set_all_rows(context.spec.sharding());
  return problem;
}

std::string LeastSquares::digest() const { return RowsDigest(a_, b_, nullptr); }

std::string LeastSquares::ShardDigest(int index, int count) const {
  if (!all_rows_) return "";
  const std::vector<int64_t> rows = ShardRows(a_.rows(), index, count, sharding_);
  return RowsDigest(a_, b_, &rows);
}

double LeastSquares::Objective(const Eigen::Ref<const Vector>& x) const {
  return 0.5 * (a_ * x - b_).squaredNorm();
}

void LeastSquares::Gradient(const Eigen::Ref<const Vector>& x, Vector& gradient) const {
  const Vector residual = a_ * x - b_;
  gradient.noalias() = a_.transpose() * residual;
}

void LeastSquares::RowGradient(const Eigen::Ref<const Vector>& x, int64_t i,
                               Vector& gradient) const {
  const auto row = a_.row(i);
  gradient = row.transpose() * (row.dot(x) - b_(i));
}

absl::StatusOr<std::unique_ptr<Problem>> NewLeastSquares(const ProblemContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<LeastSquares> problem, LeastSquares::Create(context));
  return std::unique_ptr<Problem>(std::move(problem));
}

AIA_REGISTER(ProblemRegistry(), "least_squares", NewLeastSquares);

}  // namespace aia
