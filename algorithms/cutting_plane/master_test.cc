#include "algorithms/cutting_plane/master.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ClpSimplex.hpp"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "problems/l1_regression/l1_regression.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();

// The shared data folder beside the project: $AIA_SHARED_DATA (unset: tests that need it skip).
std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  return env != nullptr && *env != '\0' ? env : "";  // scripts/test.sh passes ../shared/data
}

std::unique_ptr<L1Regression> BuildL1(const std::string& text, const std::string& root = "/") {
  v1::ProblemSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  absl::StatusOr<std::unique_ptr<L1Regression>> problem =
      L1Regression::Create(ProblemContext{spec, root, 0, 1});
  EXPECT_TRUE(problem.ok()) << problem.status();
  return problem.ok() ? std::move(*problem) : nullptr;
}

const char kSynthetic[] = R"pb(
  name: "l1_regression"
  synthetic { rows: 40 columns: 4 seed: 3 noise: 1 }
  l1_regression { intercept: true }
)pb";

struct RecordedCut {
  int block;
  double value;
  Vector g;
  Vector at;
};

struct KelleyResult {
  Vector x;         // the best point evaluated
  double f = kInf;  // f(x)
  double lower_bound = -kInf;
  int iterations = 0;  // master solves
  int64_t simplex_iterations = 0;
  int64_t cuts = 0;
  std::vector<RecordedCut> recorded;
  absl::Duration time;
};

// Kelley's cutting-plane method on `problem` with the pieces grouped into `blocks`
// (piece j in block j % blocks; a block's cut is the sum of its pieces' values and
// subgradients). Starts by evaluating x = 0; adds a block's cut only when it cuts off
// the current master point. Stops when (best f - master value) / max(1, |best f|) <=
// tolerance, or after `max_iterations` master solves.
KelleyResult Kelley(L1Regression& problem, int blocks, double tolerance = 1e-9,
                    int max_iterations = 500) {
  const absl::Time start = absl::Now();
  KelleyResult result;
  absl::StatusOr<std::unique_ptr<CutModel>> model =
      CutModel::Create(problem.first_stage(), blocks, problem.piece_lower_bound());
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return result;
  const int64_t n = problem.dimension();
  Vector x = Vector::Zero(n);
  Vector theta = Vector::Constant(blocks, -kInf);  // the master's thetas at x
  for (;;) {
    std::vector<double> value(blocks, 0.0);
    std::vector<Vector> g(blocks, Vector::Zero(n));
    for (int64_t j = 0; j < problem.pieces(); ++j) {
      absl::StatusOr<PieceEvaluation> e = problem.Evaluate(j, x);
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok()) return result;
      value[j % blocks] += e->value;
      g[j % blocks] += e->subgradient;
    }
    double f = 0;
    for (int b = 0; b < blocks; ++b) f += value[b];
    if (f < result.f) {
      result.f = f;
      result.x = x;
    }
    for (int b = 0; b < blocks; ++b) {
      if (value[b] <= theta(b) + 1e-12 * (1 + std::abs(value[b]))) continue;
      EXPECT_TRUE((*model)->AddOptimalityCut(b, value[b], g[b], x).ok());
      result.recorded.push_back({b, value[b], g[b], x});
    }
    if (result.iterations >= max_iterations) break;
    absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) break;
    ++result.iterations;
    result.lower_bound = s->value;
    // The master's value is the model's minimum, and the model is exact at its
    // solution's thetas.
    EXPECT_NEAR((*model)->ModelValue(s->x), s->value, 1e-7 * (1 + std::abs(s->value)));
    if ((result.f - s->value) / std::max(1.0, std::abs(result.f)) <= tolerance) break;
    x = s->x;
    theta = s->theta;
  }
  result.simplex_iterations = (*model)->total_iterations();
  result.cuts = (*model)->cuts();
  result.time = absl::Now() - start;
  return result;
}

