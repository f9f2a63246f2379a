// The cutting-plane and trust-region methods through `aia run` with real worker
// daemons, against reference values: the extensive form of the same instance
// solved directly with Clp, and published optima. Instances from the shared data
// folder (../shared/data beside the checkout, passed in as AIA_SHARED_DATA by
// scripts/test.sh) are skipped with a message when it is absent; Debian's SMPS sample and the
// generated L1 example always run.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "problems/smps/smps.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::JsonDouble;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

// The project's shared data folder, as scripts/test.sh passes it in
// (AIA_SHARED_DATA: the absolute path of ../shared/data beside the checkout); empty
// when it is not given. Tests never guess a machine's path.
std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  return env != nullptr ? env : "";
}

#define REQUIRE_SHARED_DATA(path)                                                        \
  if (SharedData().empty()) {                                                            \
    GTEST_SKIP() << "needs " << (path) << " from the shared data folder: AIA_SHARED_DATA " \
                 << "is not set (scripts/test.sh sets it when ../shared/data exists)";  \
  }                                                                                      \
  if (!std::filesystem::exists(SharedData() + "/" + (path))) {                           \
    GTEST_SKIP() << SharedData() << "/" << (path) << " absent (AIA_SHARED_DATA)";         \
  }

struct Method {
  std::string algorithm;  // cutting_plane or trust_region
  double alpha;
};

// Runs `algorithm` on `problem` (a textproto ProblemSpec body) with 3 local
// workers; returns the final objective from summary.json's report.
double Solve(const Method& method, const std::string& problem, const std::string& data_root,
             const std::string& extra_params = "") {
  const std::string dir = NewTempDir(method.algorithm);
  const std::string config = dir + "/config.textproto";
  WriteFileOrDie(config,
                 absl::StrCat("algorithm { name: \"", method.algorithm, "\" ", method.algorithm,
                              " { alpha: ", method.alpha, " tolerance: 1e-8 ", extra_params,
                              " } }\nproblem { ", problem,
                              " }\nstop { time_s: 120 }\nsave { iteration: 100 }\n"));
  ProcessResult run = RunProcess({Runfile("coordinator/aia"), "run", config, "--local_workers=3",
                                  "--data_root=" + data_root, "--out=" + dir + "/out", "--quiet"},
                                 absl::Seconds(150));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(dir + "/out/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"algorithm\"")) << summary;
  return JsonDouble(summary, "objective");
}

const std::vector<Method> kMethods = {
    {"cutting_plane", 1.0}, {"cutting_plane", 0.6}, {"trust_region", 1.0}, {"trust_region", 0.6}};

std::string SmpsProblem(const std::string& cor, const std::string& tim, const std::string& sto,
                        int sample = 0) {
  return absl::StrCat("name: \"two_stage_lp\" smps { cor: \"", cor, "\" tim: \"", tim, "\" sto: \"",
                      sto, "\" sample: ", sample, " seed: 3 }");
}

void ExpectRelative(double value, double reference, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(value - reference), tolerance * std::max(1.0, std::abs(reference)))
      << what << ": " << value << " vs " << reference;
}

TEST(CuttingPlane, DebianSampleMatchesItsExtensiveForm) {
  const std::string root = "/usr/share/coin/Data/Sample";
  if (!std::filesystem::exists(root + "/bug.cor")) GTEST_SKIP() << root << "/bug.cor absent";
  v1::SmpsFiles files;
  files.set_cor("bug.cor");
  files.set_tim("bug.time");
  files.set_sto("bug.stoch");
  auto program = ReadSmpsFiles(files, root);
  ASSERT_TRUE(program.ok()) << program.status();
  auto ef = SolveExtensiveForm(*program);
  ASSERT_TRUE(ef.ok()) << ef.status();
  for (const Method& method : kMethods) {
    ExpectRelative(Solve(method, SmpsProblem("bug.cor", "bug.time", "bug.stoch"), root),
                   ef->objective, 1e-6, method.algorithm);
  }
}

