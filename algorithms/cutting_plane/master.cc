#include "algorithms/cutting_plane/master.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "ClpSimplex.hpp"
#include "CoinFinite.hpp"
#include "absl/strings/str_cat.h"
#include "problems/lp_values.h"

namespace aia {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Status CheckVector(const char* what, const Eigen::Ref<const Vector>& v, int64_t size) {
  if (v.size() != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: ", what, " has size ", v.size(), ", the dimension is ", size));
  }
  // Numbers Clp cannot take abort it: every one stays within kMaxLpMagnitude.
  return CheckLpVector(absl::StrCat("cut model: ", what), v);
}

absl::Status CheckFirstStage(const LinearConstraints& first) {
  const int64_t n = first.c.size();
  const int64_t m = first.a.rows();
  auto bad = [](auto... parts) {
    return absl::InvalidArgumentError(absl::StrCat("cut model: first stage: ", parts...));
  };
  if (absl::Status s = CheckLpVector("cut model: first stage: c", first.c); !s.ok()) return s;
  if (m > 0 && first.a.cols() != n) return bad("A has ", first.a.cols(), " columns, c has ", n);
  if (first.row_lower.size() != m || first.row_upper.size() != m) {
    return bad("A has ", m, " rows but row_lower and row_upper have ", first.row_lower.size(),
               " and ", first.row_upper.size());
  }
  if (first.lower.size() != n || first.upper.size() != n) {
    return bad("c has size ", n, " but lower and upper have ", first.lower.size(), " and ",
               first.upper.size());
  }
  for (int64_t k = 0; k < n; ++k) {
    if (!IsLpBound(first.lower(k)) || !IsLpBound(first.upper(k))) {
      return bad("a bound of x(", k, ") is NaN or finite beyond +-", kMaxLpMagnitudeText);
    }
    if (first.lower(k) > first.upper(k)) {
      return bad("bounds of x(", k, ") are [", first.lower(k), ", ", first.upper(k), "]");
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    if (!IsLpBound(first.row_lower(i)) || !IsLpBound(first.row_upper(i))) {
      return bad("a bound of row ", i, " is NaN or finite beyond +-", kMaxLpMagnitudeText);
    }
    if (first.row_lower(i) > first.row_upper(i)) {
      return bad("bounds of row ", i, " are [", first.row_lower(i), ", ", first.row_upper(i), "]");
    }
  }
  for (Eigen::Index i = 0; i < first.a.outerSize(); ++i) {
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(first.a, i); it; ++it) {
      if (!IsLpNumber(it.value())) {
        return bad("A(", i, ", ", it.col(), ") is not finite or beyond +-", kMaxLpMagnitudeText);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CutModel>> CutModel::Create(const LinearConstraints& first,
                                                           int blocks,
                                                           double theta_lower_bound_per_block) {
  if (absl::Status status = CheckFirstStage(first); !status.ok()) return status;
  if (blocks < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cut model: blocks must be >= 0, not ", blocks));
  }
  if (theta_lower_bound_per_block != -kInf && !IsLpNumber(theta_lower_bound_per_block)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: the theta lower bound must be -infinity or finite within +-",
                     kMaxLpMagnitudeText, ", not ", theta_lower_bound_per_block));
  }
  return std::unique_ptr<CutModel>(new CutModel(first, blocks, theta_lower_bound_per_block));
}

CutModel::CutModel(const LinearConstraints& first, int blocks, double theta_lower_bound)
    : c_(first.c),
      lower_(first.lower),
      upper_(first.upper),
      blocks_(blocks),
      theta_lower_bound_(theta_lower_bound),
      first_stage_rows_(static_cast<int>(first.a.rows())),
      lp_(std::make_unique<ClpSimplex>()) {
  lp_->setLogLevel(0);
  // No scaling: Clp computes scale factors once, and the dual simplex warm-started
  // after rows were added then stopped short of the optimum (found on 20term with
  // alpha = 0.6: the warm value exceeded a cold solve's by 2%).
  lp_->scaling(0);
  const int n = static_cast<int>(c_.size());
  const int columns = n + blocks_;
  std::vector<double> column_lower(columns), column_upper(columns), objective(columns);
  for (int k = 0; k < n; ++k) {
    column_lower[k] = ToClp(lower_(k));
    column_upper[k] = ToClp(upper_(k));
    objective[k] = c_(k);
  }
  for (int b = n; b < columns; ++b) {
    column_lower[b] = ToClp(theta_lower_bound_);
    column_upper[b] = COIN_DBL_MAX;
    objective[b] = 1;
  }
  const std::vector<CoinBigIndex> empty_starts(columns + 1, 0);
  lp_->addColumns(columns, column_lower.data(), column_upper.data(), objective.data(),
                  empty_starts.data(), nullptr, nullptr);
  lp_->setOptimizationDirection(1);

  if (first_stage_rows_ > 0) {
    Eigen::SparseMatrix<double, Eigen::RowMajor> a = first.a;
    a.makeCompressed();
    std::vector<CoinBigIndex> starts(first_stage_rows_ + 1);
    for (int i = 0; i <= first_stage_rows_; ++i) starts[i] = a.outerIndexPtr()[i];
    std::vector<int> indices(a.innerIndexPtr(), a.innerIndexPtr() + a.nonZeros());
    std::vector<double> row_lower(first_stage_rows_), row_upper(first_stage_rows_);
    for (int i = 0; i < first_stage_rows_; ++i) {
      row_lower[i] = ToClp(first.row_lower(i));
      row_upper[i] = ToClp(first.row_upper(i));
    }
    lp_->addRows(first_stage_rows_, row_lower.data(), row_upper.data(), starts.data(),
                 indices.data(), a.valuePtr());
  }
}

CutModel::~CutModel() = default;

void CutModel::AddRow(const Cut& cut) {
  const int n = static_cast<int>(c_.size());
  std::vector<int> columns;
  std::vector<double> elements;
  columns.reserve(n + 1);
  elements.reserve(n + 1);
  // Optimality cut: theta_b - g'x >= constant; feasibility cut: g'x >= constant.
  const double sign = cut.block >= 0 ? -1.0 : 1.0;
  for (int k = 0; k < n; ++k) {
    if (cut.g(k) == 0) continue;
    columns.push_back(k);
    elements.push_back(sign * cut.g(k));
  }
  if (cut.block >= 0) {
    columns.push_back(n + cut.block);
    elements.push_back(1.0);
  }
  const CoinBigIndex starts[2] = {0, static_cast<CoinBigIndex>(columns.size())};
  const double row_lower = cut.constant;
  const double row_upper = COIN_DBL_MAX;
  lp_->addRows(1, &row_lower, &row_upper, starts, columns.data(), elements.data());
  // The new row's slack enters the basis (said, not assumed; before the first solve
  // there is no basis yet), so the previous basis stays valid and dual feasible:
  // the next dual() starts from it.
  if (lp_->statusExists()) lp_->setRowStatus(lp_->numberRows() - 1, ClpSimplex::basic);
}

absl::Status CutModel::AddOptimalityCut(int block, double value,
                                        const Eigen::Ref<const Vector>& subgradient,
                                        const Eigen::Ref<const Vector>& at) {
  if (block < 0 || block >= blocks_) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: block ", block, " is not in [0, ", blocks_, ")"));
  }
  if (!IsLpNumber(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: the value of a cut of block ", block,
                     " is not finite or beyond +-", kMaxLpMagnitudeText));
  }
  if (absl::Status s = CheckVector("subgradient", subgradient, dimension()); !s.ok()) return s;
  if (absl::Status s = CheckVector("cut point", at, dimension()); !s.ok()) return s;
  const double constant = value - subgradient.dot(at);
  if (!IsLpNumber(constant)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: a cut of block ", block, " has v - g'x0 beyond +-",
                     kMaxLpMagnitudeText, " (the subgradient and cut point are too large)"));
  }
  Cut cut{block, subgradient, constant};
  AddRow(cut);
  cuts_.push_back(std::move(cut));
  return absl::OkStatus();
}

