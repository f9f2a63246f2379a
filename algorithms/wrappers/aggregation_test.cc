// AggregationAlgorithm driven by hand (no gRPC): worker instances answer, a
// coordinator instance updates, and every query is checked against the aggregate
// recomputed from the answers the test knows are live.
#include "algorithms/wrappers/aggregation.h"

#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

class FakeProblem : public Problem {
 public:
  int64_t dimension() const override { return 4; }
  int64_t rows() const override { return 1; }
  std::string Describe() const override { return "fake"; }
};

// The worker answers the query (so the test chooses every answer by the query it
// sends); the coordinator's query is the aggregate itself.
class Identity : public AggregationAlgorithm {
 public:
  int query_count = 0;

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    return Vector::Zero(central.dimension());
  }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    return Vector(q);
  }
  absl::StatusOr<Vector> QueryFrom(const Vector& aggregate, const Problem&) override {
    ++query_count;
    return aggregate;
  }
};

// Overrides Aggregate: the mean instead of the sum.
class Mean : public Identity {
 protected:
  Vector Aggregate(const std::vector<const Vector*>& latest, Eigen::Index dimension) override {
    Vector sum = AggregationAlgorithm::Aggregate(latest, dimension);
    return sum / static_cast<double>(latest.size());
  }
};

std::string Bytes(const Vector& v) { return Codec<Vector>::Encode(v); }

Vector Decode(absl::string_view bytes) {
  absl::StatusOr<ConstVectorRef> view = Codec<Vector>::Decode(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return Vector(*view);
}

// The sum of the live answers, added in worker order (as the default Aggregate).
Vector Recompute(const std::vector<std::optional<Vector>>& live, Eigen::Index dimension) {
  Vector sum = Vector::Zero(dimension);
  for (const std::optional<Vector>& a : live) {
    if (a.has_value()) sum += *a;
  }
  return sum;
}

// One answer of worker `w`: the worker instance answers a query carrying `value`.
std::string AnswerOf(Identity& worker, const Vector& value) {
  FakeProblem local;
  absl::StatusOr<Payload> answer = worker.Answer(Bytes(value), local);
  EXPECT_TRUE(answer.ok()) << answer.status();
  return answer.ok() ? answer->ToString() : std::string();
}

TEST(AggregationAlgorithm, Modes) {
  Identity algorithm;
  EXPECT_TRUE(algorithm.supports_asynchronous());
  EXPECT_TRUE(algorithm.supports_synchronous());
  EXPECT_TRUE(algorithm.supports_rejoin());
  EXPECT_EQ(algorithm.query_type(), "f64le");
  EXPECT_EQ(algorithm.answer_type(), "f64le");
}

// 200000 updates in a seeded random interleaving, answers of mixed magnitudes,
// with workers lost and rejoining along the way; after every update the query
// must be exactly the sum of the live workers' latest answers.
TEST(AggregationAlgorithm, AggregateMatchesRecomputationOverLongRandomRun) {
  constexpr int kWorkers = 8;
  constexpr Eigen::Index kDimension = 16;
  constexpr int kUpdates = 200000;
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> pick(0, kWorkers - 1);
  std::uniform_real_distribution<double> exponent(-8, 8);
  std::bernoulli_distribution sign(0.5), lose(0.001);

  FakeProblem central;
  Identity coordinator;
  coordinator.OnWorkersReady(std::vector<WorkerInfo>(kWorkers, WorkerInfo{10}));
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  std::vector<std::unique_ptr<Identity>> workers;
  for (int w = 0; w < kWorkers; ++w) workers.push_back(std::make_unique<Identity>());
  std::vector<std::optional<Vector>> live(kWorkers);

  int losses = 0;
  for (int k = 0; k < kUpdates; ++k) {
    const int w = pick(rng);
    if (lose(rng) && live[w].has_value()) {
      // Lost, then back with a fresh session (a new worker instance).
      coordinator.OnWorkerLost(w);
      live[w].reset();
      ++losses;
      EXPECT_EQ(coordinator.latest(w), nullptr);
      coordinator.OnWorkerRejoined(w);
      workers[w] = std::make_unique<Identity>();
    }
    Vector value(kDimension);
    for (Eigen::Index j = 0; j < kDimension; ++j) {
      value[j] = (sign(rng) ? 1 : -1) * std::pow(10.0, exponent(rng));
    }
    absl::StatusOr<Payload> query =
        coordinator.Update(AnswerOf(*workers[w], value), w, central);
    ASSERT_TRUE(query.ok()) << query.status();
    live[w] = value;
    const Vector expected = Recompute(live, kDimension);
    const Vector got = Decode(*query);
    ASSERT_EQ(got.size(), kDimension);
    for (Eigen::Index j = 0; j < kDimension; ++j) {
      ASSERT_EQ(got[j], expected[j]) << "update " << k << " component " << j;
    }
  }
  EXPECT_GT(losses, 50);
  EXPECT_EQ(coordinator.query_count, kUpdates);
}

TEST(AggregationAlgorithm, LostWorkerLeavesAggregateAndRejoinsWhenItAnswers) {
  FakeProblem central;
  Identity coordinator, worker0, worker1;
  coordinator.OnWorkersReady(std::vector<WorkerInfo>(2));
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  Vector a = Vector::Constant(4, 1.0), b = Vector::Constant(4, 10.0);
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker0, a), 0, central).ok());
  absl::StatusOr<Payload> q = coordinator.Update(AnswerOf(worker1, b), 1, central);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 11.0));
  EXPECT_EQ(coordinator.answered_count(), 2);

  coordinator.OnWorkerLost(1);
  EXPECT_EQ(coordinator.answered_count(), 1);
  EXPECT_EQ(coordinator.latest(1), nullptr);
  q = coordinator.Update(AnswerOf(worker0, a), 0, central);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 1.0));  // worker 1's answer is gone

  coordinator.OnWorkerRejoined(1);
  Identity worker1_again;
  q = coordinator.Update(AnswerOf(worker1_again, Vector::Constant(4, 100.0)), 1, central);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 101.0));
  ASSERT_NE(coordinator.latest(1), nullptr);
  EXPECT_EQ(*coordinator.latest(1), Vector::Constant(4, 100.0));
}

