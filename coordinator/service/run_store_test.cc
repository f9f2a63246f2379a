#include "coordinator/service/run_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

std::string TempDir(const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / (name + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

v1::RunSummary Summary(const std::string& id, const std::string& state) {
  v1::RunSummary summary;
  summary.set_run_id(id);
  summary.set_state(state);
  return summary;
}

TEST(RunStore, ReadsHistoryRowsWithEmptyCells) {
  const std::string dir = TempDir("history");
  Write(dir + "/history.csv",
        "record,iteration,epoch,time_s,precision,worker,objective\n"
        "0,0,0,0.000000,,,12.5\n"
        "1,100,41,0.025,0.0055,1,11.25\n");
  absl::StatusOr<std::vector<v1::Record>> records = ReadHistory(dir);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].worker(), -1);
  EXPECT_FALSE((*records)[0].has_precision());
  EXPECT_EQ((*records)[1].iteration(), 100);
  EXPECT_EQ((*records)[1].epoch(), 41);
  EXPECT_EQ((*records)[1].worker(), 1);
  EXPECT_DOUBLE_EQ((*records)[1].precision(), 0.0055);
  EXPECT_DOUBLE_EQ((*records)[1].values(0), 11.25);
  EXPECT_TRUE(ReadHistory(dir + "/none")->empty());
}

TEST(RunStore, SkipsTheStalenessColumn) {
  const std::string dir = TempDir("staleness_history");
  Write(dir + "/history.csv",
        "record,iteration,epoch,time_s,precision,worker,staleness,objective\n"
        "0,0,0,0.000000,,,,12.5\n"
        "1,100,41,0.025,0.0055,1,3,11.25\n");
  absl::StatusOr<std::vector<v1::Record>> records = ReadHistory(dir);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].worker(), 1);
  ASSERT_EQ((*records)[0].values_size(), 1);
  EXPECT_DOUBLE_EQ((*records)[0].values(0), 12.5);
  ASSERT_EQ((*records)[1].values_size(), 1);
  EXPECT_DOUBLE_EQ((*records)[1].values(0), 11.25);
}

TEST(RunStore, ABadHistoryRowIsNamedByItsLine) {
  const std::string dir = TempDir("bad_history");
  Write(dir + "/history.csv", "record,iteration,epoch,time_s,precision,worker\n0,0,0,0,,\n1,x,0,0,,\n");
  absl::StatusOr<std::vector<v1::Record>> records = ReadHistory(dir);
  EXPECT_EQ(records.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(records.status().message(), HasSubstr("history.csv:3: not a history row"));
}

TEST(RunStore, UnfinishedRunsComeBackInterruptedInOrder) {
  const std::string runs = TempDir("runs");
  for (const auto& [id, state] : std::vector<std::pair<std::string, std::string>>{
           {"run-10", "queued"}, {"run-2", "running"}, {"run-1", "completed"}}) {
    std::filesystem::create_directories(runs + "/" + id);
    ASSERT_TRUE(SaveServiceSummary(runs + "/" + id, Summary(id, state)).ok());
  }
  Write(runs + "/run-2/history.csv",
        "record,iteration,epoch,time_s,precision,worker\n0,0,0,0,,\n1,700,233,1.5,0.1,2\n");
  std::filesystem::create_directories(runs + "/run-3");
  Write(runs + "/run-3/service.textproto", "state: {");  // does not parse
  std::filesystem::create_directories(runs + "/not-a-run");

  std::vector<std::string> warnings;
  const std::vector<v1::RunSummary> loaded = LoadServiceRuns(runs, &warnings);
  ASSERT_EQ(loaded.size(), 3u);
  EXPECT_EQ(loaded[0].run_id(), "run-1");
  EXPECT_EQ(loaded[0].state(), "completed");
  EXPECT_EQ(loaded[1].run_id(), "run-2");
  EXPECT_EQ(loaded[1].state(), "interrupted");
  EXPECT_EQ(loaded[1].iterations(), 700);  // from its last record
  EXPECT_EQ(loaded[1].error(), "the coordinator service stopped while the run was running");
  EXPECT_EQ(loaded[1].exit_status(), 1);
  EXPECT_GT(loaded[1].ended_at(), 1.6e9);  // its files' last write
  EXPECT_EQ(loaded[2].run_id(), "run-10");
  EXPECT_EQ(loaded[2].state(), "interrupted");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("run-3/service.textproto: does not parse"));
  // Saved so, with a summary.json for the run directory.
  EXPECT_THAT(Read(runs + "/run-2/service.textproto"), HasSubstr("interrupted"));
  EXPECT_THAT(Read(runs + "/run-2/summary.json"), HasSubstr("\"status\": \"interrupted\""));
  EXPECT_THAT(Read(runs + "/run-2/summary.json"), HasSubstr("\"iterations\": 700"));
  // A second load finds the same, and keeps an existing summary.json.
  Write(runs + "/run-10/summary.json", "{\"status\": \"mine\"}\n");
  EXPECT_EQ(LoadServiceRuns(runs, &warnings)[2].state(), "interrupted");
  EXPECT_EQ(Read(runs + "/run-10/summary.json"), "{\"status\": \"mine\"}\n");
}

}  // namespace
}  // namespace aia