TEST(CuttingPlane, GeneratedL1RegressionAgreesAcrossMethods) {
  // No data needed: both methods and both barriers reach the same optimum.
  const std::string problem =
      "name: \"l1_regression\" synthetic { rows: 300 columns: 6 seed: 11 noise: 1 } "
      "l1_regression { intercept: true }";
  const double reference = Solve({"cutting_plane", 1.0}, problem, "/", "chunk: 10");
  EXPECT_GT(reference, 0);
  for (const Method& method : kMethods) {
    ExpectRelative(Solve(method, problem, "/", "chunk: 10"), reference, 1e-7, method.algorithm);
  }
}

TEST(CuttingPlane, StormG2ReachesItsPublishedOptima) {
  REQUIRE_SHARED_DATA("smps/posts/storm/stormg2-27.sto");
  const std::string root = SharedData() + "/smps/posts/storm";
  for (const Method& method : kMethods) {
    ExpectRelative(Solve(method, SmpsProblem("stormg2.cor", "stormg2.tim", "stormg2-8.sto"), root),
                   15535235.7301, 1e-6, method.algorithm + " stormG2-8");
    ExpectRelative(Solve(method, SmpsProblem("stormg2.cor", "stormg2.tim", "stormg2-27.sto"), root),
                   15508982.3055, 1e-6, method.algorithm + " stormG2-27");
  }
}

TEST(CuttingPlane, LandSReachesItsPublishedOptimum) {
  REQUIRE_SHARED_DATA("smps/slptestset/electric/lands.sto");
  const std::string root = SharedData() + "/smps/slptestset/electric";
  for (const Method& method : kMethods) {
    ExpectRelative(Solve(method, SmpsProblem("lands.cor", "lands.tim", "lands.sto"), root),
                   381.853333, 1e-6, method.algorithm);
  }
}

TEST(CuttingPlane, SampledInstancesMatchTheirExtensiveForms) {
  REQUIRE_SHARED_DATA("smps/wright/storm/storm.sto");
  struct Instance {
    std::string dir, cor, tim, sto;
    int sample;
  };
  const std::vector<Instance> instances = {{"lands", "lands.cor", "lands.tim", "lands.sto", 50},
                                           {"gbd", "gbd.cor", "gbd.tim", "gbd.sto", 30},
                                           {"ssn", "ssn.cor", "ssn.tim", "ssn.sto", 10},
                                           {"20term", "20.cor", "20.tim", "20.sto", 10},
                                           {"storm", "storm.cor", "storm.tim", "storm.sto", 5}};
  for (const Instance& instance : instances) {
    const std::string root = SharedData() + "/smps/wright/" + instance.dir;
    v1::SmpsFiles files;
    files.set_cor(instance.cor);
    files.set_tim(instance.tim);
    files.set_sto(instance.sto);
    files.set_sample(instance.sample);
    files.set_seed(3);
    auto program = ReadSmpsFiles(files, root);
    ASSERT_TRUE(program.ok()) << instance.dir << ": " << program.status();
    auto ef = SolveExtensiveForm(*program);
    ASSERT_TRUE(ef.ok()) << instance.dir << ": " << ef.status();
    const std::string problem =
        SmpsProblem(instance.cor, instance.tim, instance.sto, instance.sample);
    ExpectRelative(Solve({"cutting_plane", 0.6}, problem, root), ef->objective, 1e-6,
                   instance.dir + " cutting_plane");
    ExpectRelative(Solve({"trust_region", 0.6}, problem, root), ef->objective, 1e-6,
                   instance.dir + " trust_region");
  }
}

TEST(CuttingPlane, StacklossReachesThePublishedL1Fit) {
  REQUIRE_SHARED_DATA("ml/stackloss.csv");
  const std::string problem =
      "name: \"l1_regression\" file { path: \"stackloss.csv\" } l1_regression { intercept: true }";
  for (const Method& method : kMethods) {
    ExpectRelative(Solve(method, problem, SharedData() + "/ml"), 42.08115942, 1e-8,
                   method.algorithm);
  }
}

}  // namespace
}  // namespace aia
