// gd_aggregation driven by hand on a small synthetic least-squares problem.
#include "algorithms/gd_aggregation/gd_aggregation.h"

#include <cmath>
#include <memory>
#include <random>
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

constexpr int kWorkers = 4;

v1::ProblemSpec Synthetic() {
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_synthetic()->set_rows(120);
  spec.mutable_synthetic()->set_columns(5);
  spec.mutable_synthetic()->set_seed(3);
  spec.mutable_synthetic()->set_noise(0.5);
  return spec;
}

v1::AlgorithmSpec Spec(double stepsize) {
  v1::AlgorithmSpec spec;
  spec.set_name("gd_aggregation");
  spec.mutable_gd_aggregation()->set_stepsize(stepsize);
  return spec;
}

std::unique_ptr<LeastSquares> Central() {
  const v1::ProblemSpec spec = Synthetic();
  absl::StatusOr<std::unique_ptr<LeastSquares>> central =
      LeastSquares::Create(ProblemContext{spec, "/", 0, 1});
  EXPECT_TRUE(central.ok()) << central.status();
  return std::move(central).value();
}

Vector Decode(absl::string_view bytes) {
  absl::StatusOr<ConstVectorRef> view = Codec<Vector>::Decode(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return Vector(*view);
}

// A stepsize of 1/L, L the gradient's Lipschitz constant.
double SafeStepsize() { return 1.0 / LargestEigenvalue(*Central()); }

TEST(GdAggregation, QueryIsPreviousMinusStepsizeTimesSumOfLatestGradients) {
  const double stepsize = SafeStepsize() / kWorkers;
  const v1::AlgorithmSpec spec = Spec(stepsize);
  const v1::ProblemSpec problem = Synthetic();
  std::unique_ptr<LeastSquares> central = Central();
  absl::StatusOr<std::unique_ptr<Algorithm>> coordinator =
      NewAlgorithm(AlgorithmContext{spec, 1, -1, kWorkers});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  std::vector<std::unique_ptr<Algorithm>> workers;
  std::vector<std::unique_ptr<LeastSquares>> locals;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(*NewAlgorithm(AlgorithmContext{spec, 2u + i, i, kWorkers}));
    locals.push_back(*LeastSquares::Create(ProblemContext{problem, "/", i, kWorkers}));
  }
  absl::StatusOr<Payload> q0 = (*coordinator)->Initialize(*central);
  ASSERT_TRUE(q0.ok()) << q0.status();
  EXPECT_EQ(Decode(*q0), Vector::Zero(5));

  std::vector<Payload> pending(kWorkers, *q0);
  std::vector<Vector> latest(kWorkers);
  Vector previous = Decode(*q0);
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> pick(0, kWorkers - 1);
  const double f0 = central->Objective(previous);
  for (int step = 0; step < 400; ++step) {
    const int w = pick(rng);
    absl::StatusOr<Payload> answer = workers[w]->Answer(pending[w], *locals[w]);
    ASSERT_TRUE(answer.ok()) << answer.status();
    // The worker's answer is its shard's gradient at the query it was sent.
    Vector gradient;
    locals[w]->Gradient(Decode(pending[w]), gradient);
    ASSERT_EQ(Decode(*answer), gradient);
    latest[w] = gradient;

    absl::StatusOr<Payload> query = (*coordinator)->Update(*answer, w, *central);
    ASSERT_TRUE(query.ok()) << query.status();
    Vector sum = Vector::Zero(5);
    for (const Vector& g : latest) {
      if (g.size() > 0) sum += g;
    }
    const Vector expected = previous - stepsize * sum;
    ASSERT_EQ(Decode(*query), expected) << "step " << step;
    previous = expected;
    pending[w] = *query;
  }
  const LeastSquaresSolution optimum = SolveLeastSquares(*central);
  const double f = central->Objective(previous);
  EXPECT_LT(f - optimum.objective, 1e-6 * (f0 - optimum.objective));
}