// min sum_i |a_i'x - b_i| as the LP  min sum (u + v)  s.t.  A x - u + v = b, u, v >= 0,
// solved directly with Clp's primal simplex. Returns x and sets *objective.
Vector SolveL1ByLp(const Matrix& a, const Vector& b, double* objective) {
  const int m = static_cast<int>(a.rows());
  const int n = static_cast<int>(a.cols());
  ClpSimplex lp;
  lp.setLogLevel(0);
  std::vector<double> column_lower(n + 2 * m, 0.0), column_upper(n + 2 * m, COIN_DBL_MAX),
      cost(n + 2 * m, 1.0);
  for (int k = 0; k < n; ++k) {
    column_lower[k] = -COIN_DBL_MAX;
    cost[k] = 0;
  }
  const std::vector<CoinBigIndex> empty_starts(n + 2 * m + 1, 0);
  lp.addColumns(n + 2 * m, column_lower.data(), column_upper.data(), cost.data(),
                empty_starts.data(), nullptr, nullptr);
  for (int i = 0; i < m; ++i) {
    std::vector<int> columns;
    std::vector<double> elements;
    for (int k = 0; k < n; ++k) {
      columns.push_back(k);
      elements.push_back(a(i, k));
    }
    columns.push_back(n + i);
    elements.push_back(-1);
    columns.push_back(n + m + i);
    elements.push_back(1);
    lp.addRow(static_cast<int>(columns.size()), columns.data(), elements.data(), b(i), b(i));
  }
  lp.primal();
  EXPECT_TRUE(lp.isProvenOptimal());
  *objective = lp.objectiveValue();
  return ConstVectorRef(lp.primalColumnSolution(), n);
}

// The published least-absolute-deviations fit of stackloss (statsmodels), reordered
// to (AIRFLOW, WATERTEMP, ACIDCONC, intercept).
const double kStacklossObjective = 42.08115942;
const Eigen::Vector4d kStacklossCoefficients(0.83188406, 0.57391304, -0.06086957, -39.68985507);

TEST(CutModel, KelleyReachesThePublishedStacklossFit) {
  const std::string root = SharedData();
  struct stat info;
  if (::stat((root + "/ml/stackloss.csv").c_str(), &info) != 0) {
    GTEST_SKIP() << root << "/ml/stackloss.csv is absent (set AIA_SHARED_DATA to the shared "
                 << "data folder to run this test)";
  }
  std::unique_ptr<L1Regression> problem = BuildL1(
      "name: 'l1_regression' file { path: 'ml/stackloss.csv' } l1_regression { intercept: true }",
      root);
  ASSERT_NE(problem, nullptr);
  ASSERT_EQ(problem->pieces(), 21);
  for (int blocks : {21, 3, 1}) {
    KelleyResult result = Kelley(*problem, blocks);
    std::cout << "stackloss, " << blocks << " blocks: " << result.iterations << " master solves, "
              << result.cuts << " cuts, " << result.simplex_iterations << " simplex iterations, "
              << absl::ToDoubleMilliseconds(result.time) << " ms, f = " << result.f << "\n";
    EXPECT_LT(result.iterations, 500) << blocks << " blocks: did not converge";
    EXPECT_NEAR(result.f, kStacklossObjective, 1e-6 * kStacklossObjective) << blocks << " blocks";
    EXPECT_LE(result.lower_bound, result.f + 1e-9);
    ASSERT_EQ(result.x.size(), 4);
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(result.x(k), kStacklossCoefficients(k), 1e-5)
          << blocks << " blocks, coefficient " << k;
    }
  }
}

TEST(CutModel, KelleyMatchesTheLpFormulationOnSyntheticData) {
  std::unique_ptr<L1Regression> problem = BuildL1(kSynthetic);
  ASSERT_NE(problem, nullptr);
  double lp_objective = 0;
  const Vector lp_x = SolveL1ByLp(problem->A(), problem->b(), &lp_objective);
  EXPECT_NEAR(problem->Objective(lp_x), lp_objective, 1e-9 * lp_objective);
  for (int blocks : {40, 4}) {
    KelleyResult result = Kelley(*problem, blocks);
    std::cout << "synthetic 40x5, " << blocks << " blocks: " << result.iterations
              << " master solves, " << result.cuts << " cuts, " << result.simplex_iterations
              << " simplex iterations, " << absl::ToDoubleMilliseconds(result.time) << " ms\n";
    EXPECT_LT(result.iterations, 500) << blocks << " blocks: did not converge";
    EXPECT_NEAR(result.f, lp_objective, 1e-8 * lp_objective) << blocks << " blocks";
    EXPECT_NEAR(result.lower_bound, lp_objective, 1e-8 * lp_objective) << blocks << " blocks";
    EXPECT_TRUE(result.x.isApprox(lp_x, 1e-6)) << result.x.transpose() << "\n" << lp_x.transpose();
  }
}

