// sgd driven by hand: the asynchronous step and its staleness damping, the
// synchronous (minibatch) step, and a synchronous run on a small synthetic
// least-squares problem.
#include "algorithms/sgd/sgd.h"

#include <limits>
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

using ::testing::HasSubstr;

v1::AlgorithmSpec Spec(double stepsize) {
  v1::AlgorithmSpec spec;
  spec.set_name("sgd");
  spec.mutable_sgd()->set_stepsize(stepsize);
  spec.mutable_sgd()->set_zero_start(true);
  return spec;
}

v1::ProblemSpec Synthetic() {
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_synthetic()->set_rows(200);
  spec.mutable_synthetic()->set_columns(4);
  spec.mutable_synthetic()->set_seed(5);
  spec.mutable_synthetic()->set_noise(0.1);
  return spec;
}

Vector Decode(absl::string_view bytes) {
  absl::StatusOr<ConstVectorRef> view = Codec<Vector>::Decode(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return Vector(*view);
}

std::unique_ptr<LeastSquares> Central() {
  const v1::ProblemSpec spec = Synthetic();
  return *LeastSquares::Create(ProblemContext{spec, "/", 0, 1});
}

TEST(Sgd, AsynchronousStepSubtractsTheAnswer) {
  std::unique_ptr<LeastSquares> central = Central();
  std::unique_ptr<Algorithm> sgd = *NewAlgorithm(AlgorithmContext{Spec(0.1), 0});
  ASSERT_TRUE(sgd->Initialize(*central).ok());
  const Vector a = (Vector(4) << 1, 2, 3, 4).finished();
  EXPECT_EQ(Decode(*sgd->Update(Codec<Vector>::Encode(a), 0, *central)), -a);
  EXPECT_EQ(Decode(*sgd->Update(Codec<Vector>::Encode(a), 1, *central)), -2 * a);
}

TEST(Sgd, StalenessDampingDividesTheStep) {
  std::unique_ptr<LeastSquares> central = Central();
  v1::AlgorithmSpec spec = Spec(0.1);
  spec.mutable_sgd()->set_staleness_damping(0.5);
  std::unique_ptr<Algorithm> sgd = *NewAlgorithm(AlgorithmContext{spec, 0});
  ASSERT_TRUE(sgd->Initialize(*central).ok());
  const Vector a = (Vector(4) << 1, 2, 3, 4).finished();
  const std::string bytes = Codec<Vector>::Encode(a);
  // Staleness 0 (made at iteration 2, answered before step 3): the whole step.
  Vector q = Decode(*sgd->Update(bytes, AnswerInfo(0, 2, 2), *central));
  EXPECT_EQ(q, -a);
  // Staleness 3: the step divided by 1 + 0.5 * 3.
  const Vector before = q;
  q = Decode(*sgd->Update(bytes, AnswerInfo(1, 1, 4), *central));
  EXPECT_EQ(q, Vector(before - a / 2.5));

  // Damping 0 (the default): stale answers step in full.
  std::unique_ptr<Algorithm> plain = *NewAlgorithm(AlgorithmContext{Spec(0.1), 0});
  ASSERT_TRUE(plain->Initialize(*central).ok());
  EXPECT_EQ(Decode(*plain->Update(bytes, AnswerInfo(0, 0, 7), *central)), -a);
}

TEST(Sgd, RejectsBadStalenessDamping) {
  for (const double damping :
       {-0.5, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    v1::AlgorithmSpec spec = Spec(0.1);
    spec.mutable_sgd()->set_staleness_damping(damping);
    absl::StatusOr<std::unique_ptr<Algorithm>> bad = NewAlgorithm(AlgorithmContext{spec, 0});
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << damping;
    EXPECT_THAT(bad.status().message(),
                HasSubstr("algorithm.sgd.staleness_damping must be finite and >= 0"));
  }
}

TEST(Sgd, SynchronousStepSubtractsTheMeanOfTheRound) {
  std::unique_ptr<LeastSquares> central = Central();
  std::unique_ptr<Algorithm> sgd = *NewAlgorithm(AlgorithmContext{Spec(0.1), 0});
  EXPECT_TRUE(sgd->supports_synchronous());
  ASSERT_TRUE(sgd->Initialize(*central).ok());
  const Vector a = (Vector(4) << 1, 2, 3, 4).finished();
  const Vector b = (Vector(4) << 3, 0, -3, 8).finished();
  const std::string a_bytes = Codec<Vector>::Encode(a), b_bytes = Codec<Vector>::Encode(b);
  absl::StatusOr<Payload> q = sgd->UpdateSynchronous({{0, a_bytes}, {2, b_bytes}}, *central);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(Decode(*q), -(a + b) / 2);

  const std::string short_bytes = Codec<Vector>::Encode(Vector::Ones(2));
  q = sgd->UpdateSynchronous({{0, a_bytes}, {1, short_bytes}}, *central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(q.status().message(), HasSubstr("worker 1"));
}

TEST(Sgd, SynchronousRunDecreasesTheObjective) {
  std::unique_ptr<LeastSquares> central = Central();
  const LeastSquaresSolution optimum = SolveLeastSquares(*central);
  SimulateOptions options;
  options.workers = 4;
  options.steps = 2000;
  options.synchronous = true;
  options.seed = 3;
  absl::StatusOr<Simulation> run = Simulate(Spec(0.05), Synthetic(), options);
  ASSERT_TRUE(run.ok()) << run.status();
  const double f0 = central->Objective(Vector::Zero(4));
  const double f = central->Objective(run->query);
  // A constant step leaves SGD in a noise ball around the optimum.
  EXPECT_LT(f - optimum.objective, 0.01 * (f0 - optimum.objective));
}

TEST(Sgd, RejectsBadStepsize) {
  absl::StatusOr<std::unique_ptr<Algorithm>> bad = NewAlgorithm(AlgorithmContext{Spec(0), 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("algorithm.sgd.stepsize must be finite and > 0"));
}

}  // namespace
}  // namespace aia