absl::Status CutModel::AddFeasibilityCut(const Eigen::Ref<const Vector>& g, double r) {
  if (!IsLpNumber(r)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: the right-hand side of a feasibility cut is not finite or beyond +-",
                     kMaxLpMagnitudeText));
  }
  if (absl::Status s = CheckVector("feasibility cut", g, dimension()); !s.ok()) return s;
  Cut cut{-1, g, r};
  AddRow(cut);
  cuts_.push_back(std::move(cut));
  return absl::OkStatus();
}

absl::Status CutModel::SetTrustRegion(const Eigen::Ref<const Vector>& center, double radius) {
  if (std::isnan(radius) || radius < 0 || (radius != kInf && !IsLpNumber(radius))) {
    return absl::InvalidArgumentError(
        absl::StrCat("cut model: the trust-region radius must be >= 0 and at most ",
                     kMaxLpMagnitudeText, " (or infinite), not ", radius));
  }
  if (radius == kInf) {
    center_.resize(0);
  } else {
    if (absl::Status s = CheckVector("trust-region center", center, dimension()); !s.ok()) return s;
    center_ = center;
    radius_ = radius;
  }
  ApplyColumnBounds();
  return absl::OkStatus();
}

void CutModel::ApplyColumnBounds() {
  for (int k = 0; k < dimension(); ++k) {
    double lower = lower_(k), upper = upper_(k);
    if (center_.size() > 0) {
      lower = std::max(lower, center_(k) - radius_);
      upper = std::min(upper, center_(k) + radius_);
    }
    lp_->setColumnBounds(k, ToClp(lower), ToClp(upper));
  }
}

