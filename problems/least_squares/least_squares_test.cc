#include "problems/least_squares/least_squares.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "Eigen/QR"
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

absl::StatusOr<std::unique_ptr<LeastSquares>> Build(const v1::ProblemSpec& spec,
                                                    const std::string& data_root = "/",
                                                    int index = 0, int count = 1) {
  return LeastSquares::Create(ProblemContext{spec, data_root, index, count});
}

std::unique_ptr<LeastSquares> MustBuild(const v1::ProblemSpec& spec, int index = 0, int count = 1) {
  absl::StatusOr<std::unique_ptr<LeastSquares>> problem = Build(spec, "/", index, count);
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

// Minimizes ||A x - b|| with Householder QR on columns scaled to unit norm (the
// scaling keeps ill-conditioned data like Longley's accurate).
Vector SolveLeastSquares(const Matrix& a, const Vector& b) {
  const Vector scale = a.colwise().norm().transpose().cwiseInverse();
  const Eigen::MatrixXd scaled = a * scale.asDiagonal();
  return scale.asDiagonal() * scaled.colPivHouseholderQr().solve(b);
}

const char kSynthetic[] = R"pb(
  name: "least_squares"
  synthetic { rows: 40 columns: 5 seed: 17 noise: 0.5 }
)pb";

TEST(LeastSquares, ObjectiveAndGradientFollowTheFormulas) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  const Vector x = Vector::LinSpaced(5, -1, 1);
  const Vector residual = problem->A() * x - problem->b();
  EXPECT_DOUBLE_EQ(problem->Objective(x), 0.5 * residual.squaredNorm());
  Vector gradient;
  problem->RowGradient(x, 3, gradient);
  EXPECT_TRUE(gradient.isApprox(problem->A().row(3).transpose() * residual(3)));
}

TEST(LeastSquares, GradientMatchesFiniteDifferences) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  const Vector x = Vector::LinSpaced(problem->dimension(), -0.7, 1.3);
  Vector gradient;
  problem->Gradient(x, gradient);
  ASSERT_EQ(gradient.size(), problem->dimension());
  const double h = 1e-5;
  for (int64_t j = 0; j < problem->dimension(); ++j) {
    Vector plus = x, minus = x;
    plus(j) += h;
    minus(j) -= h;
    const double numeric = (problem->Objective(plus) - problem->Objective(minus)) / (2 * h);
    EXPECT_NEAR(gradient(j), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "j=" << j;
  }
}

TEST(LeastSquares, GradientIsTheSumOfRowGradients) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  const Vector x = Vector::Constant(problem->dimension(), 0.3);
  Vector sum = Vector::Zero(problem->dimension());
  Vector row_gradient;
  for (int64_t i = 0; i < problem->rows(); ++i) {
    problem->RowGradient(x, i, row_gradient);
    sum += row_gradient;
  }
  Vector gradient;
  problem->Gradient(x, gradient);
  EXPECT_TRUE(gradient.isApprox(sum, 1e-12)) << gradient.transpose() << "\n" << sum.transpose();
}

TEST(LeastSquares, TheLeastSquaresSolutionMinimizesTheObjective) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  const Vector solution = problem->A().colPivHouseholderQr().solve(problem->b());
  const double best = problem->Objective(solution);
  Vector gradient;
  problem->Gradient(solution, gradient);
  EXPECT_LT(gradient.norm(), 1e-9 * problem->A().norm() * problem->b().norm());
  std::mt19937_64 engine(3);
  std::normal_distribution<double> normal;
  for (int trial = 0; trial < 20; ++trial) {
    Vector other = solution;
    for (int64_t j = 0; j < other.size(); ++j) other(j) += 0.1 * normal(engine);
    EXPECT_LE(best, problem->Objective(other));
  }
  EXPECT_LT(best, problem->Objective(Vector::Zero(solution.size())));
}

