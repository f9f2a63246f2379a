// Two-stage stochastic linear programs as decomposable problems, for
// cutting-plane methods (Linderoth & Wright's asynchronous L-shaped method).
// Registered as "two_stage_lp".
//
//   f(x) = c'x + sum_j f_j(x),   f_j(x) = p_j (Q_j(x) + objective_constant),
//   Q_j(x) = min q_j'y  s.t.  row_lower_j - T_j x <= W_j y <= row_upper_j - T_j x,
//                             y_lower <= y <= y_upper,
//
// over the first stage first_stage() (A, bounds). The program's objective
// constant goes into the pieces (weighted by p_j, so it adds up to the constant
// over all pieces); c'x is exactly the core's first-stage costs.
//
// Config (ProblemSpec):
//   name: "two_stage_lp"
//   smps { cor: "smps/posts/storm/stormg2.cor" tim: "smps/posts/storm/stormg2.tim"
//          sto: "smps/posts/storm/stormg2-8.sto" }      # sample: 0 = every scenario
//   two_stage_lp {}                                     # optional; no fields yet
//
// Every worker reads the whole program and may evaluate any scenario: tasks name
// pieces, so ProblemSpec.sharding and the worker's index do not apply. With
// smps.sample > 0 every worker draws the same sample (same seed).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<TwoStageLp> problem, TwoStageLp::Create(context));
//   ASSIGN_OR_RETURN(PieceEvaluation piece, problem->Evaluate(j, x));
//   if (piece.feasible) {
//     // f_j(z) >= piece.value + piece.subgradient' (z - x) for every z
//   } else {
//     // every x' with f_j(x') < inf has piece.subgradient' x' >= piece.value;
//     // x does not
//   }
//
// Evaluate solves scenario j's recourse LP with Clp's dual simplex on one
// ClpSimplex model that holds the core W; a scenario's changes are applied
// before the solve and undone after. Warm start: the final basis of each
// scenario is kept (rows + columns bytes per scenario: 1.8 kB for storm) and
// the next evaluation of that scenario starts from it; a scenario not solved
// before starts from the last basis of any scenario.
//
// Subgradient: with pi the row duals of the optimal recourse LP (Clp's
// convention for minimization: pi_i = d(optimal value)/d(bound of row i)), the
// row bounds move by -T_j x, so -p_j T_j' pi is a subgradient of f_j at x.
//
// Feasibility cuts: when the recourse LP is infeasible, Clp's dual simplex
// gives a dual ray rho; it is checked to certify infeasibility (with either
// sign) and turned into rho'(bound chosen by the sign of rho) - rho'T_j x' >=
// min over the y box of (W_j'rho)'y, i.e. g = -T_j'rho, r = that minimum minus
// rho'(chosen bounds). If the ray does not check out (Clp 1.17 often returns a
// ray that certifies nothing: 7 of 9 in the tests), the cut comes from the
// phase-1 LP min sum |slack| (value v > 0, duals pi): g = T_j'pi, r = v + g'x,
// an extra LP with 2 m2 slack columns solved from scratch.
//
// Thread safety: const methods may be called from several threads at once.
// Evaluate is serialized by an internal mutex (one Clp model per instance); for
// parallel evaluation create one instance per thread.
#ifndef AIA_PROBLEMS_TWO_STAGE_LP_TWO_STAGE_LP_H_
#define AIA_PROBLEMS_TWO_STAGE_LP_TWO_STAGE_LP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/eigen.h"
#include "problems/problem.h"
#include "problems/smps/smps.h"

class ClpSimplex;

namespace aia {

class TwoStageLp : public DecomposableProblem {
 public:
  struct Options {
    // Start each recourse solve from the scenario's previous basis (see above);
    // false starts every solve from the slack basis (for tests and timing).
    bool warm_start = true;
    // Derive feasibility cuts from Clp's dual ray (checked); false always uses
    // the phase-1 LP.
    bool ray_cuts = true;
  };

  // Reads context.spec.smps() under context.data_root (see ReadSmpsFiles for
  // the errors). Also InvalidArgument when the source is not smps, for another
  // problem's parameters, or for fields this build does not know.
  static absl::StatusOr<std::unique_ptr<TwoStageLp>> Create(const ProblemContext& context);

  // `program` must have at least one scenario; `description` for Describe().
  TwoStageLp(TwoStageProgram program, std::string description, Options options);
  TwoStageLp(TwoStageProgram program, std::string description)
      : TwoStageLp(std::move(program), std::move(description), Options()) {}
  ~TwoStageLp() override;

  // First-stage columns.
  int64_t dimension() const override { return program_.first.c.size(); }
  // Scenarios (every instance holds all of them).
  int64_t rows() const override { return pieces(); }
  std::string Describe() const override { return description_; }

  int64_t pieces() const override { return program_.scenarios.size(); }
  const LinearConstraints& first_stage() const override { return program_.first; }
  // f_j at x (see above). Errors: OutOfRange for j not in [0, pieces()),
  // InvalidArgument for x of the wrong size, with an x(k) that is not finite or
  // beyond +-kMaxLpMagnitude (1e20), or for an x that moves a row bound of the
  // recourse LP (row bound - T_j x) beyond it; FailedPrecondition
  // for an unbounded recourse LP (the problem is not a proper two-stage
  // program), Aborted when Clp stops without an answer.
  absl::StatusOr<PieceEvaluation> Evaluate(int64_t j, const Eigen::Ref<const Vector>& x) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // min_j p_j (L_j + objective_constant) with L_j = min of q_j'y over the y
  // bounds alone, when every L_j is finite (e.g. q >= 0 and y >= 0: storm,
  // LandS); else the default.
  double piece_lower_bound() const override { return lower_bound_; }

  const TwoStageProgram& program() const { return program_; }

 private:
  // Scenario j's T_j x (m2).
  Vector TechnologyTimes(int64_t j, const Eigen::Ref<const Vector>& x) const;
  // T_j' v (n1).
  Vector TechnologyTransposeTimes(int64_t j, const Vector& v) const;
  absl::StatusOr<PieceEvaluation> FeasibilityCut(int64_t j, const Eigen::Ref<const Vector>& x,
                                                 const Vector& lower, const Vector& upper)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<PieceEvaluation> PhaseOneCut(int64_t j, const Eigen::Ref<const Vector>& x,
                                              const Vector& lower, const Vector& upper) const;

  const TwoStageProgram program_;
  const std::string description_;
  const Options options_;
  double lower_bound_;

  absl::Mutex mu_;
  std::unique_ptr<ClpSimplex> model_ ABSL_GUARDED_BY(mu_);
  // Final basis (Clp status array) of each scenario; empty until solved.
  std::vector<std::vector<unsigned char>> bases_ ABSL_GUARDED_BY(mu_);
};

// The registered factory: TwoStageLp::Create.
absl::StatusOr<std::unique_ptr<Problem>> NewTwoStageLp(const ProblemContext& context);

}  // namespace aia

#endif  // AIA_PROBLEMS_TWO_STAGE_LP_TWO_STAGE_LP_H_
