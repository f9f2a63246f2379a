#include "problems/two_stage_lp/two_stage_lp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "ClpSimplex.hpp"
#include "CoinPackedMatrix.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "problems/lp_values.h"

namespace aia {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Loads `w` (rows x cols) with the given bounds and costs into `model`.
void Load(const SparseRowMatrix& w, const Vector& col_lower, const Vector& col_upper,
          const Vector& cost, const Vector& row_lower, const Vector& row_upper, ClpSimplex& model) {
  std::vector<int> rows, cols;
  std::vector<double> elements;
  for (int r = 0; r < w.outerSize(); ++r) {
    for (SparseRowMatrix::InnerIterator it(w, r); it; ++it) {
      rows.push_back(r);
      cols.push_back(it.col());
      elements.push_back(it.value());
    }
  }
  CoinPackedMatrix matrix(/*colordered=*/true, rows.data(), cols.data(), elements.data(),
                          static_cast<CoinBigIndex>(elements.size()));
  matrix.setDimensions(w.rows(), w.cols());
  std::vector<double> cl(col_lower.size()), cu(col_upper.size()), rl(row_lower.size()),
      ru(row_upper.size());
  for (int c = 0; c < col_lower.size(); ++c) {
    cl[c] = ToClp(col_lower(c));
    cu[c] = ToClp(col_upper(c));
  }
  for (int r = 0; r < row_lower.size(); ++r) {
    rl[r] = ToClp(row_lower(r));
    ru[r] = ToClp(row_upper(r));
  }
  model.setLogLevel(0);
  model.loadProblem(matrix, cl.data(), cu.data(), cost.data(), rl.data(), ru.data());
}

// Solves with the dual simplex; on a stop without a proof (numerical trouble,
// iteration limit) retries once from the slack basis with the primal simplex.
void Solve(ClpSimplex& model) {
  model.dual();
  if (model.isProvenOptimal() || model.isProvenPrimalInfeasible() ||
      model.isProvenDualInfeasible()) {
    return;
  }
  model.allSlackBasis(true);
  model.primal();
}

absl::Status CheckSpec(const v1::ProblemSpec& spec) {
  RETURN_IF_ERROR(CheckProblemSpec(spec));
  if (spec.source_case() != v1::ProblemSpec::kSmps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", spec.name(), "' needs source problem.smps { cor tim sto } (got source field ",
        static_cast<int>(spec.source_case()), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

TwoStageLp::TwoStageLp(TwoStageProgram program, std::string description, Options options)
    : program_(std::move(program)),
      description_(std::move(description)),
      options_(options),
      model_(std::make_unique<ClpSimplex>()),
      bases_(program_.scenarios.size()) {
  Load(program_.w, program_.y_lower, program_.y_upper, program_.q, program_.row_lower,
       program_.row_upper, *model_);
  // The y-box bound of each scenario's recourse value.
  auto box_min = [&](int c, double q) {
    if (q > 0) return q * program_.y_lower(c);
    if (q < 0) return q * program_.y_upper(c);
    return 0.0;
  };
  double core = 0;
  for (int c = 0; c < program_.q.size(); ++c) core += box_min(c, program_.q(c));
  lower_bound_ = kInf;
  for (const Scenario& s : program_.scenarios) {
    double bound = core;
    for (const Change& change : s.changes) {
      if (change.kind != Change::Kind::kCost) continue;
      bound += box_min(change.col, change.value) - box_min(change.col, program_.q(change.col));
    }
    // -inf (an unbounded box) or NaN (inf - inf) leaves no bound.
    if (!std::isfinite(bound)) {
      lower_bound_ = DecomposableProblem::piece_lower_bound();
      break;
    }
    lower_bound_ = std::min(lower_bound_, s.probability * (bound + program_.objective_constant));
  }
  if (!std::isfinite(lower_bound_)) lower_bound_ = DecomposableProblem::piece_lower_bound();
}

TwoStageLp::~TwoStageLp() = default;

Vector TwoStageLp::TechnologyTimes(int64_t j, const Eigen::Ref<const Vector>& x) const {
  Vector tx = program_.t * x;
  for (const Change& c : program_.scenarios[j].changes) {
    if (c.kind == Change::Kind::kTechnology) {
      tx(c.row) += (c.value - program_.t.coeff(c.row, c.col)) * x(c.col);
    }
  }
  return tx;
}

Vector TwoStageLp::TechnologyTransposeTimes(int64_t j, const Vector& v) const {
  Vector g = program_.t.transpose() * v;
  for (const Change& c : program_.scenarios[j].changes) {
    if (c.kind == Change::Kind::kTechnology) {
      g(c.col) += (c.value - program_.t.coeff(c.row, c.col)) * v(c.row);
    }
  }
  return g;
}

absl::StatusOr<PieceEvaluation> TwoStageLp::Evaluate(int64_t j, const Eigen::Ref<const Vector>& x) {
  if (j < 0 || j >= pieces()) {
    return absl::OutOfRangeError(absl::StrCat("scenario ", j, " is not in [0, ", pieces(), ")"));
  }
  if (x.size() != dimension()) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has size ", x.size(), ", the dimension is ", dimension()));
  }
  // Clp aborts on bounds it cannot take (x = 1e99 did): x and the row bounds it
  // gives stay within kMaxLpMagnitude.
  RETURN_IF_ERROR(CheckLpVector("x", x));
  const Scenario& scenario = program_.scenarios[j];
  // Scenario row bounds on W y: its own bounds shifted by -T_j x.
  Vector lower = program_.row_lower, upper = program_.row_upper;
  for (const Change& c : scenario.changes) {
    if (c.kind == Change::Kind::kRhs) {
      lower(c.row) += c.value - program_.rhs(c.row);
      upper(c.row) += c.value - program_.rhs(c.row);
    }
  }
  const Vector tx = TechnologyTimes(j, x);
  const int m2 = program_.w.rows(), n2 = program_.w.cols();
  for (int r = 0; r < m2; ++r) {
    if (!IsLpBound(lower(r) - tx(r)) || !IsLpBound(upper(r) - tx(r))) {
      // Rows by number, not name: the names are the data file's content.
      return absl::InvalidArgumentError(absl::StrCat(
          "x is too large for scenario ", j, ": it moves the bounds of second-stage row ", r + 1,
          " (in core order) beyond +-", kMaxLpMagnitudeText,
          " (T x is not finite or too large for Clp)"));
    }
  }

  absl::MutexLock lock(&mu_);
  ClpSimplex& model = *model_;
  double* row_lower = model.rowLower();
  double* row_upper = model.rowUpper();
  for (int r = 0; r < m2; ++r) {
    row_lower[r] = ToClp(lower(r) - tx(r));
    row_upper[r] = ToClp(upper(r) - tx(r));
  }
  double* cost = model.objective();
  for (const Change& c : scenario.changes) {
    if (c.kind == Change::Kind::kCost) cost[c.col] = c.value;
    if (c.kind == Change::Kind::kRecourse) model.modifyCoefficient(c.row, c.col, c.value, true);
  }
  if (!options_.warm_start) {
    model.allSlackBasis(true);
  } else if (!bases_[j].empty()) {
    model.copyinStatus(bases_[j].data());
  }
  // Arrays were changed in place: have Clp rebuild its working copies.
  model.setWhatsChanged(0);
  Solve(model);

  absl::StatusOr<PieceEvaluation> result;
  const double p = scenario.probability;
  if (model.isProvenOptimal()) {
    PieceEvaluation piece;
    piece.value = p * (model.objectiveValue() + program_.objective_constant);
    const Vector pi = Eigen::Map<const Vector>(model.dualRowSolution(), m2);
    piece.subgradient = -p * TechnologyTransposeTimes(j, pi);
    result = std::move(piece);
    if (options_.warm_start) {
      const unsigned char* status = model.statusArray();
      bases_[j].assign(status, status + m2 + n2);
    }
  } else if (model.isProvenPrimalInfeasible()) {
    result = FeasibilityCut(j, x, lower, upper);
  } else if (model.isProvenDualInfeasible()) {
    result = absl::FailedPreconditionError(
        absl::StrCat("the recourse LP of scenario ", j, " is unbounded at x"));
  } else {
    result = absl::AbortedError(absl::StrCat("Clp stopped on the recourse LP of scenario ", j,
                                             " with status ", model.status(), "/",
                                             model.secondaryStatus()));
  }
  // Back to the core for the next scenario.
  for (const Change& c : scenario.changes) {
    if (c.kind == Change::Kind::kCost) cost[c.col] = program_.q(c.col);
    if (c.kind == Change::Kind::kRecourse) {
      model.modifyCoefficient(c.row, c.col, program_.w.coeff(c.row, c.col), true);
    }
  }
  if (!result.ok() || !result->feasible) model.allSlackBasis(true);
  return result;
}

absl::StatusOr<PieceEvaluation> TwoStageLp::FeasibilityCut(int64_t j,
                                                           const Eigen::Ref<const Vector>& x,
                                                           const Vector& lower,
                                                           const Vector& upper) {
  const int m2 = program_.w.rows(), n2 = program_.w.cols();
  std::unique_ptr<double[]> ray(options_.ray_cuts ? model_->infeasibilityRay() : nullptr);
  if (ray != nullptr) {
    Vector rho = Eigen::Map<const Vector>(ray.get(), m2);
    const double scale = rho.lpNorm<Eigen::Infinity>();
    if (scale > 0) rho /= scale;
    for (int r = 0; r < m2; ++r) {
      if (std::abs(rho(r)) < 1e-12) rho(r) = 0;
    }
    // W_j' rho with the scenario's recourse matrix.
    Vector wr = program_.w.transpose() * rho;
    for (const Change& c : program_.scenarios[j].changes) {
      if (c.kind == Change::Kind::kRecourse) {
        wr(c.col) += (c.value - program_.w.coeff(c.row, c.col)) * rho(c.row);
      }
    }
    const double tolerance = 1e-9 * std::max(1.0, wr.lpNorm<Eigen::Infinity>());
    for (const double sign : {1.0, -1.0}) {
      // min over the y box of sign (W'rho)'y, and sign rho'(bound of each row).
      double y_min = 0, bounds = 0;
      for (int c = 0; c < n2 && std::isfinite(y_min); ++c) {
        const double a = sign * wr(c);
        if (std::abs(a) <= tolerance) continue;
        y_min += a * (a > 0 ? program_.y_lower(c) : program_.y_upper(c));
      }
      for (int r = 0; r < m2 && std::isfinite(bounds); ++r) {
        const double a = sign * rho(r);
        if (a != 0) bounds += a * (a > 0 ? upper(r) : lower(r));
      }
      if (!std::isfinite(y_min) || !std::isfinite(bounds)) continue;
      PieceEvaluation cut;
      cut.feasible = false;
      cut.subgradient = -sign * TechnologyTransposeTimes(j, rho);
      cut.value = y_min - bounds;
      const double violation = cut.value - cut.subgradient.dot(x);
      if (violation > 1e-9 * std::max(1.0, std::abs(cut.value))) return cut;
    }
  }
  return PhaseOneCut(j, x, lower, upper);
}

absl::StatusOr<PieceEvaluation> TwoStageLp::PhaseOneCut(int64_t j,
                                                        const Eigen::Ref<const Vector>& x,
                                                        const Vector& lower,
                                                        const Vector& upper) const {
  // min 1'(s+ + s-)  s.t.  lower - T_j x <= W_j y + s+ - s- <= upper - T_j x.
  const ScenarioRecourse s = ApplyScenario(program_, j);
  const int m2 = s.w.rows(), n2 = s.w.cols();
  std::vector<Eigen::Triplet<double>> entries;
  for (int r = 0; r < m2; ++r) {
    for (SparseRowMatrix::InnerIterator it(s.w, r); it; ++it) {
      entries.emplace_back(r, it.col(), it.value());
    }
    entries.emplace_back(r, n2 + r, 1.0);
    entries.emplace_back(r, n2 + m2 + r, -1.0);
  }
  SparseRowMatrix w(m2, n2 + 2 * m2);
  w.setFromTriplets(entries.begin(), entries.end());
  Vector col_lower(n2 + 2 * m2), col_upper(n2 + 2 * m2), cost(n2 + 2 * m2);
  col_lower << program_.y_lower, Vector::Zero(2 * m2);
  col_upper << program_.y_upper, Vector::Constant(2 * m2, kInf);
  cost << Vector::Zero(n2), Vector::Ones(2 * m2);
  const Vector tx = TechnologyTimes(j, x);
  ClpSimplex model;
  Load(w, col_lower, col_upper, cost, lower - tx, upper - tx, model);
  Solve(model);
  if (!model.isProvenOptimal() || model.objectiveValue() <= 0) {
    return absl::AbortedError(
        absl::StrCat("the recourse LP of scenario ", j,
                     " is infeasible but no feasibility cut was found (phase-1 status ",
                     model.status(), ", value ", model.objectiveValue(), ")"));
  }
  PieceEvaluation cut;
  cut.feasible = false;
  const Vector pi = Eigen::Map<const Vector>(model.dualRowSolution(), m2);
  cut.subgradient = TechnologyTransposeTimes(j, pi);
  cut.value = model.objectiveValue() + cut.subgradient.dot(x);
  return cut;
}

absl::StatusOr<std::unique_ptr<TwoStageLp>> TwoStageLp::Create(const ProblemContext& context) {
  RETURN_IF_ERROR(CheckSpec(context.spec));
  const v1::SmpsFiles& files = context.spec.smps();
  ASSIGN_OR_RETURN(TwoStageProgram program, ReadSmpsFiles(files, context.data_root));
  if (program.scenarios.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(files.sto(), ": no scenarios"));
  }
  std::string description =
      absl::StrCat("two_stage_lp: ", program.name.empty() ? files.cor() : program.name, " (",
                   files.sto(), "): first stage ", program.first.a.rows(), " rows x ",
                   program.first.c.size(), " columns, second stage ", program.w.rows(), " x ",
                   program.w.cols(), ", ", program.scenarios.size(), " scenarios");
  if (program.sampled) {
    absl::StrAppend(&description, " sampled (seed ", files.seed(), ") from ",
                    program.distribution_size);
  }
  return std::make_unique<TwoStageLp>(std::move(program), std::move(description));
}

absl::StatusOr<std::unique_ptr<Problem>> NewTwoStageLp(const ProblemContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<TwoStageLp> problem, TwoStageLp::Create(context));
  return std::unique_ptr<Problem>(std::move(problem));
}

AIA_REGISTER(ProblemRegistry(), "two_stage_lp", NewTwoStageLp);

}  // namespace aia
