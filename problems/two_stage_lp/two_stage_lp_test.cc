#include "problems/two_stage_lp/two_stage_lp.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "problems/smps/smps.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << text;
  return path;
}

std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  std::string root = env != nullptr && *env != '\0' ? env : "";  // scripts/test.sh passes ../shared/data
  std::ifstream probe(root + "/smps/posts/storm/stormg2.cor");
  return probe ? root : "";
}

#define REQUIRE_SHARED_DATA(root)                                                    \
  const std::string root = SharedData();                                             \
  if (root.empty()) {                                                                \
    GTEST_SKIP() << "shared data not found (set AIA_SHARED_DATA to the folder with " \
                    "smps/); skipping";                                              \
  }

// A newsvendor: order x at cost 1, sell y <= min(x, demand) at price 3.
// Q_d(x) = -3 min(x, d) for x >= 0.
constexpr char kNewsCore[] =
    "NAME NEWS\n"
    "ROWS\n"
    " N OBJ\n"
    " L CAPX\n"
    " L SELL\n"
    " L DEMAND\n"
    "COLUMNS\n"
    " X OBJ 1 CAPX 1\n"
    " X SELL -1\n"
    " Y OBJ -3 SELL 1\n"
    " Y DEMAND 1\n"
    "RHS\n"
    " RHS CAPX 100\n"
    " RHS DEMAND 3\n"
    "ENDATA\n";
constexpr char kNewsTime[] = "TIME NEWS\nPERIODS\n X CAPX P1\n Y SELL P2\nENDATA\n";
constexpr char kNewsSto[] =
    "STOCH NEWS\n"
    "INDEP DISCRETE\n"
    " RHS DEMAND 1 P2 0.25\n"
    " RHS DEMAND 3 P2 0.5\n"
    " RHS DEMAND 5 P2 0.25\n"
    "ENDATA\n";

// Two products with a shared, x1-dependent processing capacity, overtime z,
// and random demands, capacity coefficient (T), recourse coefficient (W) and
// price (q): exercises every kind of change.
constexpr char kTwoCore[] =
    "NAME TWO\n"
    "ROWS\n"
    " N OBJ\n"
    " L CAP\n"
    " L S1\n"
    " L S2\n"
    " L D1\n"
    " L D2\n"
    " L PROC\n"
    "COLUMNS\n"
    " X1 OBJ 1 CAP 1\n"
    " X1 S1 -1 PROC -0.5\n"
    " X2 OBJ 1.5 CAP 1\n"
    " X2 S2 -1\n"
    " Y1 OBJ -3 S1 1\n"
    " Y1 D1 1 PROC 1\n"
    " Y2 OBJ -4 S2 1\n"
    " Y2 D2 1 PROC 1\n"
    " Z OBJ 2 S1 -1\n"
    "RHS\n"
    " RHS CAP 10 D1 2\n"
    " RHS D2 1 PROC 4\n"
    "BOUNDS\n"
    " UP BND Z 1\n"
    "ENDATA\n";
constexpr char kTwoTime[] = "TIME TWO\nPERIODS\n X1 CAP P1\n Y1 S1 P2\nENDATA\n";
constexpr char kTwoSto[] =
    "STOCH TWO\n"
    "INDEP DISCRETE\n"
    " RHS D1 2 0.4\n"
    " RHS D1 5 0.6\n"
    " RHS D2 1 0.5\n"
    " RHS D2 4 0.5\n"
    "BLOCKS DISCRETE\n"
    " BL B P2 0.7\n"
    "    X1 PROC -0.5\n"
    "    Y2 OBJ -4 PROC 1\n"
    " BL B P2 0.3\n"
    "    X1 PROC -0.8\n"
    "    Y2 OBJ -5 PROC 1.25\n"
    "ENDATA\n";

std::unique_ptr<TwoStageLp> Build(const std::string& name, const std::string& cor,
                                  const std::string& tim, const std::string& sto,
                                  TwoStageLp::Options options = {}) {
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile(name + ".cor", cor), WriteFile(name + ".tim", tim),
               WriteFile(name + ".sto", sto), 0, 0);
  EXPECT_TRUE(p.ok()) << p.status();
  if (!p.ok()) return nullptr;
  return std::make_unique<TwoStageLp>(*std::move(p), name, options);
}

Vector Vec(std::initializer_list<double> values) {
  Vector v(values.size());
  int k = 0;
  for (double value : values) v(k++) = value;
  return v;
}

double Value(TwoStageLp& problem, int64_t j, const Vector& x) {
  absl::StatusOr<PieceEvaluation> e = problem.Evaluate(j, x);
  EXPECT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e.ok() && e->feasible);
  return e.ok() ? e->value : NAN;
}

