// The run-semantics conformance suite: every registered algorithm, in both modes,
// in-process and over gRPC with real worker daemons, must follow the counting,
// stopping and saving rules of docs/semantics.md.
//
// Each algorithm runs from its example config (examples/<name>*.textproto) on a
// small synthetic problem (600 rows of 4 features), with W = 3 workers.
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "algorithms/algorithm.h"
#include "coordinator/history/npy_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::JsonInt;
using ::aia::testing::JsonIntList;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadCsv;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::ToInt;
using ::testing::HasSubstr;

constexpr int kWorkers = 3;

enum class Transport { kInProcess, kGrpc };

// The example config of `algorithm`: examples/<algorithm>.textproto or the first
// examples/<algorithm>_*.textproto whose problem can take synthetic data (not
// two_stage_lp, which reads SMPS files only).
std::string ExampleConfig(const std::string& algorithm) {
  const std::string dir = Runfile("examples");
  std::vector<std::string> matches;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name == algorithm + ".textproto" ||
        (absl::StartsWith(name, algorithm + "_") && absl::EndsWith(name, ".textproto"))) {
      matches.push_back(entry.path().string());
    }
  }
  std::sort(matches.begin(), matches.end());
  for (const std::string& match : matches) {
    if (ReadFileOrDie(match).find("\"two_stage_lp\"") == std::string::npos) return match;
  }
  return "";
}

class Conformance
    : public ::testing::TestWithParam<std::tuple<std::string, v1::RunConfig::Mode, Transport>> {
 protected:
  void SetUp() override {
    algorithm_ = std::get<0>(GetParam());
    mode_ = std::get<1>(GetParam());
    config_ = ExampleConfig(algorithm_);
    ASSERT_FALSE(config_.empty()) << "algorithm '" << algorithm_ << "' has no examples/"
                                  << algorithm_ << "*.textproto";
    AlgorithmContext context{spec_};
    spec_.set_name(algorithm_);
    supported_ =
        (*NewAlgorithm(context))->supports_synchronous() || mode_ != v1::RunConfig::SYNCHRONOUS;
  }

  bool synchronous() const { return mode_ == v1::RunConfig::SYNCHRONOUS; }

  // Runs the example with `sets` on top of the common overrides.
  ProcessResult Run(const std::string& out, std::vector<std::string> sets) {
    std::vector<std::string> args = {Runfile("coordinator/aia"),
                                     "run",
                                     config_,
                                     "--out=" + out,
                                     "--quiet",
                                     absl::StrCat("--local_workers=", kWorkers)};
    if (std::get<2>(GetParam()) == Transport::kInProcess) args.push_back("--in_process");
    sets.insert(sets.end(), {"mode=" + std::string(synchronous() ? "SYNCHRONOUS" : "ASYNCHRONOUS"),
                             "problem.synthetic.rows=600", "problem.synthetic.columns=4",
                             "problem.synthetic.seed=5", "problem.synthetic.noise=0.1",
                             "stop.time_s=60", "save.time_s=100000000"});
    for (const std::string& set : sets) args.insert(args.end(), {"--set", set});
    return RunProcess(args, absl::Seconds(60));
  }

  std::string algorithm_;
  v1::RunConfig::Mode mode_;
  std::string config_;
  v1::AlgorithmSpec spec_;
  bool supported_ = true;
};

