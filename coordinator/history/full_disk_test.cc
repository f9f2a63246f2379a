// The history writer on a disk that fills up, for real: each scenario runs in a
// forked child under a small file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored), so
// writes past the limit fail with EFBIG as they would with ENOSPC. Whatever file
// hits the limit first, every file must end on a whole row, the files must agree
// (queries.npy has one row per row of history.csv, answers.npy one per row of
// answers.csv) and summary.json must still be written with the reason.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/history/history.h"
#include "coordinator/history/npy_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/config.pb.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct Scenario {
  std::string name;
  int64_t limit;           // bytes per file
  int query_dim;           // doubles per query
  int answer_dim;          // doubles per answer; 0: no answers saved
  int extra_columns;       // saved values per record
};

// In the child: appends records (and answers) until a write fails, then writes
// summary.json as the engine does. Exit status 0 when a write failed and the
// summary was written, 3 when nothing failed, 4 when the summary failed.
[[noreturn]] void WriteUntilFull(const Scenario& s, const std::string& dir) {
  signal(SIGXFSZ, SIG_IGN);
  const struct rlimit limit = {static_cast<rlim_t>(s.limit), static_cast<rlim_t>(s.limit)};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(5);
  std::vector<std::string> extra;
  for (int k = 0; k < s.extra_columns; ++k) extra.push_back(absl::StrCat("value_", k));
  aia::v1::RunConfig config;
  config.set_name("full");
  absl::StatusOr<std::unique_ptr<RunDirectory>> run = RunDirectory::Create(dir, config, extra);
  if (!run.ok()) _exit(6);
  absl::Status status;
  for (int64_t i = 0; i < 100000 && status.ok(); ++i) {
    RunDirectory::Record record;
    record.iteration = i;
    record.epoch = i / 3;
    record.time_s = 0.001 * i;
    if (i > 0) record.precision = 1.0 / (i + 1);
    if (i > 0) record.worker = static_cast<int>(i % 4);
    for (int k = 0; k < s.extra_columns; ++k) record.extra.push_back(i * 0.1 + k);
    std::vector<double> query(s.query_dim, 1.0 / (i + 1));
    status = (*run)->Append(
        record, absl::string_view(reinterpret_cast<const char*>(query.data()), 8 * query.size()),
        /*dense=*/true);
    for (int a = 0; status.ok() && s.answer_dim > 0 && a < 2; ++a) {
      std::vector<double> answer(s.answer_dim, i + 0.5 * a);
      status = (*run)->AppendAnswer(
          (*run)->records() - 1, a,
          absl::string_view(reinterpret_cast<const char*>(answer.data()), 8 * answer.size()),
          /*dense=*/true);
    }
  }
  if (status.ok()) _exit(3);
  RunDirectory::Summary summary;
  summary.status = "failed";
  summary.error = absl::StrCat("cannot write the history: ", status.message());
  if (!(*run)->WriteSummary(summary).ok()) _exit(4);
  _exit(0);
}

// Every line of `text` is a whole row of `fields` fields, and `text` ends on a line end.
void ExpectWholeRows(const std::string& text, size_t fields, const std::string& what) {
  ASSERT_FALSE(text.empty()) << what;
  EXPECT_EQ(text.back(), '\n') << what << " ends mid-row: ..."
                               << text.substr(text.size() > 80 ? text.size() - 80 : 0);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  lines.pop_back();  // after the last '\n'
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    EXPECT_EQ(cells.size(), fields) << what << " row " << i << ": " << lines[i];
  }
}

int64_t Rows(const std::string& csv) {
  return std::count(csv.begin(), csv.end(), '\n') - 1;  // without the header
}

class FullDiskTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(FullDiskTest, FilesEndOnWholeRowsAndAgreeAndTheSummarySaysWhy) {
  const Scenario& s = GetParam();
  const std::string dir = absl::StrCat(::testing::TempDir(), "/full_disk_", s.name);
  std::filesystem::remove_all(dir);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) WriteUntilFull(s, dir);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the writer died of signal " << WTERMSIG(status);
  ASSERT_EQ(WEXITSTATUS(status), 0) << "3: nothing failed, 4: no summary, 5/6: setup";

  const std::string history = ReadFile(dir + "/history.csv");
  ExpectWholeRows(history, 6 + s.extra_columns, "history.csv");
  absl::StatusOr<std::pair<std::vector<int64_t>, std::vector<double>>> queries =
      ReadNpy(dir + "/queries.npy");
  ASSERT_TRUE(queries.ok()) << queries.status();
  ASSERT_EQ(queries->first.size(), 2u);
  EXPECT_EQ(queries->first[0], Rows(history)) << "queries.npy rows vs history.csv rows";
  EXPECT_GT(Rows(history), 0);
  if (s.answer_dim > 0) {
    const std::string answers = ReadFile(dir + "/answers.csv");
    ExpectWholeRows(answers, 2, "answers.csv");
    absl::StatusOr<std::pair<std::vector<int64_t>, std::vector<double>>> npy =
        ReadNpy(dir + "/answers.npy");
    ASSERT_TRUE(npy.ok()) << npy.status();
    EXPECT_EQ(npy->first[0], Rows(answers)) << "answers.npy rows vs answers.csv rows";
  }
  const std::string summary = ReadFile(dir + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr("cannot write the history"));
  EXPECT_THAT(summary, HasSubstr("File too large"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/summary.json.tmp"));
}

INSTANTIATE_TEST_SUITE_P(
    WhicheverFileFillsFirst, FullDiskTest,
    ::testing::Values(Scenario{"history_first", 4000, 1, 0, 3},
                      Scenario{"queries_first", 6000, 40, 0, 0},
                      Scenario{"answers_csv_first", 3000, 1, 1, 0},
                      Scenario{"answers_npy_first", 9000, 1, 60, 0},
                      Scenario{"odd_limit", 4097, 3, 2, 1}),
    [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

// A summary that cannot be written says so, and leaves no temporary file behind.
TEST(FullDisk, SummaryThatCannotBeWrittenIsAClearError) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/full_disk_summary");
  std::filesystem::remove_all(dir);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    aia::v1::RunConfig config;
    config.set_name("full");
    absl::StatusOr<std::unique_ptr<RunDirectory>> run = RunDirectory::Create(dir, config, {});
    if (!run.ok()) _exit(6);
    signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit = {100, 100};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(5);
    RunDirectory::Summary summary;
    summary.status = "failed";
    summary.error = std::string(500, 'x');  // larger than the limit
    const absl::Status status = (*run)->WriteSummary(summary);
    if (status.ok()) _exit(3);
    if (std::string(status.message()).find("summary.json") == std::string::npos) _exit(7);
    if (std::string(status.message()).find("File too large") == std::string::npos) _exit(8);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(dir + "/summary.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/summary.json.tmp"));
}

}  // namespace
}  // namespace aia