TEST(LeastSquares, ShardsPartitionTheRows) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> central = MustBuild(spec);
  ASSERT_NE(central, nullptr);
  const Vector x = Vector::LinSpaced(central->dimension(), 1, -2);
  Vector central_gradient;
  central->Gradient(x, central_gradient);
  for (auto sharding : {v1::ProblemSpec::CONTIGUOUS, v1::ProblemSpec::STRIDED}) {
    spec.set_sharding(sharding);
    for (int workers : {1, 2, 3, 7}) {
      double objective = 0;
      int64_t rows = 0;
      Vector gradient = Vector::Zero(central->dimension());
      for (int w = 0; w < workers; ++w) {
        std::unique_ptr<LeastSquares> shard = MustBuild(spec, w, workers);
        ASSERT_NE(shard, nullptr);
        EXPECT_EQ(shard->dimension(), central->dimension());
        objective += shard->Objective(x);
        rows += shard->rows();
        Vector g;
        shard->Gradient(x, g);
        gradient += g;
      }
      EXPECT_EQ(rows, central->rows());
      EXPECT_NEAR(objective, central->Objective(x), 1e-12 * central->Objective(x))
          << workers << " workers";
      EXPECT_TRUE(gradient.isApprox(central_gradient, 1e-12)) << workers << " workers";
    }
  }
}

TEST(LeastSquares, StridedShardHoldsTheCentralRows) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> central = MustBuild(spec);
  spec.set_sharding(v1::ProblemSpec::STRIDED);
  std::unique_ptr<LeastSquares> shard = MustBuild(spec, 1, 3);
  ASSERT_NE(central, nullptr);
  ASSERT_NE(shard, nullptr);
  ASSERT_EQ(shard->rows(), 13);  // rows 1, 4, ..., 37 of 40
  for (int64_t k = 0; k < shard->rows(); ++k) {
    EXPECT_EQ(shard->A().row(k), central->A().row(1 + 3 * k)) << k;
    EXPECT_EQ(shard->b()(k), central->b()(1 + 3 * k)) << k;
  }
  EXPECT_EQ(shard->Describe(),
            "least_squares: 13 of 40 rows (strided shard 1 of 3) of synthetic "
            "data (seed 17, "
            "noise 0.5), 5 features");
}

TEST(LeastSquares, TheCentralProblemKnowsEveryShardsDigest) {
  for (const auto sharding : {v1::ProblemSpec::CONTIGUOUS, v1::ProblemSpec::STRIDED}) {
    v1::ProblemSpec spec = ParseSpec(kSynthetic);
    spec.set_sharding(sharding);
    std::unique_ptr<LeastSquares> central = MustBuild(spec);
    ASSERT_NE(central, nullptr);
    EXPECT_THAT(central->digest(), ::testing::MatchesRegex("fnv1a64:[0-9a-f]{16}"));
    EXPECT_EQ(central->ShardDigest(0, 1), central->digest());
    std::set<std::string> digests;
    for (int index = 0; index < 3; ++index) {
      std::unique_ptr<LeastSquares> shard = MustBuild(spec, index, 3);
      ASSERT_NE(shard, nullptr);
      EXPECT_EQ(shard->digest(), central->ShardDigest(index, 3)) << index;
      // A worker's shard cannot tell the others'.
      EXPECT_EQ(shard->ShardDigest(0, 3), "");
      digests.insert(shard->digest());
    }
    EXPECT_EQ(digests.size(), 3u);
  }
  // Other data, other digest.
  v1::ProblemSpec other = ParseSpec(kSynthetic);
  other.mutable_synthetic()->set_seed(18);
  EXPECT_NE(MustBuild(other)->digest(), MustBuild(ParseSpec(kSynthetic))->digest());
}

TEST(LeastSquares, SyntheticDataIsDeterministicBySeed) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  std::unique_ptr<LeastSquares> first = MustBuild(spec);
  std::unique_ptr<LeastSquares> again = MustBuild(spec);
  spec.mutable_synthetic()->set_seed(18);
  std::unique_ptr<LeastSquares> other = MustBuild(spec);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(again, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(first->A(), again->A());
  EXPECT_EQ(first->b(), again->b());
  EXPECT_NE(first->A(), other->A());
  EXPECT_NE(first->b(), other->b());
}

TEST(LeastSquares, SyntheticLabelsAreALinearModelPlusNoise) {
  v1::ProblemSpec spec = ParseSpec(R"pb(
    name: "least_squares"
    synthetic { rows: 30 columns: 4 seed: 5 noise: 0 }
  )pb");
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  // Without noise b = A x* exactly, so the least-squares fit leaves no
  // residual.
  const Vector solution = problem->A().colPivHouseholderQr().solve(problem->b());
  EXPECT_LT(problem->Objective(solution), 1e-20 * problem->b().squaredNorm());
}

