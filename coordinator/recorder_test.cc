// The recorder's writer thread: every record saved is written, in order, however
// far the central loop runs ahead of the disk; a write error comes back from a
// later Save and from Finish, and the files end on a whole record.
#include "coordinator/recorder.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "algorithms/typed_algorithm.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

// Dense queries of `dimension`, one saved value.
class Saving : public TypedAlgorithm<Vector, Vector> {
 public:
  std::vector<std::string> saved_value_names() const override { return {"value"}; }
  std::vector<double> SavedValues(const Problem&) override { return {++saved_ * 0.5}; }

 protected:
  absl::StatusOr<Vector> Init(const Problem&) override { return Vector::Zero(4); }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    return Vector(q);
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo&,
                                     const Problem&) override {
    return Vector(a);
  }

 private:
  int saved_ = 0;
};

class NoData : public Problem {
 public:
  int64_t dimension() const override { return 4; }
  int64_t rows() const override { return 0; }
  std::string Describe() const override { return "none"; }
};

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Payload Query(double value) {
  return Payload::FromVector(Vector::Constant(4, value));
}

TEST(Recorder, WritesEverySavedRecordInOrderPastTheQueueBound) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/recorder_all");
  v1::RunConfig config;
  Saving algorithm;
  NoData central;
  auto directory = RunDirectory::Create(dir, config, algorithm.saved_value_names());
  ASSERT_TRUE(directory.ok()) << directory.status();
  Recorder recorder(std::move(directory).value(), config, &algorithm);
  const int64_t count = 3 * Recorder::kMaxQueuedRecords;
  for (int64_t i = 0; i < count; ++i) {
    Recorder::Step step;
    step.iteration = i;
    step.time_s = 0.001 * i;
    ASSERT_TRUE(recorder.Save(step, Query(i), {}, central).ok());
  }
  EXPECT_EQ(recorder.records(), count);
  WorkerPool::Options pool_options;
  WorkerPool pool(pool_options);
  RunResult result;
  result.status = "completed";
  result = recorder.Finish(std::move(result), pool, &central);
  EXPECT_EQ(result.status, "completed") << result.error;
  const std::vector<std::string> lines =
      absl::StrSplit(Read(dir + "/history.csv"), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(count) + 1);  // and the header
  for (int64_t i = 0; i < count; ++i) {
    const std::vector<std::string> cells = absl::StrSplit(lines[i + 1], ',');
    ASSERT_EQ(cells[0], absl::StrCat(i)) << lines[i + 1];
    ASSERT_EQ(cells[1], absl::StrCat(i)) << lines[i + 1];
    ASSERT_EQ(cells.back(), absl::StrCat((i + 1) * 0.5)) << lines[i + 1];
  }
}

// In a forked child whose files may not grow past `bytes` (a full disk): saves
// until Save fails, then finishes; exits 0 when the errors say why.
void SaveOntoAFullDisk(const std::string& dir, int64_t bytes) {
  signal(SIGXFSZ, SIG_IGN);
  v1::RunConfig config;
  Saving algorithm;
  NoData central;
  auto directory = RunDirectory::Create(dir, config, algorithm.saved_value_names());
  if (!directory.ok()) _exit(2);
  const rlimit limit{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(3);
  Recorder recorder(std::move(directory).value(), config, &algorithm);
  absl::Status status;
  for (int64_t i = 0; i < 1000000 && status.ok(); ++i) {
    Recorder::Step step;
    step.iteration = i;
    status = recorder.Save(step, Query(i), {}, central);
  }
  if (status.ok() || status.message().find("cannot write the history") == std::string::npos) {
    _exit(4);
  }
  WorkerPool::Options pool_options;
  WorkerPool pool(pool_options);
  RunResult result;
  result.status = "completed";
  result = recorder.Finish(std::move(result), pool, &central);
  if (result.status != "failed" || result.error.find("cannot write the history") == std::string::npos) {
    _exit(5);
  }
  _exit(0);
}

TEST(Recorder, AWriteErrorComesBackAndTheHistoryEndsOnAWholeRecord) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/recorder_full");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) SaveOntoAFullDisk(dir, 4096);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const std::string history = Read(dir + "/history.csv");
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back(), '\n');
  const size_t rows = std::count(history.begin(), history.end(), '\n') - 1;
  EXPECT_GT(rows, 0u);
  // queries.npy holds exactly as many rows as history.csv (4 doubles each).
  const std::string npy = Read(dir + "/queries.npy");
  EXPECT_THAT(npy, HasSubstr(absl::StrCat("'shape': (", rows, ", 4)")));
  EXPECT_THAT(Read(dir + "/summary.json"), HasSubstr("cannot write the history"));
}

}  // namespace
}  // namespace aia