TEST(TwoStageLp, NewsvendorValuesAndSubgradients) {
  std::unique_ptr<TwoStageLp> problem = Build("news", kNewsCore, kNewsTime, kNewsSto);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->dimension(), 1);
  EXPECT_EQ(problem->pieces(), 3);
  EXPECT_EQ(problem->rows(), 3);
  const double demand[] = {1, 3, 5}, p[] = {0.25, 0.5, 0.25};
  for (double x : {0.0, 0.7, 2.2, 4.1, 6.0}) {
    for (int j = 0; j < 3; ++j) {
      absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, Vec({x}));
      ASSERT_TRUE(e.ok()) << e.status();
      EXPECT_TRUE(e->feasible);
      EXPECT_NEAR(e->value, -3 * p[j] * std::min(x, demand[j]), 1e-12) << x << " " << j;
      // d/dx of -3 p min(x, d): -3p below the demand, 0 above (at x = 0 any
      // x < d gives -3p).
      EXPECT_NEAR(e->subgradient(0), x < demand[j] ? -3 * p[j] : 0, 1e-12) << x << " " << j;
    }
  }
}

// Finite differences pin the sign convention: at generic points every f_j is
// differentiable and its gradient is the subgradient returned.
TEST(TwoStageLp, SubgradientsMatchFiniteDifferences) {
  std::unique_ptr<TwoStageLp> problem = Build("two", kTwoCore, kTwoTime, kTwoSto);
  ASSERT_NE(problem, nullptr);
  ASSERT_EQ(problem->pieces(), 8);
  const std::vector<Vector> points = {Vec({1.37, 0.61}), Vec({3.13, 2.29}), Vec({5.71, 4.43}),
                                      Vec({0.29, 3.37}), Vec({2.61, 0.17})};
  const double h = 1e-5;
  int nonzero = 0;
  for (const Vector& x : points) {
    for (int j = 0; j < problem->pieces(); ++j) {
      absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, x);
      ASSERT_TRUE(e.ok()) << e.status();
      for (int k = 0; k < 2; ++k) {
        Vector plus = x, minus = x;
        plus(k) += h;
        minus(k) -= h;
        const double fd = (Value(*problem, j, plus) - Value(*problem, j, minus)) / (2 * h);
        EXPECT_NEAR(e->subgradient(k), fd, 1e-6)
            << "x " << x.transpose() << " j " << j << " k " << k;
        nonzero += std::abs(fd) > 1e-3;
      }
      // The subgradient inequality at other points.
      for (const Vector& z : points) {
        EXPECT_GE(Value(*problem, j, z), e->value + e->subgradient.dot(z - x) - 1e-9);
      }
    }
  }
  EXPECT_GT(nonzero, 20);  // the check is not vacuous
}

TEST(TwoStageLp, PiecesAddUpToTheExtensiveForm) {
  for (const auto& [name, cor, tim, sto] : {std::make_tuple("news", kNewsCore, kNewsTime, kNewsSto),
                                            std::make_tuple("two", kTwoCore, kTwoTime, kTwoSto)}) {
    std::unique_ptr<TwoStageLp> problem = Build(name, cor, tim, sto);
    ASSERT_NE(problem, nullptr);
    absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(problem->program());
    ASSERT_TRUE(ef.ok()) << ef.status();
    double f = problem->first_stage().c.dot(ef->x);
    for (int j = 0; j < problem->pieces(); ++j) f += Value(*problem, j, ef->x);
    EXPECT_NEAR(f, ef->objective, 1e-9 * std::max(1.0, std::abs(ef->objective))) << name;
  }
}

TEST(TwoStageLp, WarmStartGivesTheColdValues) {
  std::unique_ptr<TwoStageLp> warm = Build("two", kTwoCore, kTwoTime, kTwoSto);
  std::unique_ptr<TwoStageLp> cold =
      Build("two", kTwoCore, kTwoTime, kTwoSto, TwoStageLp::Options{/*warm_start=*/false});
  ASSERT_NE(warm, nullptr);
  ASSERT_NE(cold, nullptr);
  for (const Vector& x : {Vec({1, 1}), Vec({4, 3}), Vec({0.5, 6}), Vec({1, 1}), Vec({7, 0})}) {
    for (int j : {0, 3, 5, 7, 0, 3}) {
      EXPECT_NEAR(Value(*warm, j, x), Value(*cold, j, x), 1e-12) << x.transpose() << " " << j;
    }
  }
}

