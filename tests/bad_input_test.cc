// End-to-end tests of `aia run` on input a careless user or a red team gives it:
// data files with numbers no solver can take, and run directories on a disk that
// fills up. Each run must end with a clear error and the documented exit status,
// never a library assertion (a signal) or a partial file.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "coordinator/history/npy_writer.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

ProcessResult Aia(std::vector<std::string> args, absl::Duration timeout = absl::Seconds(60)) {
  args.insert(args.begin(), Runfile("coordinator/aia"));
  return RunProcess(args, timeout);
}

// A newsvendor in SMPS whose demand (line 14 of the core) is `demand`.
void WriteNewsvendor(const std::string& dir, const std::string& demand) {
  WriteFileOrDie(dir + "/news.cor", absl::StrCat("NAME NEWS\n"
                                                 "ROWS\n"
                                                 " N OBJ\n"
                                                 " L CAPX\n"
                                                 " L SELL\n"
                                                 " L DEMAND\n"
                                                 "COLUMNS\n"
                                                 " X OBJ 1 CAPX 1\n"
                                                 " X SELL -1\n"
                                                 " Y OBJ -3 SELL 1\n"
                                                 " Y DEMAND 1\n"
                                                 "RHS\n"
                                                 " RHS CAPX 100\n"
                                                 " RHS DEMAND ",
                                                 demand,
                                                 "\n"
                                                 "ENDATA\n"));
  WriteFileOrDie(dir + "/news.tim", "TIME NEWS\nPERIODS\n X CAPX P1\n Y SELL P2\nENDATA\n");
  WriteFileOrDie(dir + "/news.sto",
                 "STOCH NEWS\nINDEP DISCRETE\n RHS SELL 0 P2 0.5\n RHS SELL 1 P2 0.5\n"
                 "ENDATA\n");
}

constexpr char kNewsConfig[] = R"pb(
  name: "news"
  algorithm {
    name: "cutting_plane"
    cutting_plane { tolerance: 1e-9 }
  }
  problem {
    name: "two_stage_lp"
    smps { cor: "news.cor" tim: "news.tim" sto: "news.sto" }
  }
  stop { time_s: 30 }
  save { iteration: 1 }
)pb";

// An SMPS right-hand side of 1e300 aborted `aia run --in_process` (and both local
// workers) in a Clp assertion; the run now fails with the file, line and field.
TEST(BadInput, SmpsNumberBeyondWhatClpTakesFailsTheRunNamingFileAndLine) {
  const std::string data = NewTempDir("huge_rhs");
  WriteNewsvendor(data, "1e300");
  const std::string config = NewTempDir("config") + "/news.textproto";
  WriteFileOrDie(config, kNewsConfig);
  const std::string out = NewTempDir("huge_rhs_run") + "/out";
  ProcessResult run = Aia({"run", config, "--in_process", "--data_root=" + data, "--out=" + out});
  EXPECT_FALSE(run.timed_out);
  // Exit status 1 (the run failed) or 2 (bad input), never a signal.
  EXPECT_TRUE(run.exit_code == 1 || run.exit_code == 2) << run.exit_code << "\n" << run.err;
  EXPECT_THAT(run.err, HasSubstr("news.cor:14: field 3"));
  EXPECT_THAT(run.err, HasSubstr("1e20"));
  EXPECT_THAT(run.err, Not(HasSubstr("Assertion")));

  // The same files with a sane demand solve.
  WriteNewsvendor(data, "3");
  ProcessResult good = Aia({"run", config, "--in_process", "--data_root=" + data,
                            "--out=" + out + "2", "--quiet"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

constexpr char kSgdConfig[] = R"pb(
  name: "full_disk"
  algorithm {
    name: "sgd"
    sgd { stepsize: 0.005 }
  }
  problem {
    name: "least_squares"
    synthetic { rows: 200 columns: 8 seed: 7 noise: 0.01 }
  }
  stop { iteration: 100000 time_s: 30 }
  save { iteration: 1 }
  seed: 3
)pb";

// `aia run` with every file it writes limited to `bytes` (a full disk: writes past
// it fail with EFBIG; SIGXFSZ is ignored, and the ignoring is inherited).
ProcessResult AiaWithFileSizeLimit(int64_t bytes, std::vector<std::string> args) {
  signal(SIGXFSZ, SIG_IGN);
  args.insert(args.begin(),
              {"/usr/bin/prlimit", absl::StrCat("--fsize=", bytes), "--", Runfile("coordinator/aia")});
  return RunProcess(args, absl::Seconds(60));
}

bool HavePrlimit() { return access("/usr/bin/prlimit", X_OK) == 0; }

// A full disk left the last history.csv row cut mid-field and no summary.json.
TEST(FullDisk, RunFailsWithWholeRowsAndASummarySayingWhy) {
  if (!HavePrlimit()) GTEST_SKIP() << "/usr/bin/prlimit (util-linux) is missing";
  const std::string config = NewTempDir("full_disk_config") + "/sgd.textproto";
  WriteFileOrDie(config, kSgdConfig);
  const std::string out = NewTempDir("full_disk_run") + "/out";
  ProcessResult run =
      AiaWithFileSizeLimit(20000, {"run", config, "--in_process", "--out=" + out, "--quiet"});
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("cannot write the history"));

  const std::string history = ReadFileOrDie(out + "/history.csv");
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back(), '\n') << "history.csv ends mid-row";
  std::vector<std::string> lines = absl::StrSplit(history, '\n');
  lines.pop_back();
  ASSERT_GT(lines.size(), 2u);
  const size_t columns = std::count(lines[0].begin(), lines[0].end(), ',');
  for (const std::string& line : lines) {
    EXPECT_EQ(static_cast<size_t>(std::count(line.begin(), line.end(), ',')), columns) << line;
  }
  absl::StatusOr<std::pair<std::vector<int64_t>, std::vector<double>>> queries =
      ReadNpy(out + "/queries.npy");
  ASSERT_TRUE(queries.ok()) << queries.status();
  EXPECT_EQ(queries->first[0], static_cast<int64_t>(lines.size()) - 1);

  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr("cannot write the history"));
}

// When not even the run directory's first file can be written, the run fails
// (exit status 1, the reason on stderr): a disk problem is not bad usage (2).
TEST(FullDisk, RunDirectoryThatCannotBeWrittenIsExitStatusOne) {
  if (!HavePrlimit()) GTEST_SKIP() << "/usr/bin/prlimit (util-linux) is missing";
  const std::string config = NewTempDir("tiny_disk_config") + "/sgd.textproto";
  WriteFileOrDie(config, kSgdConfig);
  const std::string out = NewTempDir("tiny_disk_run") + "/out";
  ProcessResult run =
      AiaWithFileSizeLimit(16, {"run", config, "--in_process", "--out=" + out, "--quiet"});
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("cannot write"));
  EXPECT_THAT(run.err, HasSubstr("File too large"));
}

}  // namespace
}  // namespace aia
