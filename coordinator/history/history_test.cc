#include "coordinator/history/history.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/history/npy_writer.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace aia {
namespace {

using Record = RunDirectory::Record;

// A fresh directory path (not created) per test.
std::string TestDir(const std::string& name) {
  const std::string dir = absl::StrCat(testing::TempDir(), "/history_", name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

std::string Dense(const std::vector<double>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

aia::v1::RunConfig SampleConfig() {
  aia::v1::RunConfig config;
  config.set_name("sample");
  config.mutable_stop()->set_iteration(100);
  config.set_resilience(1);
  return config;
}

std::unique_ptr<RunDirectory> MustCreate(const std::string& dir,
                                         const std::vector<std::string>& extra = {}) {
  auto run = RunDirectory::Create(dir, SampleConfig(), extra);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? std::move(run).value() : nullptr;
}

TEST(RunDirectory, CreateWritesConfigAndHistoryHeader) {
  const std::string dir = TestDir("create") + "/nested/run";
  auto run = MustCreate(dir, {"loss", "a,b"});
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->path(), dir);
  EXPECT_EQ(ReadFile(dir + "/history.csv"),
            "record,iteration,epoch,time_s,precision,worker,loss,\"a,b\"\n");
  aia::v1::RunConfig read;
  ASSERT_TRUE(
      google::protobuf::TextFormat::ParseFromString(ReadFile(dir + "/config.textproto"), &read));
  EXPECT_EQ(read.SerializeAsString(), SampleConfig().SerializeAsString());
  EXPECT_NE(ReadFile(dir + "/config.textproto").find("name: \"sample\""), std::string::npos);
  // Nothing else before the first record.
  EXPECT_FALSE(Exists(dir + "/queries.npy"));
  EXPECT_FALSE(Exists(dir + "/answers.csv"));
  EXPECT_FALSE(Exists(dir + "/summary.json"));
}

TEST(RunDirectory, RefusesAnExistingRun) {
  const std::string dir = TestDir("refuse");
  { ASSERT_NE(MustCreate(dir), nullptr); }
  auto again = RunDirectory::Create(dir, SampleConfig());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("history.csv"), std::string::npos) << again.status();

  const std::string finished = TestDir("refuse_summary");
  std::filesystem::create_directories(finished);
  std::ofstream(finished + "/summary.json") << "{}";
  auto over = RunDirectory::Create(finished, SampleConfig());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(over.status().message().find("summary.json"), std::string::npos) << over.status();
  EXPECT_EQ(ReadFile(finished + "/summary.json"), "{}");
  EXPECT_FALSE(Exists(finished + "/history.csv"));
}

TEST(RunDirectory, AcceptsAnEmptyExistingDirectory) {
  const std::string dir = TestDir("empty_existing");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/notes.txt") << "mine";
  EXPECT_NE(MustCreate(dir), nullptr);
}

TEST(RunDirectory, RejectsBadExtraColumns) {
  EXPECT_EQ(RunDirectory::Create(TestDir("dup"), SampleConfig(), {"epoch"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunDirectory::Create(TestDir("dup2"), SampleConfig(), {"x", "x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunDirectory::Create(TestDir("empty_col"), SampleConfig(), {""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Reserved for save.staleness even when it is off.
  EXPECT_EQ(
      RunDirectory::Create(TestDir("staleness_col"), SampleConfig(), {"staleness"}).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(RunDirectory, StalenessColumnOnlyWithSaveStaleness) {
  const std::string off = TestDir("staleness_off");
  auto without = MustCreate(off, {"loss"});
  ASSERT_NE(without, nullptr);
  Record stale{1, 0, 0.5, 0.1, 2, {3}};
  stale.staleness = 4;
  ASSERT_TRUE(without->Append(stale, Dense({1}), true).ok());
  EXPECT_EQ(ReadFile(off + "/history.csv"),
            "record,iteration,epoch,time_s,precision,worker,loss\n"
            "0,1,0,0.500000,0.1,2,3\n");

  const std::string on = TestDir("staleness_on");
  aia::v1::RunConfig config = SampleConfig();
  config.mutable_save()->set_staleness(true);
  auto with = RunDirectory::Create(on, config, {"loss"});
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_TRUE(
      (*with)->Append(Record{0, 0, 0, std::nullopt, std::nullopt, {2}}, Dense({0}), true).ok());
  ASSERT_TRUE((*with)->Append(stale, Dense({1}), true).ok());
  EXPECT_EQ(ReadFile(on + "/history.csv"),
            "record,iteration,epoch,time_s,precision,worker,staleness,loss\n"
            "0,0,0,0.000000,,,,2\n"
            "1,1,0,0.500000,0.1,2,4,3\n");
}

TEST(RunDirectory, DenseHistoryRowsAndQueries) {
  const std::string dir = TestDir("dense");
  auto run = MustCreate(dir, {"loss"});
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(
      run->Append(Record{0, 0, 0.0, std::nullopt, std::nullopt, {2.5}}, Dense({1, 2, 3}), true)
          .ok());
  ASSERT_TRUE(
      run->Append(Record{1, 0, 0.0123456789, 0.1, 2, {-1e-7}}, Dense({4, 5, 6}), true).ok());
  ASSERT_TRUE(
      run->Append(Record{7, 3, 12.5, 1.0 / 3, 0, {std::numeric_limits<double>::quiet_NaN()}},
                  Dense({7, 8, 9}), true)
          .ok());
  EXPECT_EQ(run->records(), 3);
  const std::string expected =
      "record,iteration,epoch,time_s,precision,worker,loss\n"
      "0,0,0,0.000000,,,2.5\n"
      "1,1,0,0.012346,0.1,2,-1e-07\n"
      "2,7,3,12.500000,0.3333333333333333,0,nan\n";
  EXPECT_EQ(ReadFile(dir + "/history.csv"), expected);
  auto queries = ReadNpy(dir + "/queries.npy");
  ASSERT_TRUE(queries.ok()) << queries.status();
  EXPECT_EQ(queries->first, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(queries->second, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_FALSE(Exists(dir + "/queries.binpb"));

  // Errors write nothing.
  absl::Status status = run->Append(Record{8, 3, 13, 0.5, 1, {0}}, Dense({1, 2}), true);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("dimension 2"), std::string::npos) << status;
  status = run->Append(Record{8, 3, 13, 0.5, 1, {0}}, "12345678901", true);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = run->Append(Record{8, 3, 13, 0.5, 1, {0}}, "abc", false);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  status = run->Append(Record{8, 3, 13, 0.5, 1, {}}, Dense({1, 2, 3}), true);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run->records(), 3);
  EXPECT_EQ(ReadFile(dir + "/history.csv"), expected);
  EXPECT_EQ(ReadNpy(dir + "/queries.npy")->first, (std::vector<int64_t>{3, 3}));
  EXPECT_FALSE(Exists(dir + "/queries.binpb"));
}

// Reads a length-delimited file with protobuf's own varint reader.
std::vector<std::string> ReadDelimited(const std::string& path) {
  const std::string bytes = ReadFile(path);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size());
  std::vector<std::string> messages;
  uint32_t size;
  while (in.ReadVarint32(&size)) {
    std::string message;
    if (!in.ReadString(&message, size)) {
      ADD_FAILURE() << "truncated message in " << path;
      break;
    }
    messages.push_back(message);
  }
  EXPECT_EQ(in.CurrentPosition(), static_cast<int>(bytes.size()));
  return messages;
}

TEST(RunDirectory, NonDenseQueriesAreLengthDelimited) {
  const std::string dir = TestDir("binpb");
  auto run = MustCreate(dir);
  ASSERT_NE(run, nullptr);
  const std::vector<std::string> queries = {"first", "", std::string(300, 'x'),
                                            std::string("\0\x80\xff", 3)};
  for (size_t i = 0; i < queries.size(); ++i) {
    ASSERT_TRUE(run->Append(Record{static_cast<int64_t>(i), 0, 0.5 * i, std::nullopt, 1, {}},
                            queries[i], false)
                    .ok());
  }
  EXPECT_EQ(ReadDelimited(dir + "/queries.binpb"), queries);
  // A 300-byte message has a two-byte length.
  EXPECT_EQ(ReadFile(dir + "/queries.binpb").substr(6, 3), std::string("\0\xac\x02", 3));
  EXPECT_FALSE(Exists(dir + "/queries.npy"));
  EXPECT_EQ(run->Append(Record{9, 0, 9, std::nullopt, 1, {}}, Dense({1}), true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFile(dir + "/history.csv"),
            "record,iteration,epoch,time_s,precision,worker\n"
            "0,0,0,0.000000,,1\n"
            "1,1,0,0.500000,,1\n"
            "2,2,0,1.000000,,1\n"
            "3,3,0,1.500000,,1\n");
}

TEST(RunDirectory, DenseAnswers) {
  const std::string dir = TestDir("answers");
  auto run = MustCreate(dir);
  ASSERT_NE(run, nullptr);
  // No record yet.
  EXPECT_EQ(run->AppendAnswer(0, 0, Dense({1, 2}), true).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      run->Append(Record{0, 0, 0, std::nullopt, std::nullopt, {}}, Dense({0, 0, 0}), true).ok());
  ASSERT_TRUE(run->Append(Record{1, 0, 1, 2.0, 1, {}}, Dense({1, 1, 1}), true).ok());
  EXPECT_FALSE(Exists(dir + "/answers.csv"));
  EXPECT_FALSE(Exists(dir + "/answers.npy"));
  ASSERT_TRUE(run->AppendAnswer(1, 1, Dense({1, 2}), true).ok());
  ASSERT_TRUE(run->AppendAnswer(1, 0, Dense({3, 4}), true).ok());
  EXPECT_EQ(run->AppendAnswer(2, 0, Dense({3, 4}), true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run->AppendAnswer(1, -1, Dense({3, 4}), true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run->AppendAnswer(1, 0, Dense({3, 4, 5}), true).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run->AppendAnswer(1, 0, "x", false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(run->answers(), 2);
  EXPECT_EQ(ReadFile(dir + "/answers.csv"), "record,worker\n1,1\n1,0\n");
  auto answers = ReadNpy(dir + "/answers.npy");
  ASSERT_TRUE(answers.ok()) << answers.status();
  EXPECT_EQ(answers->first, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(answers->second, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_FALSE(Exists(dir + "/answers.binpb"));
}

TEST(RunDirectory, NonDenseAnswers) {
  const std::string dir = TestDir("answers_binpb");
  auto run = MustCreate(dir);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->Append(Record{0, 0, 0, std::nullopt, std::nullopt, {}}, "q0", false).ok());
  ASSERT_TRUE(run->AppendAnswer(0, 3, "answer one", false).ok());
  ASSERT_TRUE(run->AppendAnswer(0, 4, "", false).ok());
  EXPECT_EQ(ReadDelimited(dir + "/answers.binpb"), (std::vector<std::string>{"answer one", ""}));
  EXPECT_EQ(ReadFile(dir + "/answers.csv"), "record,worker\n0,3\n0,4\n");
  EXPECT_FALSE(Exists(dir + "/answers.npy"));
}

TEST(RunDirectory, WorkersCsvIsQuotedAndReplaced) {
  const std::string dir = TestDir("workers");
  auto run = MustCreate(dir);
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->WriteWorkers({{0, "10.0.0.1:7000", 12, 0, 0.25, "alive", "", "0.2.0", "vm-a",
                                  "fnv1a64:00000000000000ff"},
                                 {1, "host,b:7001", 3, 1, 1e-3, "lost", "said \"bye\""}})
                  .ok());
  constexpr char kHeader[] =
      "worker,address,answers,failures,mean_compute_s,state,cause,version,host,shard_digest\n";
  EXPECT_EQ(ReadFile(dir + "/workers.csv"),
            std::string(kHeader) +
                "0,10.0.0.1:7000,12,0,0.25,alive,,0.2.0,vm-a,fnv1a64:00000000000000ff\n"
                "1,\"host,b:7001\",3,1,0.001,lost,\"said \"\"bye\"\"\",,,\n");
  ASSERT_TRUE(run->WriteWorkers({{0, "a:1", 13, 0, 0.5, "stopped", ""}}).ok());
  EXPECT_EQ(ReadFile(dir + "/workers.csv"), std::string(kHeader) + "0,a:1,13,0,0.5,stopped,,,,\n");
  EXPECT_FALSE(Exists(dir + "/workers.csv.tmp"));
}

TEST(RunDirectory, SummaryJsonExactText) {
  const std::string dir = TestDir("summary");
  auto run = MustCreate(dir);
  ASSERT_NE(run, nullptr);
  RunDirectory::Summary summary;
  summary.status = "completed";
  summary.stop_reason = "iteration";
  summary.iterations = 100;
  summary.epochs = 33;
  summary.elapsed_s = 1.25;
  summary.answer_count = {34, 33, 33};
  summary.versions = {{"aia", "0.1.0"}, {"grpc", "1.51.1"}};
  summary.report = {{"loss", 0.5}, {"accuracy", 0.875}};
  ASSERT_TRUE(run->WriteSummary(summary).ok());
  EXPECT_EQ(ReadFile(dir + "/summary.json"),
            R"({
  "status": "completed",
  "stop_reason": "iteration",
  "iterations": 100,
  "epochs": 33,
  "elapsed_s": 1.25,
  "answer_count": [34, 33, 33],
  "versions": {
    "aia": "0.1.0",
    "grpc": "1.51.1"
  },
  "report": {
    "accuracy": 0.875,
    "loss": 0.5
  }
}
)");
  EXPECT_FALSE(Exists(dir + "/summary.json.tmp"));
  // A summary.json means the run is over: the directory is not reused.
  EXPECT_EQ(RunDirectory::Create(dir, SampleConfig()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RunDirectory, SummaryJsonEscapesAndOmitsEmptyFields) {
  RunDirectory::Summary summary;
  summary.status = "failed";
  summary.stop_reason = "";
  summary.elapsed_s = std::numeric_limits<double>::infinity();
  summary.error = std::string("worker 1 \"w1\" lost\nC:\\tmp\t\x01 caf\xc3\xa9 \xff!");
  EXPECT_EQ(RunDirectory::SummaryJson(summary),
            R"({
  "status": "failed",
  "stop_reason": "",
  "iterations": 0,
  "epochs": 0,
  "elapsed_s": null,
  "answer_count": [],
  "error": "worker 1 \"w1\" lost\nC:\\tmp\t\u0001 caf)"
            "\xc3\xa9"
            R"( \ufffd!",
  "versions": {}
}
)");
}

}  // namespace
}  // namespace aia
