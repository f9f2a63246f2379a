// AveragingAlgorithm driven by hand (no gRPC): worker instances send differences,
// a coordinator instance keeps the weighted average, and the test compares it
// with the exact weighted average of the workers' latest full answers.
#include "algorithms/wrappers/averaging.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

// The reference arithmetic: binary128 where the compiler has it (a weighted sum of
// a few doubles with integer weights is then exact for these magnitudes).
#if defined(__SIZEOF_FLOAT128__)
using Exact = __float128;
#else
using Exact = long double;
#endif

class FakeProblem : public Problem {
 public:
  int64_t dimension() const override { return 4; }
  int64_t rows() const override { return 1; }
  std::string Describe() const override { return "fake"; }
};

// The worker's full answer is the query (so the test chooses every answer); the
// coordinator's query is the average itself.
class Identity : public AveragingAlgorithm {
 public:
  explicit Identity(Weights weights = Weights::kRows) : AveragingAlgorithm(weights) {}
  int query_count = 0;

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    return Vector::Zero(central.dimension());
  }
  absl::StatusOr<Vector> FullAnswer(const ConstVectorRef& q, Problem&) override {
    return Vector(q);
  }
  absl::StatusOr<Vector> QueryFrom(const Vector& average, const Problem&) override {
    ++query_count;
    return average;
  }
};

std::string Bytes(const Vector& v) { return Codec<Vector>::Encode(v); }

Vector Decode(absl::string_view bytes) {
  absl::StatusOr<ConstVectorRef> view = Codec<Vector>::Decode(bytes);
  EXPECT_TRUE(view.ok()) << view.status();
  return Vector(*view);
}

std::string AnswerOf(Identity& worker, const Vector& value) {
  FakeProblem local;
  absl::StatusOr<Payload> answer = worker.Answer(Bytes(value), local);
  EXPECT_TRUE(answer.ok()) << answer.status();
  return answer.ok() ? answer->ToString() : std::string();
}

// Compares averages with the exact one, per component, relative to the scale of
// the sum: |avg_j - exact_j| / (sum_i w_i |a_ij| / sum_i w_i), the usual measure
// for a sum whose terms may cancel (for terms of one sign it is the plain
// relative error).
class Reference {
 public:
  Reference(std::vector<double> weights, Eigen::Index dimension)
      : weights_(std::move(weights)), latest_(weights_.size()), dimension_(dimension) {}

  void Set(int worker, const Vector& a) { latest_[worker] = a; }

  // The largest relative error of `average` over the components.
  double Error(const Vector& average) const {
    Exact weight_sum = 0;
    for (size_t i = 0; i < latest_.size(); ++i) {
      if (latest_[i].has_value()) weight_sum += weights_[i];
    }
    double worst = 0;
    for (Eigen::Index j = 0; j < dimension_; ++j) {
      Exact sum = 0, scale = 0;
      for (size_t i = 0; i < latest_.size(); ++i) {
        if (!latest_[i].has_value()) continue;
        const Exact term = static_cast<Exact>(weights_[i]) * static_cast<Exact>((*latest_[i])[j]);
        sum += term;
        scale += term < 0 ? -term : term;
      }
      Exact diff = static_cast<Exact>(average[j]) - sum / weight_sum;
      if (diff < 0) diff = -diff;
      worst = std::max(worst, static_cast<double>(diff / (scale / weight_sum)));
    }
    return worst;
  }

 private:
  std::vector<double> weights_;
  std::vector<std::optional<Vector>> latest_;
  Eigen::Index dimension_;
};

TEST(AveragingAlgorithm, Modes) {
  Identity algorithm;
  EXPECT_TRUE(algorithm.supports_asynchronous());
  EXPECT_TRUE(algorithm.supports_synchronous());
  EXPECT_FALSE(algorithm.supports_rejoin());
}

TEST(AveragingAlgorithm, WorkerSendsTheFullAnswerFirstThenDifferences) {
  Identity worker;
  const Vector a = (Vector(4) << 1, 2, 3, 4).finished();
  const Vector b = (Vector(4) << 1.5, 0, -3, 4).finished();
  EXPECT_EQ(Decode(AnswerOf(worker, a)), a);
  EXPECT_EQ(Decode(AnswerOf(worker, b)), b - a);
  EXPECT_EQ(Decode(AnswerOf(worker, b)), Vector::Zero(4));
  // A new session (instance) starts from zero again.
  Identity restarted;
  EXPECT_EQ(Decode(AnswerOf(restarted, b)), b);
}

