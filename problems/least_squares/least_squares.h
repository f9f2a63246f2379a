// Least squares: f(x) = sum over the rows i held of 1/2 (a_i' x - b_i)^2, as
// LRMSE in AsynchronousIterativeAlgorithms.jl. Registered as "least_squares".
//
// Config (ProblemSpec):
//   name: "least_squares"
//   file { path: "ml/heart_scale" }            # or synthetic { rows columns
//   seed noise } least_squares { intercept: true }          # optional: append
//   a column of ones
//
// Each worker holds its shard of the rows (ProblemSpec.sharding); dimension()
// is the full data set's number of features (+1 with an intercept), the same on
// every worker, so the sum of the workers' objectives is the objective on all
// the data.
//
// Example:
//   ProblemContext context{spec, "/srv/data", /*worker_index=*/0,
//   /*worker_count=*/2}; ASSIGN_OR_RETURN(std::unique_ptr<LeastSquares>
//   problem, LeastSquares::Create(context)); Vector g; problem->Gradient(x, g);
//   // A'(Ax - b) over this worker's rows
//
// Thread safety: immutable after construction; every method may be called from
// several threads at once.
#ifndef AIA_PROBLEMS_LEAST_SQUARES_LEAST_SQUARES_H_
#define AIA_PROBLEMS_LEAST_SQUARES_LEAST_SQUARES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "problems/problem.h"

namespace aia {

class LeastSquares : public FiniteSumProblem {
 public:
  // Builds this worker's problem from `context` (see problems/data.h for the
  // sources and errors). Also InvalidArgument for another problem's parameters
  // or fields this build does not know, and for data with no features and no
  // intercept.
  static absl::StatusOr<std::unique_ptr<LeastSquares>> Create(const ProblemContext& context);

  // `a`: rows × dimension, `b`: rows labels; `description` for Describe().
  LeastSquares(Matrix a, Vector b, std::string description);
  // An instance that holds every row of a data set sharded by `sharding`.
  void set_all_rows(v1::ProblemSpec::Sharding sharding) {
    all_rows_ = true;
    sharding_ = sharding;
  }

  int64_t dimension() const override { return a_.cols(); }
  int64_t rows() const override { return a_.rows(); }
  std::string Describe() const override { return description_; }
  std::string digest() const override;
  int64_t memory_bytes() const override { return (a_.size() + b_.size()) * sizeof(double); }
  // Known when this instance holds every row (the coordinator's central problem).
  std::string ShardDigest(int index, int count) const override;

  // 1/2 ||A x - b||^2.
  double Objective(const Eigen::Ref<const Vector>& x) const override;
  // A'(A x - b).
  void Gradient(const Eigen::Ref<const Vector>& x, Vector& gradient) const override;
  // a_i (a_i' x - b_i), for 0 <= i < rows().
  void RowGradient(const Eigen::Ref<const Vector>& x, int64_t i, Vector& gradient) const override;

  // This worker's rows (with the column of ones last if intercept) and labels.
  const Matrix& A() const { return a_; }
  const Vector& b() const { return b_; }

 private:
  Matrix a_;
  Vector b_;
  std::string description_;
  bool all_rows_ = false;
  v1::ProblemSpec::Sharding sharding_ = v1::ProblemSpec::CONTIGUOUS;
};

// The registered factory: LeastSquares::Create.
absl::StatusOr<std::unique_ptr<Problem>> NewLeastSquares(const ProblemContext& context);

}  // namespace aia

#endif  // AIA_PROBLEMS_LEAST_SQUARES_LEAST_SQUARES_H_