TEST(CutModel, ModelIsALowerBoundThatMatchesTheCutsAtTheirPoints) {
  std::unique_ptr<L1Regression> problem = BuildL1(kSynthetic);
  ASSERT_NE(problem, nullptr);
  absl::StatusOr<std::unique_ptr<CutModel>> model =
      CutModel::Create(problem->first_stage(), 1, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  std::mt19937_64 engine(5);
  std::normal_distribution<double> normal;
  std::vector<Vector> points;
  for (int p = 0; p < 10; ++p) {
    Vector x(problem->dimension());
    for (int64_t k = 0; k < x.size(); ++k) x(k) = normal(engine);
    Vector g = Vector::Zero(x.size());
    for (int64_t j = 0; j < problem->pieces(); ++j) g += problem->Evaluate(j, x)->subgradient;
    ASSERT_TRUE((*model)->AddOptimalityCut(0, problem->Objective(x), g, x).ok());
    points.push_back(x);
  }
  EXPECT_EQ((*model)->cuts(), 10);
  for (const Vector& x : points) {
    EXPECT_NEAR((*model)->ModelValue(x), problem->Objective(x), 1e-9 * problem->Objective(x));
  }
  for (int trial = 0; trial < 100; ++trial) {
    Vector y(problem->dimension());
    for (int64_t k = 0; k < y.size(); ++k) y(k) = 3 * normal(engine);
    EXPECT_LE((*model)->ModelValue(y), problem->Objective(y) + 1e-9);
    EXPECT_GE((*model)->ModelValue(y), 0);
  }
}

// min -x1 - 2 x2 over [0, 10]^2, no blocks.
LinearConstraints Box() {
  LinearConstraints first;
  first.c = Eigen::Vector2d(-1, -2);
  first.a.resize(0, 2);
  first.row_lower.resize(0);
  first.row_upper.resize(0);
  first.lower = Eigen::Vector2d(0, 0);
  first.upper = Eigen::Vector2d(10, 10);
  return first;
}

TEST(CutModel, TrustRegionIsRespected) {
  std::unique_ptr<L1Regression> problem = BuildL1(kSynthetic);
  ASSERT_NE(problem, nullptr);
  absl::StatusOr<std::unique_ptr<CutModel>> model =
      CutModel::Create(problem->first_stage(), static_cast<int>(problem->pieces()), 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  const Vector zero = Vector::Zero(problem->dimension());
  for (int64_t j = 0; j < problem->pieces(); ++j) {
    absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, zero);
    ASSERT_TRUE(
        (*model)->AddOptimalityCut(static_cast<int>(j), e->value, e->subgradient, zero).ok());
  }
  const Vector center = Vector::Constant(problem->dimension(), 0.25);
  ASSERT_TRUE((*model)->SetTrustRegion(center, 0.1).ok());
  absl::StatusOr<CutModel::Solution> inside = (*model)->Solve();
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_LE((inside->x - center).lpNorm<Eigen::Infinity>(), 0.1 + 1e-9) << inside->x.transpose();
  EXPECT_NEAR((inside->x - center).lpNorm<Eigen::Infinity>(), 0.1, 1e-9)
      << "the box should be active: " << inside->x.transpose();

  ASSERT_TRUE((*model)->SetTrustRegion(center, kInf).ok());  // clears it
  absl::StatusOr<CutModel::Solution> free = (*model)->Solve();
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_GT((free->x - center).lpNorm<Eigen::Infinity>(), 0.1 + 1e-6) << free->x.transpose();
  EXPECT_LT(free->value, inside->value - 1e-6);
}

TEST(CutModel, TrustRegionIsIntersectedWithTheBounds) {
  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(Box(), 0, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->x, Eigen::Vector2d(10, 10));
  EXPECT_EQ(s->value, -30);

  ASSERT_TRUE((*model)->SetTrustRegion(Eigen::Vector2d(0.5, 9.95), 0.2).ok());
  s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->x(0), 0.7, 1e-12);
  EXPECT_NEAR(s->x(1), 10, 1e-12);  // the bound, not 9.95 + 0.2

  ASSERT_TRUE((*model)->SetTrustRegion(Eigen::Vector2d(20, 5), 1).ok());
  absl::StatusOr<CutModel::Solution> empty = (*model)->Solve();
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(empty.status().message()),
              HasSubstr("misses the bounds [0, 10] of x(0)"));
}

