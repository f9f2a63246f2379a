#include "problems/l1_regression/l1_regression.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

v1::ProblemSpec ParseSpec(const std::string& text) {
  v1::ProblemSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  return spec;
}

absl::StatusOr<std::unique_ptr<L1Regression>> Build(const v1::ProblemSpec& spec,
                                                    const std::string& data_root = "/",
                                                    int index = 0, int count = 1) {
  return L1Regression::Create(ProblemContext{spec, data_root, index, count});
}

std::unique_ptr<L1Regression> MustBuild(const v1::ProblemSpec& spec,
                                        const std::string& data_root = "/", int index = 0,
                                        int count = 1) {
  absl::StatusOr<std::unique_ptr<L1Regression>> problem = Build(spec, data_root, index, count);
  EXPECT_TRUE(problem.ok()) << problem.status();
  return problem.ok() ? std::move(*problem) : nullptr;
}

std::string TempDirectory() {
  std::string dir = testing::TempDir();
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = TempDirectory() + "/" + name;
  std::ofstream out(path, std::ios::trunc);
  out << content;
  return path;
}

// The shared data folder beside the project: $AIA_SHARED_DATA (unset: tests that need it skip).
std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  return env != nullptr && *env != '\0' ? env : "";  // scripts/test.sh passes ../shared/data
}

const char kSynthetic[] = R"pb(
  name: "l1_regression"
  synthetic { rows: 30 columns: 4 seed: 11 noise: 0.5 }
  l1_regression { intercept: true }
)pb";

TEST(L1Regression, EvaluateGivesTheAbsoluteResidualAndASignedRow) {
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(kSynthetic));
  ASSERT_NE(problem, nullptr);
  ASSERT_EQ(problem->dimension(), 5);
  const Vector x = Vector::LinSpaced(5, -1, 1);
  double sum = 0;
  for (int64_t j = 0; j < problem->pieces(); ++j) {
    absl::StatusOr<PieceEvaluation> e = problem->Evaluate(j, x);
    ASSERT_TRUE(e.ok()) << e.status();
    const double residual = problem->A().row(j).dot(x) - problem->b()(j);
    EXPECT_TRUE(e->feasible);
    EXPECT_DOUBLE_EQ(e->value, std::abs(residual)) << j;
    const Vector expected = (residual > 0 ? 1.0 : -1.0) * problem->A().row(j).transpose();
    EXPECT_EQ(e->subgradient, expected) << j;
    sum += e->value;
  }
  EXPECT_NEAR(sum, problem->Objective(x), 1e-12 * sum);
}

TEST(L1Regression, SubgradientInequalityHoldsAtRandomPoints) {
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(kSynthetic));
  ASSERT_NE(problem, nullptr);
  std::mt19937_64 engine(7);
  std::normal_distribution<double> normal;
  auto random_point = [&] {
    Vector x(problem->dimension());
    for (int64_t k = 0; k < x.size(); ++k) x(k) = 2 * normal(engine);
    return x;
  };
  for (int trial = 0; trial < 50; ++trial) {
    const Vector x = random_point();
    const Vector y = random_point();
    for (int64_t j = 0; j < problem->pieces(); ++j) {
      absl::StatusOr<PieceEvaluation> at_x = problem->Evaluate(j, x);
      absl::StatusOr<PieceEvaluation> at_y = problem->Evaluate(j, y);
      ASSERT_TRUE(at_x.ok() && at_y.ok());
      // f_j(y) >= f_j(x) + g'(y - x); tight when y is on the same side as x.
      EXPECT_GE(at_y->value, at_x->value + at_x->subgradient.dot(y - x) - 1e-12 * (1 + at_y->value))
          << "trial " << trial << " piece " << j;
    }
  }
}

TEST(L1Regression, ZeroResidualHasZeroSubgradient) {
  // y = 1 + 2 x exactly at x = (2, 1) (coefficient, intercept).
  const std::string path = WriteFile("l1_line.csv", "y,x\n3,1\n5,2\n7,3\n");
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(absl::StrCat(
      "name: 'l1_regression' file { path: '", path, "' } l1_regression { intercept: true }")));
  ASSERT_NE(problem, nullptr);
  absl::StatusOr<PieceEvaluation> e = problem->Evaluate(1, Eigen::Vector2d(2, 1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->value, 0);
  EXPECT_EQ(e->subgradient, Eigen::Vector2d::Zero());
  EXPECT_EQ(problem->Objective(Eigen::Vector2d(2, 1)), 0);
  EXPECT_EQ(problem->Objective(Eigen::Vector2d(2, 0)), 3);
}