// Without complete recourse: all demand must be met (y = d) from the order
// (y <= x), so x < d is infeasible for that scenario. The cut must be x >= d.
TEST(TwoStageLp, FeasibilityCutWithoutCompleteRecourse) {
  std::string core = kNewsCore;
  core.replace(core.find(" L DEMAND"), 9, " E DEMAND");
  for (const bool ray : {true, false}) {
    TwoStageLp::Options options;
    options.ray_cuts = ray;
    std::unique_ptr<TwoStageLp> problem = Build("exact", core, kNewsTime, kNewsSto, options);
    ASSERT_NE(problem, nullptr);
    for (int j = 0; j < 3; ++j) {
      const double demand = 2 * j + 1;
      for (const double x : {0.0, 0.5 * demand, demand - 0.01}) {
        absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, Vec({x}));
        ASSERT_TRUE(e.ok()) << e.status();
        ASSERT_FALSE(e->feasible) << "ray " << ray << " j " << j << " x " << x;
        // g x >= r: violated at x, equivalent to x >= demand.
        const double g = e->subgradient(0), r = e->value;
        EXPECT_LT(g * x, r) << "ray " << ray;
        ASSERT_GT(g, 0) << "ray " << ray;
        EXPECT_NEAR(r / g, demand, 1e-9) << "ray " << ray;
      }
      // After an infeasible solve the model still answers correctly.
      EXPECT_NEAR(Value(*problem, j, Vec({demand + 1})), -3 * demand * (j == 1 ? 0.5 : 0.25),
                  1e-12);
    }
  }
}