TEST(CutModel, FeasibilityCutExcludesAPoint) {
  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(Box(), 0, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  const Vector corner = s->x;
  ASSERT_EQ(corner, Eigen::Vector2d(10, 10));
  // x1 + x2 <= 5, i.e. -x1 - x2 >= -5: (10, 10) violates it.
  ASSERT_TRUE((*model)->AddFeasibilityCut(Eigen::Vector2d(-1, -1), -5).ok());
  EXPECT_EQ((*model)->cuts(), 1);
  s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_LE(s->x.sum(), 5 + 1e-9) << s->x.transpose();
  EXPECT_NE(s->x, corner);
  EXPECT_NEAR(s->value, -10, 1e-9);  // at (0, 5)

  // x1 >= 8 contradicts x1 + x2 <= 5 with x2 >= 0.
  ASSERT_TRUE((*model)->AddFeasibilityCut(Eigen::Vector2d(1, 0), 8).ok());
  absl::StatusOr<CutModel::Solution> none = (*model)->Solve();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("master LP is infeasible"));
}

TEST(CutModel, FirstStageRowsAreEnforced) {
  LinearConstraints first = Box();
  first.a.resize(1, 2);
  first.a.insert(0, 0) = 1;
  first.a.insert(0, 1) = 3;
  first.row_lower = Vector::Constant(1, -kInf);
  first.row_upper = Vector::Constant(1, 12);  // x1 + 3 x2 <= 12
  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(first, 0, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->x(0), 10, 1e-9);
  EXPECT_NEAR(s->x(1), 2.0 / 3, 1e-9);
}

TEST(CutModel, WarmStartTakesFewerIterationsThanAColdSolve) {
  std::unique_ptr<L1Regression> problem = BuildL1(R"pb(
    name: "l1_regression"
    synthetic { rows: 200 columns: 9 seed: 4 noise: 1 }
    l1_regression { intercept: true }
  )pb");
  ASSERT_NE(problem, nullptr);
  // Aggregated cuts (piece j in block j % 5) make Kelley's method slow, so a model
  // of a few iterations is far from exact.
  const int blocks = 5;
  KelleyResult partial = Kelley(*problem, blocks, 1e-9, /*max_iterations=*/8);
  ASSERT_GT(partial.recorded.size(), 30u);
  absl::StatusOr<std::unique_ptr<CutModel>> warm =
      CutModel::Create(problem->first_stage(), blocks, 0);
  ASSERT_TRUE(warm.ok()) << warm.status();
  for (const RecordedCut& cut : partial.recorded) {
    ASSERT_TRUE((*warm)->AddOptimalityCut(cut.block, cut.value, cut.g, cut.at).ok());
  }
  absl::StatusOr<CutModel::Solution> before = (*warm)->Solve();
  ASSERT_TRUE(before.ok()) << before.status();
  // The most violated block at the master's point.
  std::vector<double> value(blocks, 0.0);
  std::vector<Vector> g(blocks, Vector::Zero(problem->dimension()));
  for (int64_t j = 0; j < problem->pieces(); ++j) {
    absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, before->x);
    ASSERT_TRUE(e.ok());
    value[j % blocks] += e->value;
    g[j % blocks] += e->subgradient;
  }
  int worst = 0;
  for (int b = 1; b < blocks; ++b) {
    if (value[b] - before->theta(b) > value[worst] - before->theta(worst)) worst = b;
  }
  ASSERT_GT(value[worst] - before->theta(worst), 1e-3) << "the partial model is already exact";
  ASSERT_TRUE((*warm)->AddOptimalityCut(worst, value[worst], g[worst], before->x).ok());
  absl::StatusOr<CutModel::Solution> after = (*warm)->Solve();
  ASSERT_TRUE(after.ok()) << after.status();

  absl::StatusOr<std::unique_ptr<CutModel>> cold =
      CutModel::Create(problem->first_stage(), blocks, 0);
  ASSERT_TRUE(cold.ok()) << cold.status();
  for (const RecordedCut& c : partial.recorded) {
    ASSERT_TRUE((*cold)->AddOptimalityCut(c.block, c.value, c.g, c.at).ok());
  }
  ASSERT_TRUE((*cold)->AddOptimalityCut(worst, value[worst], g[worst], before->x).ok());
  absl::StatusOr<CutModel::Solution> fresh = (*cold)->Solve();
  ASSERT_TRUE(fresh.ok()) << fresh.status();

  std::cout << (*warm)->cuts() << " cuts: warm re-solve " << after->iterations
            << " iterations, cold solve " << fresh->iterations << "\n";
  EXPECT_NEAR(after->value, fresh->value, 1e-9 * (1 + std::abs(fresh->value)));
  EXPECT_GT(after->value, before->value);  // the cut cut off the old point
  EXPECT_GT(after->iterations, 0);
  EXPECT_LT(after->iterations, fresh->iterations);
}

