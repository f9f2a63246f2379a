// gd_averaging driven by hand on a small synthetic least-squares problem.
#include "algorithms/gd_averaging/gd_averaging.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/testing/simulate.h"
#include "algorithms/typed_algorithm.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "problems/least_squares/least_squares.h"

namespace aia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int kWorkers = 3;  // 100 rows: shards of 33, 33 and 34 rows

v1::ProblemSpec Synthetic() {
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_synthetic()->set_rows(100);
  spec.mutable_synthetic()->set_columns(5);
  spec.mutable_synthetic()->set_seed(11);
  spec.mutable_synthetic()->set_noise(0.5);
  return spec;
}

v1::AlgorithmSpec Spec(double stepsize, bool uniform = false) {
  v1::AlgorithmSpec spec;
  spec.set_name("gd_averaging");
  spec.mutable_gd_averaging()->set_stepsize(stepsize);
  spec.mutable_gd_averaging()->set_uniform_weights(uniform);
  return spec;
}

std::unique_ptr<LeastSquares> Shard(int index, int count) {
  const v1::ProblemSpec spec = Synthetic();
  absl::StatusOr<std::unique_ptr<LeastSquares>> problem =
      LeastSquares::Create(ProblemContext{spec, "/", index, count});
  EXPECT_TRUE(problem.ok()) << problem.status();
  return std::move(problem).value();
}