TEST(L1Regression, FirstStageIsFreeWithoutRowsOrCost) {
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(kSynthetic));
  ASSERT_NE(problem, nullptr);
  const LinearConstraints& first = problem->first_stage();
  const int64_t n = problem->dimension();
  EXPECT_EQ(first.c, Vector::Zero(n));
  EXPECT_EQ(first.a.rows(), 0);
  EXPECT_EQ(first.a.cols(), n);
  EXPECT_EQ(first.row_lower.size(), 0);
  EXPECT_EQ(first.row_upper.size(), 0);
  ASSERT_EQ(first.lower.size(), n);
  ASSERT_EQ(first.upper.size(), n);
  for (int64_t k = 0; k < n; ++k) {
    EXPECT_TRUE(std::isinf(first.lower(k)) && first.lower(k) < 0) << k;
    EXPECT_TRUE(std::isinf(first.upper(k)) && first.upper(k) > 0) << k;
  }
  EXPECT_EQ(problem->piece_lower_bound(), 0);
}

TEST(L1Regression, EveryWorkerHoldsEveryRow) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<L1Regression> central = MustBuild(spec);
  spec.set_sharding(v1::ProblemSpec::STRIDED);
  std::unique_ptr<L1Regression> worker = MustBuild(spec, "/", 2, 3);
  ASSERT_NE(central, nullptr);
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->pieces(), 30);
  EXPECT_EQ(worker->rows(), 30);
  EXPECT_EQ(worker->A(), central->A());
  EXPECT_EQ(worker->b(), central->b());
  EXPECT_EQ(
      worker->Describe(),
      "l1_regression: 30 rows of synthetic data (seed 11, noise 0.5), 4 features + intercept");
}

TEST(L1Regression, IsRegisteredAsL1Regression) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  absl::StatusOr<std::unique_ptr<Problem>> problem = NewProblem(ProblemContext{spec, "/", 0, 1});
  ASSERT_TRUE(problem.ok()) << problem.status();
  auto* decomposable = dynamic_cast<DecomposableProblem*>(problem->get());
  ASSERT_NE(decomposable, nullptr);
  EXPECT_EQ(decomposable->pieces(), 30);
  EXPECT_EQ(decomposable->dimension(), 5);
}

TEST(L1Regression, PublishedStacklossSolutionHasThePublishedObjective) {
  const std::string root = SharedData();
  struct stat info;
  if (::stat((root + "/ml/stackloss.csv").c_str(), &info) != 0) {
    GTEST_SKIP() << root << "/ml/stackloss.csv is absent (set AIA_SHARED_DATA to the shared "
                 << "data folder to run this test)";
  }
  std::unique_ptr<L1Regression> problem =
      MustBuild(ParseSpec("name: 'l1_regression' file { path: 'ml/stackloss.csv' } "
                          "l1_regression { intercept: true }"),
                root);
  ASSERT_NE(problem, nullptr);
  ASSERT_EQ(problem->pieces(), 21);
  ASSERT_EQ(problem->dimension(), 4);
  EXPECT_EQ(problem->b()(0), 42);  // STACKLOSS is column 0, the label
  // Published (intercept, AIRFLOW, WATERTEMP, ACIDCONC); the intercept is last here.
  const Eigen::Vector4d x(0.83188406, 0.57391304, -0.06086957, -39.68985507);
  EXPECT_NEAR(problem->Objective(x), 42.08115942, 1e-6 * 42.08115942);
  double sum = 0;
  for (int64_t j = 0; j < problem->pieces(); ++j) sum += problem->Evaluate(j, x)->value;
  EXPECT_NEAR(sum, 42.08115942, 1e-6 * 42.08115942);
}

void ExpectError(const absl::Status& status, absl::StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(fragment));
}