TEST(CutModel, DropInactiveCutsKeepsTheSolution) {
  std::unique_ptr<L1Regression> problem = BuildL1(kSynthetic);
  ASSERT_NE(problem, nullptr);
  const int blocks = static_cast<int>(problem->pieces());
  KelleyResult full = Kelley(*problem, blocks);
  absl::StatusOr<std::unique_ptr<CutModel>> model =
      CutModel::Create(problem->first_stage(), blocks, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  for (const RecordedCut& cut : full.recorded) {
    ASSERT_TRUE((*model)->AddOptimalityCut(cut.block, cut.value, cut.g, cut.at).ok());
  }
  absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*model)->DropInactiveCuts(2), 0);  // aged one solve only
  const int64_t before = (*model)->cuts();
  const int dropped = (*model)->DropInactiveCuts(1);
  EXPECT_GT(dropped, 0);
  EXPECT_EQ((*model)->cuts(), before - dropped);
  absl::StatusOr<CutModel::Solution> again = (*model)->Solve();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->iterations, 0);
  EXPECT_NEAR(again->value, s->value, 1e-9 * s->value);
  EXPECT_TRUE(again->x.isApprox(s->x, 1e-9));
  std::cout << "dropped " << dropped << " of " << before << " cuts\n";
}

TEST(CutModel, ReportsAnUnboundedMaster) {
  LinearConstraints first;
  first.c = Vector::Constant(1, 1.0);
  first.lower = Vector::Constant(1, -kInf);
  first.upper = Vector::Constant(1, kInf);
  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(first, 0, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("master LP is unbounded"));

  // A block without cuts and no lower bound.
  first.c(0) = 0;
  model = CutModel::Create(first, 2, -kInf);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE((*model)->AddOptimalityCut(0, 1, Vector::Constant(1, 1), Vector::Zero(1)).ok());
  ASSERT_TRUE((*model)->AddOptimalityCut(0, 1, Vector::Constant(1, -1), Vector::Zero(1)).ok());
  s = (*model)->Solve();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("master LP is unbounded"));
  EXPECT_EQ((*model)->ModelValue(Vector::Zero(1)), -kInf);
  // Once block 1 has a cut the master is bounded: theta_0 >= 1 + |x|.
  ASSERT_TRUE((*model)->AddOptimalityCut(1, 0, Vector::Zero(1), Vector::Zero(1)).ok());
  s = (*model)->Solve();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->value, 1, 1e-12);
  EXPECT_NEAR(s->x(0), 0, 1e-12);
}

void ExpectInvalid(const absl::Status& status, const std::string& fragment) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(fragment));
}