TEST(LeastSquares, InterceptAppendsAColumnOfOnes) {
  // y = 3 + 2 x exactly.
  const std::string path = WriteFile("line.libsvm", "5 1:1\n7 1:2\n3\n11 1:4\n");
  v1::ProblemSpec spec = ParseSpec(absl::StrCat("name: 'least_squares' file { path: '", path,
                                                "' } least_squares { intercept: true }"));
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->dimension(), 2);
  EXPECT_EQ(problem->A().col(1), Vector::Ones(4));
  EXPECT_EQ(problem->A().col(0), Eigen::Vector4d(1, 2, 0, 4));
  const Vector solution = SolveLeastSquares(problem->A(), problem->b());
  EXPECT_NEAR(solution(0), 2, 1e-12);
  EXPECT_NEAR(solution(1), 3, 1e-12);
  EXPECT_THAT(problem->Describe(), HasSubstr("1 feature + intercept"));

  spec.clear_least_squares();
  std::unique_ptr<LeastSquares> plain = MustBuild(spec);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->dimension(), 1);
}

TEST(LeastSquares, ReadsCsvByFileName) {
  const std::string path = WriteFile("line.csv", "x,y\n1,5\n2,7\n");
  v1::ProblemSpec spec =
      ParseSpec(absl::StrCat("name: 'least_squares' file { path: '", path, "' label_column: 1 }"));
  std::unique_ptr<LeastSquares> problem = MustBuild(spec);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->A(), Eigen::Vector2d(1, 2));
  EXPECT_EQ(problem->b(), Eigen::Vector2d(5, 7));
}

TEST(LeastSquares, IsRegisteredAsLeastSquares) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  absl::StatusOr<std::unique_ptr<Problem>> problem = NewProblem(ProblemContext{spec, "/", 0, 1});
  ASSERT_TRUE(problem.ok()) << problem.status();
  auto* finite_sum = dynamic_cast<FiniteSumProblem*>(problem->get());
  ASSERT_NE(finite_sum, nullptr);
  EXPECT_EQ(finite_sum->rows(), 40);
  EXPECT_EQ(finite_sum->dimension(), 5);
}

void ExpectError(const absl::StatusOr<std::unique_ptr<LeastSquares>>& problem,
                 absl::StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(problem.ok());
  EXPECT_EQ(problem.status().code(), code) << problem.status();
  EXPECT_THAT(std::string(problem.status().message()), HasSubstr(fragment));
}

TEST(LeastSquares, RejectsParametersItDoesNotKnow) {
  v1::ProblemSpec spec = ParseSpec(kSynthetic);
  // Field 11: what a newer config's parameters of another problem look like
  // here.
  spec.GetReflection()->MutableUnknownFields(&spec)->AddLengthDelimited(11, "");
  ExpectError(Build(spec), absl::StatusCode::kInvalidArgument,
              "fields this build does not know (numbers 11)");
}

TEST(LeastSquares, RejectsAWorkerWithoutRows) {
  v1::ProblemSpec spec = ParseSpec(R"pb(
    name: "least_squares"
    synthetic { rows: 4 columns: 2 seed: 1 }
    sharding: STRIDED
  )pb");
  ExpectError(Build(spec, "/", 5, 6), absl::StatusCode::kFailedPrecondition,
              "worker 5 of 6 gets no rows: the data has 4 rows");
  spec.set_sharding(v1::ProblemSpec::CONTIGUOUS);
  ExpectError(Build(spec, "/", 0, 6), absl::StatusCode::kFailedPrecondition,
              "worker 0 of 6 gets no rows: the data has 4 rows");
}

TEST(LeastSquares, RejectsBadSources) {
  ExpectError(Build(ParseSpec("name: 'least_squares'")), absl::StatusCode::kInvalidArgument,
              "problem.file or problem.synthetic is required");
  ExpectError(Build(ParseSpec("name: 'least_squares' synthetic { rows: 0 columns: 2 }")),
              absl::StatusCode::kInvalidArgument, "problem.synthetic.rows");
  ExpectError(Build(ParseSpec("name: 'least_squares' synthetic { rows: 100000 columns: 2000 }")),
              absl::StatusCode::kInvalidArgument, "problem.synthetic.columns");
  ExpectError(Build(ParseSpec("name: 'least_squares' synthetic { rows: 3 columns: 0 }")),
              absl::StatusCode::kInvalidArgument, "problem.synthetic.columns");
  ExpectError(Build(ParseSpec("name: 'least_squares' synthetic { rows: 3 columns: 1 noise: -1 }")),
              absl::StatusCode::kInvalidArgument, "problem.synthetic.noise");
}

