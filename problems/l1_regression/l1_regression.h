// L1 regression (least absolute deviations): f(x) = sum over the rows i of |a_i' x - b_i|,
// as a DecomposableProblem whose pieces are the rows. Registered as "l1_regression".
//
// Config (ProblemSpec):
//   name: "l1_regression"
//   file { path: "ml/stackloss.csv" }   # or synthetic { rows columns seed noise }
//   l1_regression { intercept: true }   # optional: append a column of ones (last)
//
// Pieces and sharding: pieces() == rows() == every row of the data set, on every
// instance (coordinator and workers alike), because cutting-plane tasks may name any
// piece. ProblemSpec.sharding and the context's worker index and count are ignored.
//
// The decomposition: f(x) = c'x + sum_j f_j(x) with c = 0, f_j(x) = |a_j' x - b_j|,
// and a first stage with no rows and free variables (bounds -inf..+inf). A
// subgradient of f_j at x is sign(r_j) a_j with r_j = a_j' x - b_j and sign(0) = 0
// (0 lies in the subdifferential t a_j, t in [-1, 1], of a zero residual, and the
// resulting cut theta_j >= 0 adds nothing false to a cutting-plane model). Every
// f_j >= 0, so piece_lower_bound() is 0.
//
// Example:
//   ProblemContext context{spec, "/srv/data"};
//   ASSIGN_OR_RETURN(std::unique_ptr<L1Regression> problem, L1Regression::Create(context));
//   ASSIGN_OR_RETURN(PieceEvaluation e, problem->Evaluate(/*j=*/3, x));
//   // e.value == |a_3' x - b_3|, e.subgradient == sign(a_3' x - b_3) a_3
//
// Thread safety: immutable after construction (Evaluate keeps no state); every
// method may be called from several threads at once.
#ifndef AIA_PROBLEMS_L1_REGRESSION_L1_REGRESSION_H_
#define AIA_PROBLEMS_L1_REGRESSION_L1_REGRESSION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "problems/digest.h"
#include "problems/problem.h"

namespace aia {

class L1Regression : public DecomposableProblem {
 public:
  // Builds the problem from `context`: all rows of context.spec's file (read with
  // LoadDataFile under context.data_root) or synthetic data (GenerateSynthetic).
  // Errors: InvalidArgument (no source, bad source fields, bad data, another
  // problem's parameters or fields this build does not know, data with no features
  // and no intercept, a label or feature beyond +-kMaxLpMagnitude = 1e20, which a
  // Clp master LP could not take: "stackloss.csv: row 3, feature 2 is beyond
  // +-1e20"), NotFound (missing file), PermissionDenied (path outside the
  // data root).
  static absl::StatusOr<std::unique_ptr<L1Regression>> Create(const ProblemContext& context);

  // `a`: rows × dimension, `b`: rows labels; `description` for Describe().
  L1Regression(Matrix a, Vector b, std::string description);

  int64_t dimension() const override { return a_.cols(); }
  // All rows of the data set (see "Pieces and sharding").
  int64_t rows() const override { return a_.rows(); }
  std::string Describe() const override { return description_; }

  // One piece per row: pieces() == rows().
  int64_t pieces() const override { return a_.rows(); }
  // Every instance holds every row: every shard's digest is this one's.
  std::string digest() const override { return RowsDigest(a_, b_, nullptr); }
  std::string ShardDigest(int, int) const override { return digest(); }
  int64_t memory_bytes() const override { return (a_.size() + b_.size()) * sizeof(double); }
  // c = 0, no rows, every bound infinite.
  const LinearConstraints& first_stage() const override { return first_stage_; }
  // Piece j at x: value |r_j|, subgradient sign(r_j) a_j (sign(0) = 0), always
  // feasible. Errors: OutOfRange for j outside [0, pieces()), InvalidArgument for
  // x.size() != dimension() or an x(k) not finite or beyond +-1e20.
  absl::StatusOr<PieceEvaluation> Evaluate(int64_t j, const Eigen::Ref<const Vector>& x) override;
  double piece_lower_bound() const override { return 0; }

  // f(x) = ||A x - b||_1 over all rows. x.size() == dimension().
  double Objective(const Eigen::Ref<const Vector>& x) const;

  // The rows (with the column of ones last if intercept) and labels.
  const Matrix& A() const { return a_; }
  const Vector& b() const { return b_; }

 private:
  Matrix a_;
  Vector b_;
  std::string description_;
  LinearConstraints first_stage_;
};

// The registered factory: L1Regression::Create.
absl::StatusOr<std::unique_ptr<Problem>> NewL1Regression(const ProblemContext& context);

}  // namespace aia

#endif  // AIA_PROBLEMS_L1_REGRESSION_L1_REGRESSION_H_
