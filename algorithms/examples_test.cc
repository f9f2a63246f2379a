// The shipped run configs (examples/*.textproto): each parses as a RunConfig and
// names a registered algorithm that accepts its parameters and its mode; the
// ones on least squares are simulated in one process (algorithms/testing) to
// check that their stepsizes descend and do not diverge.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "algorithms/algorithm.h"
#include "algorithms/testing/simulate.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "problems/least_squares/least_squares.h"
#include "proto/config.pb.h"

namespace aia {
namespace {

// heart_scale's least-squares objective at the optimum (no intercept).
constexpr double kHeartScaleOptimum = 62.587;

struct Example {
  std::string path;
  v1::RunConfig config;
};

// Every examples/*.textproto (the test runs in the runfiles tree), parsed.
std::vector<Example> Examples() {
  std::vector<Example> examples;
  for (const auto& entry : std::filesystem::directory_iterator("examples")) {
    if (entry.path().extension() != ".textproto") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    Example example{entry.path().string(), {}};
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &example.config))
        << example.path << " does not parse as an aia.v1.RunConfig";
    examples.push_back(std::move(example));
  }
  std::sort(examples.begin(), examples.end(),
            [](const Example& a, const Example& b) { return a.path < b.path; });
  return examples;
}

TEST(Examples, EveryExampleNamesARegisteredAlgorithmWithValidParameters) {
  const std::vector<Example> examples = Examples();
  std::vector<std::string> names;
  for (const Example& example : examples) names.push_back(example.path);
  EXPECT_THAT(names,
              ::testing::IsSupersetOf(
                  {"examples/gd_aggregation.textproto", "examples/gd_averaging.textproto",
                   "examples/sgd_least_squares.textproto", "examples/sgd_synchronous.textproto"}));
  for (const Example& example : examples) {
    const v1::RunConfig& config = example.config;
    EXPECT_TRUE(AlgorithmRegistry().Find(config.algorithm().name()).ok())
        << example.path << ": " << config.algorithm().name();
    absl::StatusOr<std::unique_ptr<Algorithm>> algorithm =
        NewAlgorithm(AlgorithmContext{config.algorithm(), config.seed()});
    ASSERT_TRUE(algorithm.ok()) << example.path << ": " << algorithm.status();
    if (config.mode() == v1::RunConfig::SYNCHRONOUS) {
      EXPECT_TRUE((*algorithm)->supports_synchronous()) << example.path;
    } else {
      EXPECT_TRUE((*algorithm)->supports_asynchronous()) << example.path;
    }
    EXPECT_TRUE(config.stop().has_iteration() || config.stop().has_epoch() ||
                config.stop().has_time_s() || config.stop().has_precision())
        << example.path << " has no stop criterion";
  }
}

// The optimizers' least-squares examples, simulated with 4 workers for their
// iterations: the objective ends well below where it started, never blows up
// on the way, and the gradient-descent ones reach heart_scale's optimum.
TEST(Examples, LeastSquaresExamplesDescendWithoutDiverging) {
  int simulated = 0;
  for (const Example& example : Examples()) {
    const v1::RunConfig& config = example.config;
    // The optimizers, whose queries are points of the problem (echo's are not).
    const std::string& name = config.algorithm().name();
    if (config.problem().name() != "least_squares" ||
        (name != "sgd" && name != "gd_aggregation" && name != "gd_averaging")) {
      continue;
    }
    if (config.problem().has_file() && !std::filesystem::exists(config.problem().file().path())) {
      ADD_FAILURE() << example.path << ": no " << config.problem().file().path()
                    << " (install liblinear-tools)";
      continue;
    }
    absl::StatusOr<std::unique_ptr<LeastSquares>> central =
        LeastSquares::Create(ProblemContext{config.problem(), "/", 0, 1});
    ASSERT_TRUE(central.ok()) << example.path << ": " << central.status();
    const LeastSquaresSolution optimum = SolveLeastSquares(**central);

    SimulateOptions options;
    options.workers = 4;
    options.steps = std::min<int64_t>(config.stop().iteration(), 50000);
    options.synchronous = config.mode() == v1::RunConfig::SYNCHRONOUS;
    options.seed = config.seed();
    double worst = 0, last = 0;
    options.observe = [&](int64_t, const Vector& q) {
      ASSERT_EQ(q.size(), (*central)->dimension()) << example.path;
      last = (*central)->Objective(q);
      worst = std::max(worst, last);
    };
    absl::StatusOr<Simulation> run = Simulate(config.algorithm(), config.problem(), options);
    ASSERT_TRUE(run.ok()) << example.path << ": " << run.status();
    ++simulated;
    // The first query is f(q0): recomputed from a fresh coordinator.
    std::unique_ptr<Algorithm> fresh =
        *NewAlgorithm(AlgorithmContext{config.algorithm(), config.seed()});
    absl::StatusOr<Payload> q0 = fresh->Initialize(**central);
    ASSERT_TRUE(q0.ok());
    const double f0 = (*central)->Objective(
        ConstVectorRef(reinterpret_cast<const double*>(q0->data()), (*central)->dimension()));
    std::printf("%s: f(q0) %.6g, largest %.6g, last %.6g, optimum %.6g\n", example.path.c_str(), f0,
                worst, last, optimum.objective);
    EXPECT_TRUE(std::isfinite(worst)) << example.path;
    EXPECT_LE(worst, 2 * f0) << example.path << " diverges";
    EXPECT_LT(last - optimum.objective, 0.1 * (f0 - optimum.objective)) << example.path;
    if (config.problem().has_file() &&
        config.problem().file().path().find("heart_scale") != std::string::npos) {
      EXPECT_NEAR(optimum.objective, kHeartScaleOptimum, 1e-3);
    }
    if (config.algorithm().name().rfind("gd_", 0) == 0) {
      EXPECT_NEAR(last, optimum.objective, 1e-3 * optimum.objective) << example.path;
    }
  }
  EXPECT_GE(simulated, 4);
}

}  // namespace
}  // namespace aia