absl::StatusOr<CutModel::Solution> CutModel::Solve() {
  // A trust region that misses the x bounds leaves an empty box: say so directly.
  for (int k = 0; k < dimension() && center_.size() > 0; ++k) {
    if (std::max(lower_(k), center_(k) - radius_) > std::min(upper_(k), center_(k) + radius_)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cut model: the master LP is infeasible: the trust region of radius ",
                       radius_, " around ", center_(k), " misses the bounds [", lower_(k), ", ",
                       upper_(k), "] of x(", k, ")"));
    }
  }
  lp_->dual();
  int iterations = lp_->numberIterations();
  if (!lp_->isProvenOptimal() && !lp_->isProvenPrimalInfeasible() &&
      !lp_->isProvenDualInfeasible()) {
    // The dual simplex gave up (numerical trouble, a bad warm start): retry with the
    // primal simplex from where it stopped.
    lp_->primal();
    iterations += lp_->numberIterations();
  }
  total_iterations_ += iterations;
  if (lp_->isProvenPrimalInfeasible()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cut model: the master LP is infeasible: no x satisfies the ",
                     first_stage_rows_, " first-stage rows and the bounds on x",
                     center_.size() > 0 ? ", the trust region" : "", " and the feasibility cuts"));
  }
  if (lp_->isProvenDualInfeasible()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cut model: the master LP is unbounded: c'x + sum theta has no minimum (blocks without "
        "cuts have theta lower bound ",
        theta_lower_bound_,
        "; bound x, set a trust region or give the blocks a finite lower bound)"));
  }
  if (!lp_->isProvenOptimal()) {
    return absl::AbortedError(absl::StrCat(
        "cut model: Clp stopped without an optimum (status ", lp_->status(), ", secondary status ",
        lp_->secondaryStatus(), ") after ", iterations, " iterations, on ", cuts(), " cuts"));
  }

  const int n = static_cast<int>(dimension());
  const double* columns = lp_->primalColumnSolution();
  Solution solution;
  solution.x = ConstVectorRef(columns, n);
  solution.theta = ConstVectorRef(columns + n, blocks_);
  solution.value = c_.dot(solution.x) + solution.theta.sum();
  solution.iterations = iterations;

  for (size_t i = 0; i < cuts_.size(); ++i) {
    const int row = first_stage_rows_ + static_cast<int>(i);
    if (lp_->getRowStatus(row) == ClpSimplex::basic) {
      ++cuts_[i].age;
    } else {
      cuts_[i].age = 0;
    }
  }
  return solution;
}

double CutModel::ModelValue(const Eigen::Ref<const Vector>& x) const {
  Vector theta = Vector::Constant(blocks_, theta_lower_bound_);
  for (const Cut& cut : cuts_) {
    if (cut.block < 0) continue;
    theta(cut.block) = std::max(theta(cut.block), cut.constant + cut.g.dot(x));
  }
  return c_.dot(x) + theta.sum();
}

int CutModel::DropInactiveCuts(int min_age) {
  min_age = std::max(min_age, 1);
  std::vector<int> rows;
  std::vector<Cut> kept;
  kept.reserve(cuts_.size());
  for (size_t i = 0; i < cuts_.size(); ++i) {
    const int row = first_stage_rows_ + static_cast<int>(i);
    // Only basic rows: deleting a row with its basic slack leaves a valid basis.
    if (cuts_[i].age >= min_age && lp_->getRowStatus(row) == ClpSimplex::basic) {
      rows.push_back(row);
    } else {
      kept.push_back(std::move(cuts_[i]));
    }
  }
  if (!rows.empty()) lp_->deleteRows(static_cast<int>(rows.size()), rows.data());
  cuts_ = std::move(kept);
  return static_cast<int>(rows.size());
}

}  // namespace aia