// A long asynchronous run in a seeded random interleaving, weights by rows, with
// answers whose magnitudes span 1e-8..1e8: across the components of one answer
// (eight decades) and over the run (the scale shrinks by eight decades, as the
// steps of a converging method do). After every update the coordinator's average
// must be within 1e-9 of the exact one. A plain running sum of the same
// differences (what the compensation guards against) must drift beyond that.
TEST(AveragingAlgorithm, StaysWithin1e9OfExactAverageOverLongRandomRun) {
  constexpr int kWorkers = 8;
  constexpr Eigen::Index kDimension = 16;
  constexpr int kUpdates = 200000;
  const std::vector<double> rows = {3, 7, 11, 13, 1, 29, 5, 17};
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> pick(0, kWorkers - 1);
  std::uniform_real_distribution<double> factor(0.1, 1.0);
  std::bernoulli_distribution sign(0.5);

  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kRows);
  std::vector<WorkerInfo> infos;
  for (double r : rows) infos.push_back(WorkerInfo{static_cast<int64_t>(r)});
  coordinator.OnWorkersReady(infos);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  std::vector<std::unique_ptr<Identity>> workers;
  for (int w = 0; w < kWorkers; ++w) workers.push_back(std::make_unique<Identity>());
  Reference reference(rows, kDimension);

  Vector naive_sum = Vector::Zero(kDimension);  // S += w * d, in plain doubles
  double naive_weight_sum = 0;
  std::vector<bool> answered(kWorkers, false);
  double worst = 0, worst_naive = 0;
  for (int k = 0; k < kUpdates; ++k) {
    const int w = pick(rng);
    const double scale = std::pow(10.0, 4.0 - 8.0 * k / kUpdates);  // 1e4 -> 1e-4
    Vector value(kDimension);
    for (Eigen::Index j = 0; j < kDimension; ++j) {
      const double magnitude = std::pow(10.0, -4.0 + 8.0 * j / (kDimension - 1));  // 1e-4..1e4
      value[j] = (sign(rng) ? 1 : -1) * scale * magnitude * factor(rng);
    }
    const std::string difference = AnswerOf(*workers[w], value);
    absl::StatusOr<Payload> query = coordinator.Update(difference, w, central);
    ASSERT_TRUE(query.ok()) << query.status();
    reference.Set(w, value);

    naive_sum += rows[w] * Decode(difference);
    if (!answered[w]) naive_weight_sum += rows[w];
    answered[w] = true;

    const double error = reference.Error(Decode(*query));
    worst = std::max(worst, error);
    ASSERT_LE(error, 1e-9) << "update " << k;
    worst_naive = std::max(worst_naive, reference.Error(naive_sum / naive_weight_sum));
  }
  std::printf("largest relative error: compensated %.3g, plain running sum %.3g\n", worst,
              worst_naive);
  EXPECT_GT(worst_naive, 1e-9);
  EXPECT_EQ(coordinator.answered_count(), kWorkers);
  double weight_sum = 0;
  for (double r : rows) weight_sum += r;
  EXPECT_EQ(coordinator.weight_sum(), weight_sum);
}

// Synchronous rounds of random subsets of workers, uniform weights: every
// round's differences are applied, then one query.
TEST(AveragingAlgorithm, SynchronousRoundsStayWithin1e9OfExactAverage) {
  constexpr int kWorkers = 5;
  constexpr Eigen::Index kDimension = 8;
  constexpr int kRounds = 40000;
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> factor(0.1, 1.0);
  std::bernoulli_distribution sign(0.5), in_round(0.6);

  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kUniform);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  std::vector<std::unique_ptr<Identity>> workers;
  for (int w = 0; w < kWorkers; ++w) workers.push_back(std::make_unique<Identity>());
  Reference reference(std::vector<double>(kWorkers, 1.0), kDimension);
  double worst = 0;
  for (int round = 0; round < kRounds; ++round) {
    const double shrink = std::pow(10.0, 4.0 - 8.0 * round / kRounds);  // 1e4 -> 1e-4
    std::vector<std::string> bytes;
    std::vector<int> who;
    for (int w = 0; w < kWorkers; ++w) {
      if (!in_round(rng) && !(w == kWorkers - 1 && who.empty())) continue;
      Vector value(kDimension);
      for (Eigen::Index j = 0; j < kDimension; ++j) {
        const double magnitude = std::pow(10.0, -4.0 + 8.0 * j / (kDimension - 1));
        value[j] = (sign(rng) ? 1 : -1) * shrink * magnitude * factor(rng);
      }
      bytes.push_back(AnswerOf(*workers[w], value));
      who.push_back(w);
      reference.Set(w, value);
    }
    std::vector<WorkerAnswer> answers;
    for (size_t k = 0; k < who.size(); ++k) answers.push_back({who[k], bytes[k]});
    const int before = coordinator.query_count;
    absl::StatusOr<Payload> query = coordinator.UpdateSynchronous(answers, central);
    ASSERT_TRUE(query.ok()) << query.status();
    ASSERT_EQ(coordinator.query_count, before + 1);
    const double error = reference.Error(Decode(*query));
    worst = std::max(worst, error);
    ASSERT_LE(error, 1e-9) << "round " << round;
  }
  std::printf("largest relative error: %.3g\n", worst);
  EXPECT_EQ(coordinator.weight_sum(), kWorkers);
}

