// The master LP of cutting-plane methods (Kelley's method, the L-shaped method and
// Linderoth & Wright's asynchronous trust-region method ATR): a polyhedral model of
//   f(x) = c'x + sum over blocks b of F_b(x),   each F_b convex,
// minimized over the first-stage set, solved with COIN-OR Clp.
//
//   min  c'x + sum_b theta_b
//   s.t. row_lower <= A x <= row_upper,  lower <= x <= upper     (first stage)
//        theta_b >= theta_lower_bound                              (every block)
//        theta_b >= v + g'(x - x0)   for each optimality cut (b, v, g, x0),
//                                    stored as  theta_b - g'x >= v - g'x0
//        g'x >= r                    for each feasibility cut (g, r)
//        |x - center|_inf <= radius  optional trust region, applied as column
//                                    bounds intersected with [lower, upper]
//
// A block is whatever the caller sums into one theta: one piece of a
// DecomposableProblem (multi-cut), a group of pieces (their values and subgradients
// added), or all of them (single cut). An optimality cut for block b from an
// evaluation of F_b at x0 with value v and subgradient g is valid when
// F_b(y) >= v + g'(y - x0) for all y, which every exact subgradient gives.
//
// Solve() re-solves with the dual simplex from the previous optimal basis: added
// rows enter with their slacks basic and changed column bounds keep the basis, so
// the old basis stays dual feasible and a few pivots usually suffice.
//
// Example (Kelley's method on a DecomposableProblem with one block per piece):
//   ASSIGN_OR_RETURN(std::unique_ptr<CutModel> model,
//                    CutModel::Create(problem.first_stage(), problem.pieces(),
//                                     problem.piece_lower_bound()));
//   for (;;) {
//     ASSIGN_OR_RETURN(CutModel::Solution s, model->Solve());
//     double f = problem.first_stage().c.dot(s.x);
//     bool feasible = true;
//     for (int64_t j = 0; j < problem.pieces(); ++j) {
//       ASSIGN_OR_RETURN(PieceEvaluation e, problem.Evaluate(j, s.x));
//       if (!e.feasible) {
//         feasible = false;
//         RETURN_IF_ERROR(model->AddFeasibilityCut(e.subgradient, e.value));
//         continue;
//       }
//       f += e.value;
//       RETURN_IF_ERROR(model->AddOptimalityCut(j, e.value, e.subgradient, s.x));
//     }
//     // s.value <= min f <= f(s.x) when s.x is feasible.
//     if (feasible && f - s.value <= 1e-9 * std::max(1.0, std::abs(f))) break;
//   }
//
// Thread safety: thread-compatible. A CutModel is one Clp model with its basis;
// calls must not overlap (an asynchronous master owns it under its mutex).
#ifndef AIA_ALGORITHMS_CUTTING_PLANE_MASTER_H_
#define AIA_ALGORITHMS_CUTTING_PLANE_MASTER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "problems/problem.h"

class ClpSimplex;

namespace aia {

class CutModel {
 public:
  // The model with the first-stage constraints of `first` (dimension n = first.c.size(),
  // A n columns or empty, row bounds of A's rows, x bounds of size n, each
  // lower <= upper, infinities allowed), `blocks` >= 0 thetas, each bounded below by
  // `theta_lower_bound_per_block` (finite or -infinity; with -infinity the master is
  // unbounded until every block has cuts that bound it). InvalidArgument for
  // inconsistent sizes, NaN, lower > upper, or a lower bound of +infinity.
  static absl::StatusOr<std::unique_ptr<CutModel>> Create(const LinearConstraints& first,
                                                          int blocks,
                                                          double theta_lower_bound_per_block);
  ~CutModel();
  CutModel(const CutModel&) = delete;
  CutModel& operator=(const CutModel&) = delete;

  // theta_block >= value + subgradient'(x - at). InvalidArgument when block is not in
  // [0, blocks()), a size is not dimension() or a number is not finite; the model is
  // then unchanged.
  absl::Status AddOptimalityCut(int block, double value,
                                const Eigen::Ref<const Vector>& subgradient,
                                const Eigen::Ref<const Vector>& at);
  // g'x >= r (from a piece infeasible at some x). InvalidArgument as above.
  absl::Status AddFeasibilityCut(const Eigen::Ref<const Vector>& g, double r);

  // Restricts the next solves to |x - center|_inf <= radius (intersected with the
  // first-stage bounds on x), replacing any earlier trust region; radius = +infinity
  // clears it. InvalidArgument for a wrong size, a non-finite center or a radius
  // that is NaN or negative.
  absl::Status SetTrustRegion(const Eigen::Ref<const Vector>& center, double radius);

  struct Solution {
    Vector x;
    // c'x + sum_b theta_b: the minimum of the model; a lower bound on min f over the
    // first stage (over the trust region if one is set).
    double value = 0;
    // One per block; theta(b) == max(lower bound, block b's cuts at x) at an optimum.
    Vector theta;
    // Simplex iterations this solve took (0 when nothing changed).
    int iterations = 0;
  };
  // Minimizes the model, warm-started from the previous basis. Errors:
  // FailedPrecondition when the master is infeasible (the first stage, trust region
  // and feasibility cuts admit no x; the message says which parts take part) or
  // unbounded (blocks without cuts and a theta lower bound of -infinity, or c'x
  // unbounded over an unbounded first stage); Aborted when Clp gives up on
  // numerical difficulties (after retrying with the primal simplex).
  absl::StatusOr<Solution> Solve();

  // The model at x: c'x + sum_b max(theta lower bound, max over block b's cuts of
  // v + g'(x - x0)); -infinity when a block has no cuts and no finite lower bound.
  // Feasibility cuts and the trust region are not part of it. x.size() == dimension().
  double ModelValue(const Eigen::Ref<const Vector>& x) const;

  // Removes the cuts whose rows have been slack (basic) in the last `min_age`
  // consecutive optimal Solve()s, and returns how many. Dropping slack rows keeps
  // the basis, so the next Solve() needs no extra pivots and returns the same
  // point; the model becomes weaker elsewhere (ModelValue can only decrease).
  // min_age >= 1; feasibility cuts are aged and dropped like optimality cuts.
  int DropInactiveCuts(int min_age);

  // Cuts in the model (optimality and feasibility).
  int64_t cuts() const { return static_cast<int64_t>(cuts_.size()); }
  int64_t dimension() const { return c_.size(); }
  int blocks() const { return blocks_; }
  // Simplex iterations over all solves.
  int64_t total_iterations() const { return total_iterations_; }

 private:
  struct Cut {
    int block;  // -1 for a feasibility cut
    Vector g;   // the coefficients of x: theta_b >= constant + g'x, or g'x >= constant
    double constant;
    int age = 0;  // consecutive optimal solves with the row basic
  };

  CutModel(const LinearConstraints& first, int blocks, double theta_lower_bound);
  void AddRow(const Cut& cut);
  void ApplyColumnBounds();

  const Vector c_;
  const Vector lower_, upper_;
  const int blocks_;
  const double theta_lower_bound_;
  const int first_stage_rows_;
  std::unique_ptr<ClpSimplex> lp_;
  std::vector<Cut> cuts_;  // in row order, after the first-stage rows
  Vector center_;          // empty: no trust region
  double radius_ = 0;
  int64_t total_iterations_ = 0;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_CUTTING_PLANE_MASTER_H_