TEST(AggregationAlgorithm, SynchronousRoundReplacesEveryAnswerThenOneQuery) {
  FakeProblem central;
  Identity coordinator;
  std::vector<Identity> workers(3);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-8, 8);
  std::bernoulli_distribution in_round(0.7);
  std::vector<std::optional<Vector>> live(3);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> bytes;
    std::vector<int> who;
    for (int w = 0; w < 3; ++w) {
      if (!in_round(rng) && !(w == 2 && who.empty())) continue;
      Vector value(4);
      for (int j = 0; j < 4; ++j) value[j] = std::pow(10.0, exponent(rng));
      bytes.push_back(AnswerOf(workers[w], value));
      who.push_back(w);
      live[w] = value;
    }
    std::vector<WorkerAnswer> answers;
    for (size_t k = 0; k < who.size(); ++k) answers.push_back({who[k], bytes[k]});
    const int before = coordinator.query_count;
    absl::StatusOr<Payload> q = coordinator.UpdateSynchronous(answers, central);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_EQ(coordinator.query_count, before + 1);
    ASSERT_EQ(Decode(*q), Recompute(live, 4)) << "round " << round;
  }
}

TEST(AggregationAlgorithm, WrongDimensionIsDataLossAndChangesNothing) {
  FakeProblem central;
  Identity coordinator, worker;
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker, Vector::Ones(4)), 0, central).ok());

  absl::StatusOr<Payload> q = coordinator.Update(Bytes(Vector::Ones(3)), 1, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(q.status().message(), HasSubstr("worker 1"));

  const std::string good = Bytes(Vector::Constant(4, 5.0));
  const std::string bad = Bytes(Vector::Ones(5));
  q = coordinator.UpdateSynchronous({{0, good}, {2, bad}}, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(q.status().message(), HasSubstr("worker 2"));
  ASSERT_NE(coordinator.latest(0), nullptr);
  EXPECT_EQ(*coordinator.latest(0), Vector::Ones(4));  // the good answer was not stored
  EXPECT_EQ(coordinator.latest(2), nullptr);

  // Not a whole number of doubles: the codec's DataLoss.
  q = coordinator.Update("abc", 0, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
}

TEST(AggregationAlgorithm, SubclassAggregateIsUsed) {
  FakeProblem central;
  Mean coordinator;
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  ASSERT_TRUE(coordinator.Update(Bytes(Vector::Constant(4, 2.0)), 0, central).ok());
  absl::StatusOr<Payload> q = coordinator.Update(Bytes(Vector::Constant(4, 4.0)), 3, central);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 3.0));
}

}  // namespace
}  // namespace aia