TEST_P(Conformance, CountsStopsAndSavesByIteration) {
  const std::string out = NewTempDir("iteration") + "/out";
  ProcessResult run = Run(
      out, {"stop.iteration=30", "save.iteration=7", "save.answers=true", "save.epoch=1000000000"});
  if (!supported_) {
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_THAT(run.err, HasSubstr("has no synchronous central step"));
    return;
  }
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // Stop at exactly N; answers sum to N (asynchronous) or W a round (synchronous).
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_EQ(JsonInt(summary, "iterations"), 30);
  const std::vector<int64_t> counts = JsonIntList(summary, "answer_count");
  ASSERT_EQ(counts.size(), static_cast<size_t>(kWorkers));
  EXPECT_EQ(counts[0] + counts[1] + counts[2], synchronous() ? 30 * kWorkers : 30);
  if (synchronous()) {
    EXPECT_EQ(JsonInt(summary, "epochs"), 30);
  }

  // Record 0, every 7th iteration, and the final step.
  const std::vector<std::vector<std::string>> history = ReadCsv(out + "/history.csv");
  ASSERT_EQ(history.size(), 1u + 6u);
  const std::vector<int64_t> expected = {0, 7, 14, 21, 28, 30};
  int64_t previous_epoch = 0;
  for (size_t r = 1; r < history.size(); ++r) {
    const std::vector<std::string>& row = history[r];
    EXPECT_EQ(ToInt(row[0]), static_cast<int64_t>(r - 1));
    EXPECT_EQ(ToInt(row[1]), expected[r - 1]);
    const int64_t epoch = ToInt(row[2]);
    EXPECT_GE(epoch, previous_epoch);
    if (synchronous()) {
      EXPECT_EQ(epoch, expected[r - 1]);
    }
    previous_epoch = epoch;
  }
  EXPECT_EQ(history[1][2], "0");         // record 0: epoch 0,
  EXPECT_EQ(history[1][3], "0.000000");  // time 0,
  EXPECT_EQ(history[1][4], "");          // no precision,
  EXPECT_EQ(history[1][5], "");          // no worker
  for (size_t r = 2; r < history.size(); ++r) {
    EXPECT_NE(history[r][4], "") << "record " << r - 1 << " has no precision";
    if (synchronous()) {
      EXPECT_EQ(history[r][5], "");  // a round has no single origin
    } else {
      EXPECT_GE(ToInt(history[r][5]), 0);
      EXPECT_LT(ToInt(history[r][5]), kWorkers);
    }
  }

  // The saved answers: one per saved step (asynchronous, from the record's worker)
  // or every answer of the round (synchronous).
  const std::vector<std::vector<std::string>> answers = ReadCsv(out + "/answers.csv");
  ASSERT_EQ(answers.size(), 1u + 5u * (synchronous() ? kWorkers : 1));
  EXPECT_EQ(answers[0], (std::vector<std::string>{"record", "worker"}));
  for (size_t a = 1; a < answers.size(); ++a) {
    const int64_t record = ToInt(answers[a][0]);
    const int64_t expected_record = synchronous() ? 1 + (a - 1) / kWorkers : a;
    EXPECT_EQ(record, expected_record);
    if (synchronous()) {
      EXPECT_EQ(ToInt(answers[a][1]), static_cast<int64_t>((a - 1) % kWorkers));
    } else {
      EXPECT_EQ(answers[a][1], history[record + 1][5]);
    }
  }
  if (std::filesystem::exists(out + "/answers.npy")) {
    auto npy = ReadNpy(out + "/answers.npy");
    ASSERT_TRUE(npy.ok()) << npy.status();
    EXPECT_EQ(npy->first[0], static_cast<int64_t>(answers.size() - 1));
  }
  auto queries = ReadNpy(out + "/queries.npy");
  ASSERT_TRUE(queries.ok()) << queries.status();
  EXPECT_EQ(queries->first[0], 6);
}

TEST_P(Conformance, StopsAndSavesByEpoch) {
  if (!supported_) GTEST_SKIP() << "checked by CountsStopsAndSavesByIteration";
  const std::string out = NewTempDir("epoch") + "/out";
  ProcessResult run = Run(out, {"stop.epoch=6", "save.epoch=2", "save.iteration=1000000000"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_EQ(JsonInt(summary, "epochs"), 6);
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"epoch\""));
  // Once per epoch boundary: epochs 0, 2, 4, 6, each saved once.
  std::vector<int64_t> epochs;
  for (const auto& row : ReadCsv(out + "/history.csv")) {
    if (row[0] != "record") epochs.push_back(ToInt(row[2]));
  }
  EXPECT_EQ(epochs, (std::vector<int64_t>{0, 2, 4, 6}));
}

std::vector<std::string> AlgorithmNames() { return AlgorithmRegistry().Names(); }

std::string CaseName(
    const ::testing::TestParamInfo<std::tuple<std::string, v1::RunConfig::Mode, Transport>>& info) {
  return absl::StrCat(std::get<0>(info.param), "_",
                      std::get<1>(info.param) == v1::RunConfig::SYNCHRONOUS ? "sync" : "async", "_",
                      std::get<2>(info.param) == Transport::kGrpc ? "grpc" : "inprocess");
}

INSTANTIATE_TEST_SUITE_P(
    EveryAlgorithm, Conformance,
    ::testing::Combine(::testing::ValuesIn(AlgorithmNames()),
                       ::testing::Values(v1::RunConfig::ASYNCHRONOUS, v1::RunConfig::SYNCHRONOUS),
                       ::testing::Values(Transport::kInProcess, Transport::kGrpc)),
    CaseName);

}  // namespace
}  // namespace aia