// One difference is rounded once (to half an ulp of its own size); the worker
// sends what that rounding dropped with its next difference, so a jump from 1e8
// to 1e-8 costs accuracy for one answer only.
TEST(AveragingAlgorithm, RoundingOfADifferenceIsSentWithTheNextOne) {
  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kUniform);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  Identity worker;
  const Vector big = Vector::Constant(4, 1.2345678901234567e8);
  const Vector tiny = Vector::Constant(4, 1.2345e-8);
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker, big), 0, central).ok());
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker, tiny), 0, central).ok());
  const double first = (coordinator.average() - tiny).cwiseAbs().maxCoeff() / tiny[0];
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker, tiny), 0, central).ok());
  const double second = (coordinator.average() - tiny).cwiseAbs().maxCoeff() / tiny[0];
  std::printf("relative error after the jump %.3g, after the next answer %.3g\n", first, second);
  EXPECT_GT(first, 1e-9);  // the jump's rounding (up to 1e8 * 2^-53 ~ 7e-9)
  EXPECT_LE(second, 1e-15);
}

TEST(AveragingAlgorithm, LostWorkerStaysInTheAverage) {
  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kRows);
  coordinator.OnWorkersReady({WorkerInfo{1}, WorkerInfo{3}});
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  Identity worker0, worker1;
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker0, Vector::Constant(4, 4.0)), 0, central).ok());
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker1, Vector::Constant(4, 8.0)), 1, central).ok());
  coordinator.OnWorkerLost(1);
  absl::StatusOr<Payload> q =
      coordinator.Update(AnswerOf(worker0, Vector::Constant(4, 0.0)), 0, central);
  ASSERT_TRUE(q.ok());
  // (1 * 0 + 3 * 8) / 4: worker 1's last answer still counts.
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 6.0));
  EXPECT_EQ(coordinator.weight_sum(), 4.0);
}

TEST(AveragingAlgorithm, RejoinedWorkersAnswerIsRefused) {
  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kUniform);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  Identity worker;
  ASSERT_TRUE(coordinator.Update(AnswerOf(worker, Vector::Ones(4)), 0, central).ok());
  coordinator.OnWorkerLost(0);
  coordinator.OnWorkerRejoined(0);
  Identity restarted;
  absl::StatusOr<Payload> q =
      coordinator.Update(AnswerOf(restarted, Vector::Ones(4)), 0, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(q.status().message(), HasSubstr("counted twice"));
  EXPECT_EQ(coordinator.average(), Vector::Ones(4));
}

TEST(AveragingAlgorithm, WrongDimensionIsDataLossAndChangesNothing) {
  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kUniform);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  ASSERT_TRUE(coordinator.Update(Bytes(Vector::Ones(4)), 0, central).ok());
  absl::StatusOr<Payload> q = coordinator.Update(Bytes(Vector::Ones(3)), 1, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(q.status().message(), HasSubstr("worker 1"));

  const std::string good = Bytes(Vector::Ones(4));
  const std::string bad = Bytes(Vector::Ones(2));
  q = coordinator.UpdateSynchronous({{0, good}, {2, bad}}, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(q.status().message(), HasSubstr("worker 2"));
  EXPECT_EQ(coordinator.average(), Vector::Ones(4));  // the good difference was not added
  EXPECT_EQ(coordinator.answered_count(), 1);
}

TEST(AveragingAlgorithm, WeightsByRowsNeedTheRowCounts) {
  FakeProblem central;
  Identity coordinator(AveragingAlgorithm::Weights::kRows);
  ASSERT_TRUE(coordinator.Initialize(central).ok());
  absl::StatusOr<Payload> q = coordinator.Update(Bytes(Vector::Ones(4)), 0, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(q.status().message(), HasSubstr("no row count for worker 0"));

  // Rows 0 (a worker that failed setup) weigh nothing; alone they leave no average.
  coordinator.OnWorkersReady({WorkerInfo{0}, WorkerInfo{2}});
  q = coordinator.Update(Bytes(Vector::Ones(4)), 0, central);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  q = coordinator.Update(Bytes(Vector::Constant(4, 3.0)), 1, central);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(Decode(*q), Vector::Constant(4, 3.0));
}

}  // namespace
}  // namespace aia