TEST(CutModel, RejectsBadInput) {
  LinearConstraints first = Box();
  first.lower = Vector::Zero(3);
  ExpectInvalid(CutModel::Create(first, 1, 0).status(), "lower and upper have 3 and 2");
  ExpectInvalid(CutModel::Create(Box(), -1, 0).status(), "blocks must be >= 0");
  ExpectInvalid(CutModel::Create(Box(), 1, kInf).status(), "theta lower bound");
  first = Box();
  first.lower(1) = 11;
  ExpectInvalid(CutModel::Create(first, 1, 0).status(), "bounds of x(1) are [11, 10]");

  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(Box(), 2, 0);
  ASSERT_TRUE(model.ok()) << model.status();
  const Vector x = Vector::Zero(2);
  ExpectInvalid((*model)->AddOptimalityCut(2, 1, x, x), "block 2 is not in [0, 2)");
  ExpectInvalid((*model)->AddOptimalityCut(0, 1, Vector::Zero(3), x),
                "subgradient has size 3, the dimension is 2");
  ExpectInvalid((*model)->AddOptimalityCut(0, std::nan(""), x, x), "value of a cut");
  ExpectInvalid((*model)->AddFeasibilityCut(Vector::Constant(2, kInf), 0),
                "feasibility cut(0) is not finite");
  ExpectInvalid((*model)->SetTrustRegion(x, -1), "radius must be >= 0");
  EXPECT_EQ((*model)->cuts(), 0);
}

// Numbers Clp cannot take abort it (a worker's answer with a subgradient of 1e300,
// a first stage read from a file with a bound of 1e300): the model refuses every
// finite number beyond 1e20 in magnitude, and stays unchanged and solvable.
TEST(CutModel, RefusesNumbersClpCannotTake) {
  for (const double big : {1e21, 1e99, 1e300, -1.7976931348623157e308}) {
    LinearConstraints first = Box();
    first.c(0) = big;
    ExpectInvalid(CutModel::Create(first, 1, 0).status(), "1e20");
    first = Box();
    first.upper(1) = std::abs(big);
    ExpectInvalid(CutModel::Create(first, 1, 0).status(), "x(1)");
    first = Box();
    first.a.resize(1, 2);
    first.a.insert(0, 1) = big;
    first.row_lower = Vector::Constant(1, -kInf);
    first.row_upper = Vector::Constant(1, 1);
    ExpectInvalid(CutModel::Create(first, 1, 0).status(), "A(0, 1)");
    first.a.coeffRef(0, 1) = 1;
    first.row_upper(0) = std::abs(big);
    ExpectInvalid(CutModel::Create(first, 1, 0).status(), "row 0");
    ExpectInvalid(CutModel::Create(Box(), 1, -std::abs(big)).status(), "theta lower bound");

    absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(Box(), 1, -100);
    ASSERT_TRUE(model.ok()) << model.status();
    const Vector x = Eigen::Vector2d(1, 2);
    const Vector huge = Eigen::Vector2d(1, big);
    ExpectInvalid((*model)->AddOptimalityCut(0, big, x, x), "1e20");
    ExpectInvalid((*model)->AddOptimalityCut(0, 1, huge, x), "subgradient");
    ExpectInvalid((*model)->AddOptimalityCut(0, 1, x, huge), "cut point");
    ExpectInvalid((*model)->AddFeasibilityCut(huge, 0), "feasibility cut");
    ExpectInvalid((*model)->AddFeasibilityCut(x, big), "1e20");
    ExpectInvalid((*model)->SetTrustRegion(huge, 1), "trust-region center");
    ExpectInvalid((*model)->SetTrustRegion(x, std::abs(big)), "radius");
    EXPECT_EQ((*model)->cuts(), 0);
    absl::StatusOr<CutModel::Solution> s = (*model)->Solve();
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_NEAR(s->value, -30 - 100, 1e-9);
  }
  // Each part within the bound, but the cut's constant v - g'x0 beyond it.
  absl::StatusOr<std::unique_ptr<CutModel>> model = CutModel::Create(Box(), 1, -100);
  ASSERT_TRUE(model.ok()) << model.status();
  const Vector g = Eigen::Vector2d(1e15, 0), at = Eigen::Vector2d(1e15, 0);
  ExpectInvalid((*model)->AddOptimalityCut(0, 0, g, at), "1e20");
  EXPECT_EQ((*model)->cuts(), 0);
}

}  // namespace
}  // namespace aia