TEST(GdAggregation, SynchronousRoundsDescendToTheOptimum) {
  SimulateOptions options;
  options.workers = kWorkers;
  options.steps = 300;
  options.synchronous = true;
  std::unique_ptr<LeastSquares> central = Central();
  std::vector<double> objectives;
  options.observe = [&](int64_t, const Vector& q) { objectives.push_back(central->Objective(q)); };
  absl::StatusOr<Simulation> run = Simulate(Spec(SafeStepsize()), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  // A full gradient step of 1/L never increases the objective.
  for (size_t k = 1; k < objectives.size(); ++k) {
    ASSERT_LE(objectives[k], objectives[k - 1] * (1 + 1e-12)) << "round " << k;
  }
  const LeastSquaresSolution optimum = SolveLeastSquares(*central);
  EXPECT_NEAR(objectives.back(), optimum.objective, 1e-8 * optimum.objective);
  EXPECT_LT((run->query - optimum.x).norm(), 1e-4 * optimum.x.norm());
}

TEST(GdAggregation, Hooks) {
  SimulateOptions options;
  options.workers = kWorkers;
  options.steps = 50;
  absl::StatusOr<Simulation> run = Simulate(Spec(SafeStepsize() / kWorkers), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  Algorithm& algorithm = *run->coordinator;
  auto* central = dynamic_cast<FiniteSumProblem*>(run->central.get());
  ASSERT_NE(central, nullptr);
  EXPECT_THAT(algorithm.saved_value_names(), ElementsAre("objective"));
  EXPECT_THAT(algorithm.ProgressValues(), ElementsAre(Pair("objective", "-")));
  const double f = central->Objective(run->query);
  EXPECT_THAT(algorithm.SavedValues(*central), ElementsAre(f));
  EXPECT_THAT(algorithm.ProgressValues(), ElementsAre(Pair("objective", HasSubstr("."))));
  EXPECT_THAT(algorithm.FinalReport(*central), ElementsAre(Pair("objective", f)));
  EXPECT_TRUE(algorithm.supports_synchronous());
  EXPECT_TRUE(algorithm.supports_rejoin());
}

TEST(GdAggregation, LostWorkersGradientLeavesTheSum) {
  const v1::AlgorithmSpec spec = Spec(0.01);
  std::unique_ptr<LeastSquares> central = Central();
  std::unique_ptr<Algorithm> coordinator = *NewAlgorithm(AlgorithmContext{spec, 1, -1, 2});
  ASSERT_TRUE(coordinator->Initialize(*central).ok());
  const Vector g0 = Vector::Constant(5, 1.0), g1 = Vector::Constant(5, 100.0);
  ASSERT_TRUE(coordinator->Update(Codec<Vector>::Encode(g0), 0, *central).ok());
  Vector q = Decode(*coordinator->Update(Codec<Vector>::Encode(g1), 1, *central));
  coordinator->OnWorkerLost(1);
  const Vector next = Decode(*coordinator->Update(Codec<Vector>::Encode(g0), 0, *central));
  EXPECT_EQ(next, q - 0.01 * g0);
}

TEST(GdAggregation, RejectsBadParametersProblemsAndQueries) {
  absl::StatusOr<std::unique_ptr<Algorithm>> bad = NewAlgorithm(AlgorithmContext{Spec(-1), 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("algorithm.gd_aggregation.stepsize must be finite and > 0, got -1"));
  bad = NewAlgorithm(AlgorithmContext{Spec(NAN), 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  v1::AlgorithmSpec defaults;
  defaults.set_name("gd_aggregation");
  EXPECT_TRUE(NewAlgorithm(AlgorithmContext{defaults, 0}).ok());

  class NotAFiniteSum : public Problem {
    int64_t dimension() const override { return 5; }
    int64_t rows() const override { return 1; }
    std::string Describe() const override { return "not a finite sum"; }
  } other;
  std::unique_ptr<Algorithm> algorithm = *NewAlgorithm(AlgorithmContext{Spec(0.1), 0});
  absl::StatusOr<Payload> q = algorithm->Initialize(other);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(q.status().message(), HasSubstr("not a finite sum"));
  absl::StatusOr<Payload> a = algorithm->Answer(Codec<Vector>::Encode(Vector::Zero(5)), other);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);

  std::unique_ptr<LeastSquares> central = Central();
  a = algorithm->Answer(Codec<Vector>::Encode(Vector::Zero(3)), *central);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("the query has dimension 3 but the problem has 5"));
}

}  // namespace
}  // namespace aia