Vector Decode(absl::string_view bytes) {
  absl::StatusOr<ConstVectorRef> view = Codec<Vector>::Decode(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return Vector(*view);
}

// 1 / L of the mean objective f / rows.
double SafeStepsize() {
  std::unique_ptr<LeastSquares> central = Shard(0, 1);
  return central->rows() / LargestEigenvalue(*central);
}

// One synchronous round by hand: the query is the rows-weighted average of the
// workers' gradient steps x_i = q - stepsize * grad f_i(q) / rows_i.
TEST(GdAveraging, QueryIsTheWeightedAverageOfTheWorkersSteps) {
  for (bool uniform : {false, true}) {
    const v1::AlgorithmSpec spec = Spec(0.3, uniform);
    std::unique_ptr<LeastSquares> central = Shard(0, 1);
    std::unique_ptr<Algorithm> coordinator = *NewAlgorithm(AlgorithmContext{spec, 0, -1, 3});
    std::vector<std::unique_ptr<LeastSquares>> locals;
    std::vector<WorkerInfo> infos;
    for (int i = 0; i < kWorkers; ++i) {
      locals.push_back(Shard(i, kWorkers));
      infos.push_back(WorkerInfo{locals.back()->rows()});
    }
    coordinator->OnWorkersReady(infos);
    const Payload q0 = *coordinator->Initialize(*central);
    std::vector<std::unique_ptr<Algorithm>> sessions;  // one per worker
    for (int i = 0; i < kWorkers; ++i) {
      sessions.push_back(*NewAlgorithm(AlgorithmContext{spec, 1u + i, i, kWorkers}));
    }
    // Two rounds: the second one's answers are differences, not full answers.
    Payload query = q0;
    for (int round = 0; round < 2; ++round) {
      std::vector<Payload> bytes;
      Vector weighted = Vector::Zero(5);
      double weights = 0;
      for (int i = 0; i < kWorkers; ++i) {
        Vector g;
        locals[i]->Gradient(Decode(query), g);
        const Vector x = Decode(query) - 0.3 * g / static_cast<double>(locals[i]->rows());
        const double w = uniform ? 1.0 : static_cast<double>(locals[i]->rows());
        weighted += w * x;
        weights += w;
      }
      for (int i = 0; i < kWorkers; ++i) {
        absl::StatusOr<Payload> answer = sessions[i]->Answer(query, *locals[i]);
        ASSERT_TRUE(answer.ok()) << answer.status();
        bytes.push_back(*answer);
      }
      std::vector<WorkerAnswer> answers;
      for (int i = 0; i < kWorkers; ++i) answers.push_back({i, bytes[i]});
      absl::StatusOr<Payload> next = coordinator->UpdateSynchronous(answers, *central);
      ASSERT_TRUE(next.ok()) << next.status();
      const Vector expected = weighted / weights;
      EXPECT_LE((Decode(*next) - expected).norm(), 1e-14 * expected.norm())
          << "uniform " << uniform << " round " << round;
      query = *next;
    }
  }
}

TEST(GdAveraging, AsynchronousRunConvergesToTheOptimum) {
  SimulateOptions options;
  options.workers = kWorkers;
  options.steps = 1500;
  options.seed = 17;
  absl::StatusOr<Simulation> run = Simulate(Spec(SafeStepsize()), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  std::unique_ptr<LeastSquares> central = Shard(0, 1);
  const LeastSquaresSolution optimum = SolveLeastSquares(*central);
  const double f0 = central->Objective(Vector::Zero(5));
  const double f = central->Objective(run->query);
  EXPECT_LT(f - optimum.objective, 1e-8 * (f0 - optimum.objective));
}

TEST(GdAveraging, SynchronousRoundsDescendToTheOptimum) {
  SimulateOptions options;
  options.workers = kWorkers;
  options.steps = 300;
  options.synchronous = true;
  std::unique_ptr<LeastSquares> central = Shard(0, 1);
  std::vector<double> objectives;
  options.observe = [&](int64_t, const Vector& q) { objectives.push_back(central->Objective(q)); };
  absl::StatusOr<Simulation> run = Simulate(Spec(SafeStepsize()), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  for (size_t k = 1; k < objectives.size(); ++k) {
    ASSERT_LE(objectives[k], objectives[k - 1] * (1 + 1e-12)) << "round " << k;
  }
  const LeastSquaresSolution optimum = SolveLeastSquares(*central);
  EXPECT_NEAR(objectives.back(), optimum.objective, 1e-8 * optimum.objective);
}

TEST(GdAveraging, Hooks) {
  SimulateOptions options;
  options.workers = kWorkers;
  options.steps = 30;
  absl::StatusOr<Simulation> run = Simulate(Spec(SafeStepsize()), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  Algorithm& algorithm = *run->coordinator;
  auto* central = dynamic_cast<FiniteSumProblem*>(run->central.get());
  ASSERT_NE(central, nullptr);
  EXPECT_THAT(algorithm.saved_value_names(), ElementsAre("objective"));
  EXPECT_THAT(algorithm.ProgressValues(), ElementsAre(Pair("objective", "-")));
  const double f = central->Objective(run->query);
  EXPECT_THAT(algorithm.SavedValues(*central), ElementsAre(f));
  EXPECT_THAT(algorithm.FinalReport(*central), ElementsAre(Pair("objective", f)));
  EXPECT_TRUE(algorithm.supports_synchronous());
  EXPECT_FALSE(algorithm.supports_rejoin());
}

TEST(GdAveraging, RejectsBadParametersProblemsAndQueries) {
  absl::StatusOr<std::unique_ptr<Algorithm>> bad = NewAlgorithm(AlgorithmContext{Spec(-1), 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("algorithm.gd_averaging.stepsize must be finite and > 0, got -1"));
  bad = NewAlgorithm(AlgorithmContext{Spec(INFINITY), 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  v1::AlgorithmSpec defaults;
  defaults.set_name("gd_averaging");
  EXPECT_TRUE(NewAlgorithm(AlgorithmContext{defaults, 0}).ok());

  class NotAFiniteSum : public Problem {
    int64_t dimension() const override { return 5; }
    int64_t rows() const override { return 1; }
    std::string Describe() const override { return "not a finite sum"; }
  } other;
  std::unique_ptr<Algorithm> algorithm = *NewAlgorithm(AlgorithmContext{Spec(0.1), 0});
  absl::StatusOr<Payload> q = algorithm->Initialize(other);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Payload> a = algorithm->Answer(Codec<Vector>::Encode(Vector::Zero(5)), other);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(a.status().message(), HasSubstr("gd_averaging needs a problem with gradients"));

  std::unique_ptr<LeastSquares> central = Shard(0, 1);
  a = algorithm->Answer(Codec<Vector>::Encode(Vector::Zero(4)), *central);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("the query has dimension 4 but the problem has 5"));
}

}  // namespace
}  // namespace aia