TEST(LeastSquares, MissingFileIsNotFoundNamingThePath) {
  const std::string root = TempDirectory();
  v1::ProblemSpec spec = ParseSpec("name: 'least_squares' file { path: 'no/such.libsvm' }");
  // The path as the config gave it under the data root, which is not named.
  ExpectError(Build(spec, root), absl::StatusCode::kNotFound,
              "cannot open '<data_root>/no/such.libsvm': No such file or directory");
}

TEST(LeastSquares, RejectsPathsOutsideTheDataRoot) {
  const std::string root = TempDirectory() + "/data_root";
  ::mkdir(root.c_str(), 0755);
  WriteFile("secret.libsvm", "1 1:1\n");
  v1::ProblemSpec spec = ParseSpec("name: 'least_squares' file { path: '../secret.libsvm' }");
  ExpectError(Build(spec, root), absl::StatusCode::kPermissionDenied,
              "data path '../secret.libsvm' is outside the data root");
  // The same file is fine from a root that contains it.
  spec.mutable_file()->set_path("secret.libsvm");
  absl::StatusOr<std::unique_ptr<LeastSquares>> problem = Build(spec, TempDirectory());
  EXPECT_TRUE(problem.ok()) << problem.status();
}

constexpr char kHeartScale[] = "/usr/share/doc/liblinear-tools/examples/heart_scale";

TEST(LeastSquares, ReadsHeartScale) {
  struct stat info;
  if (::stat(kHeartScale, &info) != 0) {
    GTEST_SKIP() << kHeartScale << " is absent: apt-get install liblinear-tools";
  }
  v1::ProblemSpec spec = ParseSpec("name: 'least_squares' file { path: 'examples/heart_scale' }");
  absl::StatusOr<std::unique_ptr<LeastSquares>> all = Build(spec, "/usr/share/doc/liblinear-tools");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->rows(), 270);
  EXPECT_EQ((*all)->dimension(), 13);
  EXPECT_EQ((*all)->b().cwiseAbs(), Vector::Ones(270));  // labels are +1 and -1

  spec.mutable_file()->set_path(kHeartScale);
  absl::StatusOr<std::unique_ptr<LeastSquares>> half = Build(spec, "/", 1, 2);
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ((*half)->rows(), 135);
  EXPECT_EQ((*half)->A(), (*all)->A().bottomRows(135));
  EXPECT_EQ((*half)->Describe(),
            "least_squares: 135 of 270 rows (contiguous shard 1 of 2) of "
            "/usr/share/doc/liblinear-tools/examples/heart_scale, 13 features");
}

// The shared data folder beside the project: $AIA_SHARED_DATA (unset: the test
// that needs it skips).
std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  return env != nullptr && *env != '\0' ? env : "";  // scripts/test.sh passes ../shared/data
}

TEST(LeastSquares, FitsLongleyToTheNistCertifiedValues) {
  const std::string root = SharedData();
  struct stat info;
  if (::stat((root + "/ml/longley.libsvm.gz").c_str(), &info) != 0) {
    GTEST_SKIP() << root << "/ml/longley.libsvm.gz is absent (set AIA_SHARED_DATA to the "
                 << "shared data folder to run this test)";
  }
  v1::ProblemSpec spec = ParseSpec(
      "name: 'least_squares' file { path: 'ml/longley.libsvm.gz' } "
      "least_squares { intercept: "
      "true }");
  absl::StatusOr<std::unique_ptr<LeastSquares>> problem = Build(spec, root);
  ASSERT_TRUE(problem.ok()) << problem.status();
  ASSERT_EQ((*problem)->rows(), 16);
  ASSERT_EQ((*problem)->dimension(), 7);
  const Vector solution = SolveLeastSquares((*problem)->A(), (*problem)->b());

  // NIST StRD Longley, certified values. The file is R's `longley`, which has
  // Employed in thousands (NIST: persons), GNP and Population in thousands and
  // Unemployed and Armed.Forces in tens of NIST's units, so each certified
  // value is rescaled: intercept -3482258.63459582 / 1000, and so on.
  const double certified[7] = {15.0618722713733 / 1000, -0.358191792925910e-01,
                               -2.02022980381683 / 100, -1.03322686717359 / 100,
                               -0.511041056535807e-01,  1829.15146461355 / 1000,
                               -3482258.63459582 / 1000};
  for (int j = 0; j < 7; ++j) {
    EXPECT_NEAR(solution(j), certified[j], 1e-6 * std::abs(certified[j])) << "coefficient " << j;
  }
  EXPECT_NEAR(solution(6), -3482.25863459582, 1e-6 * 3482.25863459582) << "intercept";
}

}  // namespace
}  // namespace aia
