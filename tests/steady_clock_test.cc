// Every timeout of the run engine runs on the monotonic clock: a run whose wall
// clock jumps an hour forward mid-run (tests/clock_jump, preloaded) ends on its time
// limit with every worker, as if nothing happened; measured on wall time, every
// answer would be an hour overdue (limits.answer_timeout_s) and the run would fail.
//
// The run is --in_process: gRPC's and absl's own waits sleep on absolute
// CLOCK_REALTIME futex deadlines that the kernel measures on the real clock, so
// under a preloaded fake clock they would wait an hour, which a real jump (both
// clocks at once) would not do. In process, every wait and deadline is the
// engine's own.
#include <stdlib.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::JsonDouble;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::RunProcess;
using ::aia::testing::Runfile;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

ProcessResult RunWithClockJump(const std::string& out, double jump_s) {
  const std::string dir = NewTempDir("clock");
  WriteFileOrDie(dir + "/config.textproto", R"pb(
    algorithm { name: "echo" echo { dimension: 4 delay_s: 0.01 } }
    problem { name: "least_squares" synthetic { rows: 8 columns: 2 } }
    stop { time_s: 4 }
    save { time_s: 0.5 }
    limits { answer_timeout_s: 60 keepalive_s: 5 setup_timeout_s: 60 }
  )pb");
  setenv("LD_PRELOAD", Runfile("tests/clock_jump.so").c_str(), 1);
  setenv("AIA_CLOCK_JUMP_AFTER_S", "1.5", 1);
  setenv("AIA_CLOCK_JUMP_S", std::to_string(jump_s).c_str(), 1);
  ProcessResult run = RunProcess({Runfile("coordinator/aia"), "run", dir + "/config.textproto",
                                  "--in_process", "--local_workers=2", "--out=" + out},
                                 absl::Seconds(60));
  unsetenv("LD_PRELOAD");
  return run;
}

TEST(SteadyClock, AWallClockJumpForwardChangesNothing) {
  const std::string out = NewTempDir("forward") + "/out";
  ProcessResult run = RunWithClockJump(out, 3600);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"time_s\""));
  EXPECT_GE(JsonDouble(summary, "elapsed_s"), 4.0);
  EXPECT_LT(JsonDouble(summary, "elapsed_s"), 5.0);
  EXPECT_THAT(ReadFileOrDie(out + "/workers.csv"), Not(HasSubstr("lost")));
}

}  // namespace
}  // namespace aia