TEST(L1Regression, RejectsParametersItDoesNotKnow) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  spec.GetReflection()->MutableUnknownFields(&spec)->AddLengthDelimited(99, "");
  ExpectError(Build(spec).status(), absl::StatusCode::kInvalidArgument,
              "fields this build does not know (numbers 99)");

  v1::ProblemSpec other = ParseSpec(
      "name: 'l1_regression' synthetic { rows: 3 columns: 1 } least_squares { intercept: true }");
  ExpectError(Build(other).status(), absl::StatusCode::kInvalidArgument,
              "problem.name is 'l1_regression' but its parameters are problem.least_squares");
}

TEST(L1Regression, RejectsBadSources) {
  ExpectError(Build(ParseSpec("name: 'l1_regression'")).status(),
              absl::StatusCode::kInvalidArgument, "problem.file or problem.synthetic is required");
  ExpectError(Build(ParseSpec("name: 'l1_regression' synthetic { rows: 0 columns: 2 }")).status(),
              absl::StatusCode::kInvalidArgument, "problem.synthetic.rows");
}

TEST(L1Regression, MissingFileIsNotFoundNamingThePath) {
  const std::string root = TempDirectory();
  ExpectError(Build(ParseSpec("name: 'l1_regression' file { path: 'no/such.csv' }"), root).status(),
              absl::StatusCode::kNotFound, "cannot open '<data_root>/no/such.csv'");
}

TEST(L1Regression, EvaluateRejectsBadPiecesAndSizes) {
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(kSynthetic));
  ASSERT_NE(problem, nullptr);
  ExpectError(problem->Evaluate(30, Vector::Zero(5)).status(), absl::StatusCode::kOutOfRange,
              "piece 30 is not in [0, 30)");
  ExpectError(problem->Evaluate(-1, Vector::Zero(5)).status(), absl::StatusCode::kOutOfRange,
              "piece -1");
  ExpectError(problem->Evaluate(0, Vector::Zero(4)).status(), absl::StatusCode::kInvalidArgument,
              "x has size 4, the dimension is 5");
}

// The rows are the cuts of a Clp master LP on the coordinator and x comes from a
// task: numbers Clp cannot take (beyond 1e20 in magnitude) are refused, naming the
// data row and column, or the element of x.
TEST(L1Regression, RefusesNumbersTheMasterLpCannotTake) {
  std::unique_ptr<L1Regression> problem = MustBuild(ParseSpec(kSynthetic));
  ASSERT_NE(problem, nullptr);
  Vector x = Vector::Zero(5);
  x(3) = 1e99;
  ExpectError(problem->Evaluate(0, x).status(), absl::StatusCode::kInvalidArgument, "x(3)");
  x(3) = 1e21;
  ExpectError(problem->Evaluate(0, x).status(), absl::StatusCode::kInvalidArgument, "1e20");

  const std::string root = TempDirectory();
  WriteFile("huge.csv", "y,a,b\n1,2,3\n4,1e300,6\n");
  ExpectError(Build(ParseSpec("name: 'l1_regression' file { path: 'huge.csv' }"), root).status(),
              absl::StatusCode::kInvalidArgument, "huge.csv: row 2, feature 1");
  WriteFile("huge_label.csv", "y,a,b\n1,2,3\n-1e25,5,6\n");
  ExpectError(
      Build(ParseSpec("name: 'l1_regression' file { path: 'huge_label.csv' }"), root).status(),
      absl::StatusCode::kInvalidArgument, "huge_label.csv: row 2, the label");
}

TEST(L1Regression, EveryInstanceHasTheDigestOfAllRows) {
  const char kSpec[] = R"pb(
    name: "l1_regression"
    synthetic { rows: 12 columns: 3 seed: 4 }
  )pb";
  std::unique_ptr<L1Regression> central = MustBuild(ParseSpec(kSpec));
  ASSERT_NE(central, nullptr);
  EXPECT_THAT(central->digest(), ::testing::MatchesRegex("fnv1a64:[0-9a-f]{16}"));
  EXPECT_EQ(central->ShardDigest(1, 3), central->digest());
  std::unique_ptr<L1Regression> other = MustBuild(ParseSpec(R"pb(
    name: "l1_regression"
    synthetic { rows: 12 columns: 3 seed: 5 }
  )pb"));
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->digest(), central->digest());
}

}  // namespace
}  // namespace aia