TEST(TwoStageLp, RejectsBadArguments) {
  std::unique_ptr<TwoStageLp> problem = Build("news", kNewsCore, kNewsTime, kNewsSto);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->Evaluate(3, Vec({1})).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(problem->Evaluate(-1, Vec({1})).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(problem->Evaluate(0, Vec({1, 2})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(problem->Evaluate(0, Vec({NAN})).status().code(), absl::StatusCode::kInvalidArgument);
}

// A cutting-plane task with x = 1e99 aborted the worker daemon in a Clp assertion:
// every x(k) must be finite with |x(k)| <= 1e20, and the row bounds T_j x gives the
// recourse LP must stay within 1e20 too.
TEST(TwoStageLp, RefusesPointsClpCannotTake) {
  std::unique_ptr<TwoStageLp> problem = Build("news", kNewsCore, kNewsTime, kNewsSto);
  ASSERT_NE(problem, nullptr);
  for (const double x : {1e99, -1e99, 1e21, 1e300, -1.7976931348623157e308}) {
    absl::StatusOr<PieceEvaluation> e = problem->Evaluate(0, Vec({x}));
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << x << ": " << e.status();
    EXPECT_THAT(std::string(e.status().message()), HasSubstr("x(0)")) << x;
    EXPECT_THAT(std::string(e.status().message()), HasSubstr("1e20")) << x;
  }
  // Up to the bound x is fine (and the model still answers afterwards).
  for (const double x : {1e20, -1e20, 1e15}) {
    absl::StatusOr<PieceEvaluation> e = problem->Evaluate(1, Vec({x}));
    EXPECT_TRUE(e.ok() || e.status().code() == absl::StatusCode::kInvalidArgument)
        << x << ": " << e.status();
  }
  EXPECT_NEAR(Value(*problem, 1, Vec({2})), -3 * 0.5 * 2, 1e-12);

  // A large technology coefficient times an allowed x: the row bound is too large.
  std::string core = kNewsCore;
  core.replace(core.find(" X SELL -1"), 10, " X SELL -1e12");
  std::unique_ptr<TwoStageLp> steep = Build("steep", core, kNewsTime, kNewsSto);
  ASSERT_NE(steep, nullptr);
  absl::StatusOr<PieceEvaluation> e = steep->Evaluate(0, Vec({1e10}));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << e.status();
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("second-stage row 1 "));
  EXPECT_NEAR(Value(*steep, 0, Vec({1})), -3 * 0.25 * 1, 1e-12);
}

TEST(TwoStageLp, UnboundedRecourseIsFailedPrecondition) {
  std::string core = kNewsCore;
  // Sales in no constraint at all.
  core.replace(core.find(" Y OBJ -3 SELL 1\n Y DEMAND 1\n"), 28, " Y OBJ -3\n");
  std::unique_ptr<TwoStageLp> problem =
      Build("unbounded", core, kNewsTime, "STOCH\nINDEP DISCRETE\n RHS SELL 0 1\nENDATA\n");
  ASSERT_NE(problem, nullptr);
  absl::StatusOr<PieceEvaluation> e = problem->Evaluate(0, Vec({1}));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition) << e.status();
}

TEST(TwoStageLp, PieceLowerBound) {
  // Negative prices with unbounded sales: no box bound, the default.
  std::unique_ptr<TwoStageLp> news = Build("news", kNewsCore, kNewsTime, kNewsSto);
  ASSERT_NE(news, nullptr);
  EXPECT_EQ(news->piece_lower_bound(), -1e9);
  // With sales bounded by 10: p_j * (-3 * 10), the smallest for p = 0.5.
  std::string core = kNewsCore;
  core.replace(core.find("ENDATA"), 0, "BOUNDS\n UP BND Y 10\n");
  std::unique_ptr<TwoStageLp> bounded = Build("bounded", core, kNewsTime, kNewsSto);
  ASSERT_NE(bounded, nullptr);
  EXPECT_DOUBLE_EQ(bounded->piece_lower_bound(), -15);
  for (int j = 0; j < 3; ++j) EXPECT_GE(Value(*bounded, j, Vec({100})), -15);
}

TEST(TwoStageLp, FactoryReadsTheSmpsSource) {
  WriteFile("news.cor", kNewsCore);
  WriteFile("news.tim", kNewsTime);
  WriteFile("news.sto", kNewsSto);
  v1::ProblemSpec spec;
  spec.set_name("two_stage_lp");
  spec.mutable_smps()->set_cor("news.cor");
  spec.mutable_smps()->set_tim("news.tim");
  spec.mutable_smps()->set_sto("news.sto");
  spec.mutable_two_stage_lp();
  // Every worker holds every scenario.
  absl::StatusOr<std::unique_ptr<Problem>> problem =
      NewProblem(ProblemContext{spec, ::testing::TempDir(), 1, 2});
  ASSERT_TRUE(problem.ok()) << problem.status();
  auto* lp = dynamic_cast<DecomposableProblem*>(problem->get());
  ASSERT_NE(lp, nullptr);
  EXPECT_EQ(lp->pieces(), 3);
  EXPECT_EQ(lp->dimension(), 1);
  EXPECT_THAT(lp->Describe(), HasSubstr("3 scenarios"));

  spec.mutable_smps()->set_sample(5);
  problem = NewProblem(ProblemContext{spec, ::testing::TempDir(), 0, 1});
  ASSERT_TRUE(problem.ok()) << problem.status();
  EXPECT_EQ((*problem)->rows(), 5);
  EXPECT_THAT((*problem)->Describe(), HasSubstr("sampled (seed 0) from 3"));

  spec.mutable_synthetic()->set_rows(3);
  problem = NewProblem(ProblemContext{spec, ::testing::TempDir(), 0, 1});
  EXPECT_EQ(problem.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(problem.status().message()), HasSubstr("needs source problem.smps"));

  spec.mutable_smps()->set_cor("news.cor");
  spec.mutable_smps()->set_tim("news.tim");
  spec.mutable_smps()->set_sto("missing.sto");
  problem = NewProblem(ProblemContext{spec, ::testing::TempDir(), 0, 1});
  EXPECT_EQ(problem.status().code(), absl::StatusCode::kNotFound) << problem.status();
}

// Debian's two-stage `bug` (coinor-libcoinutils-dev): always available where the
// project's setup ran.
TEST(TwoStageLp, DebianBugAddsUpToTheExtensiveForm) {
  const std::string dir = "/usr/share/coin/Data/Sample/";
  if (!std::ifstream(dir + "bug.cor")) GTEST_SKIP() << "coinor-libcoinutils-dev samples absent";
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "bug.cor", dir + "bug.time", dir + "bug.stoch", 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  TwoStageLp problem(*std::move(p), "bug");
  EXPECT_EQ(problem.piece_lower_bound(), 0);
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(problem.program());
  ASSERT_TRUE(ef.ok()) << ef.status();
  double f = problem.first_stage().c.dot(ef->x);
  for (int j = 0; j < problem.pieces(); ++j) f += Value(problem, j, ef->x);
  EXPECT_NEAR(f, 0.5, 1e-9);
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(SharedData, PiecesAddUpToTheExtensiveFormOnLandSAndStorm) {
  REQUIRE_SHARED_DATA(root);
  const std::string s = root + "/smps/";
  const struct {
    std::string cor, tim, sto;
    double optimum;
  } cases[] = {
      {"slptestset/electric/lands.cor", "slptestset/electric/lands.tim",
       "slptestset/electric/lands.sto", 381.853333},
      {"posts/storm/stormg2.cor", "posts/storm/stormg2.tim", "posts/storm/stormg2-8.sto",
       15535235.7301},
  };
  for (const auto& c : cases) {
    absl::StatusOr<TwoStageProgram> p = ReadSmps(s + c.cor, s + c.tim, s + c.sto, 0, 0);
    ASSERT_TRUE(p.ok()) << p.status();
    absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
    ASSERT_TRUE(ef.ok()) << ef.status();
    TwoStageLp warm(*p, c.sto);
    TwoStageLp cold(*std::move(p), c.sto, TwoStageLp::Options{/*warm_start=*/false});
    EXPECT_GE(warm.piece_lower_bound(), 0) << c.sto;  // q >= 0, y >= 0
    double f = warm.first_stage().c.dot(ef->x);
    for (int j = 0; j < warm.pieces(); ++j) {
      const double v = Value(warm, j, ef->x);
      EXPECT_GE(v, warm.piece_lower_bound());
      f += v;
    }
    EXPECT_NEAR(f, c.optimum, c.optimum * 1e-6) << c.sto;
    // Warm starts from the bases at x*, at a shifted x, against cold solves.
    const Vector x = ef->x * 1.05 + Vector::Constant(ef->x.size(), 0.1);
    double warm_seconds = 0, cold_seconds = 0;
    for (int j = 0; j < warm.pieces(); ++j) {
      auto start = std::chrono::steady_clock::now();
      const double w = Value(warm, j, x);
      warm_seconds += Seconds(start);
      start = std::chrono::steady_clock::now();
      const double k = Value(cold, j, x);
      cold_seconds += Seconds(start);
      EXPECT_NEAR(w, k, 1e-9 * std::max(1.0, std::abs(k))) << c.sto << " " << j;
    }
    std::printf("%s: per recourse solve %.2f ms warm, %.2f ms cold\n", c.sto.c_str(),
                1e3 * warm_seconds / warm.pieces(), 1e3 * cold_seconds / warm.pieces());
  }
}

// Finite differences on storm: the directional derivative along a random
// direction matches the subgradient at a generic point near x*.
TEST(SharedData, StormSubgradientMatchesFiniteDifferences) {
  REQUIRE_SHARED_DATA(root);
  const std::string dir = root + "/smps/posts/storm/";
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "stormg2.cor", dir + "stormg2.tim", dir + "stormg2-8.sto", 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  TwoStageLp problem(*std::move(p), "storm");
  std::srand(3);
  Vector x = ef->x, d(x.size());
  for (int k = 0; k < x.size(); ++k) {
    x(k) += 0.37 + 0.01 * (std::rand() % 100);
    d(k) = (std::rand() % 2001 - 1000) / 1000.0;
  }
  const double h = 1e-4;
  for (int j = 0; j < problem.pieces(); ++j) {
    absl::StatusOr<PieceEvaluation> e = problem.Evaluate(j, x);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE(e->feasible);
    const double fd = (Value(problem, j, x + h * d) - Value(problem, j, x - h * d)) / (2 * h);
    EXPECT_NEAR(e->subgradient.dot(d), fd, 1e-6 * std::max(1.0, std::abs(fd))) << j;
  }
}

// Timing for the cutting-plane engine: stormG2-1000, 1000 scenarios.
TEST(SharedData, StormG2With1000ScenariosTiming) {
  REQUIRE_SHARED_DATA(root);
  const std::string dir = root + "/smps/posts/storm/";
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "stormg2.cor", dir + "stormg2.tim", dir + "stormg2-1000.sto", 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  const double read = Seconds(start);
  absl::StatusOr<TwoStageProgram> p8 =
      ReadSmps(dir + "stormg2.cor", dir + "stormg2.tim", dir + "stormg2-8.sto", 0, 0);
  ASSERT_TRUE(p8.ok()) << p8.status();
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p8);
  ASSERT_TRUE(ef.ok()) << ef.status();
  start = std::chrono::steady_clock::now();
  TwoStageLp problem(*std::move(p), "storm-1000");
  const double build = Seconds(start);
  const int n = 200;
  double passes[2];
  for (int pass = 0; pass < 2; ++pass) {
    start = std::chrono::steady_clock::now();
    for (int j = 0; j < n; ++j) {
      absl::StatusOr<PieceEvaluation> e = problem.Evaluate(j, ef->x);
      ASSERT_TRUE(e.ok()) << e.status();
      ASSERT_TRUE(e->feasible);
    }
    passes[pass] = Seconds(start) / n;
  }
  std::printf(
      "stormg2-1000: read %.3f s, build %.3f s; per recourse solve %.2f ms (first "
      "pass), %.2f ms (again, from the scenario's own basis)\n",
      read, build, 1e3 * passes[0], 1e3 * passes[1]);
}

}  // namespace
}  // namespace aia
