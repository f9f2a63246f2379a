// The worker daemons of `aia run --local_workers=N` die with their coordinator, even
// when it is killed with SIGKILL and has no chance to stop them.
//
// The test process makes itself a child subreaper, so the daemons orphaned by the
// coordinator's death become its children: it can then wait for exactly those pids
// (no pid reuse, no scan of unrelated processes) and kill any survivor at the end.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;

// The children of `pid` (all its threads) whose executable is aia_worker.
std::set<pid_t> WorkerChildren(pid_t pid) {
  std::set<pid_t> children;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    std::ifstream file(task.path() / "children");
    pid_t child;
    while (file >> child) {
      std::error_code link_error;
      const std::string exe =
          std::filesystem::read_symlink(absl::StrCat("/proc/", child, "/exe"), link_error);
      if (!link_error && exe.size() >= 10 && exe.substr(exe.size() - 10) == "aia_worker") {
        children.insert(child);
      }
    }
  }
  return children;
}

// Whether `pid` (a child of ours since the subreaper adopted it) has exited; reaps it.
bool Exited(pid_t pid) {
  const pid_t done = waitpid(pid, nullptr, WNOHANG);
  return done == pid || (done < 0 && errno == ECHILD && kill(pid, 0) != 0);
}

TEST(LocalWorkers, DaemonsDieWithAKilledCoordinator) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << "cannot become a subreaper";
  const std::string dir = NewTempDir("pdeathsig");
  const std::string config = dir + "/long.textproto";
  // A run that would go on for a minute: it is killed long before.
  WriteFileOrDie(config, R"pb(
    algorithm {
      name: "echo"
      echo { dimension: 4 delay_s: 0.01 }
    }
    problem {
      name: "least_squares"
      synthetic { rows: 9 columns: 2 }
    }
    stop { time_s: 60 }
  )pb");
  std::set<pid_t> workers;
  absl::Duration gone_after = absl::InfiniteDuration();
  std::thread killer;
  ProcessResult run = RunProcess(
      {Runfile("coordinator/aia"), "run", config, "--local_workers=2", "--out=" + dir + "/out",
       "--worker_binary=" + Runfile("worker/aia_worker")},
      absl::Seconds(60), [&](pid_t aia) {
        killer = std::thread([&, aia] {
          // Both daemons started and the run going (its history begun).
          const absl::Time deadline = absl::Now() + absl::Seconds(20);
          while (absl::Now() < deadline &&
                 (workers.size() < 2 || !std::filesystem::exists(dir + "/out/history.csv"))) {
            workers = WorkerChildren(aia);
            absl::SleepFor(absl::Milliseconds(20));
          }
          kill(aia, SIGKILL);
        });
      });
  killer.join();
  EXPECT_EQ(run.exit_code, -1) << "aia was not killed; it said: " << run.err;
  ASSERT_EQ(workers.size(), 2u) << "did not see the two daemons as children of aia: " << run.err;

  const absl::Time killed = absl::Now();
  std::set<pid_t> alive = workers;
  while (!alive.empty() && absl::Now() - killed < absl::Seconds(5)) {
    for (auto it = alive.begin(); it != alive.end();) {
      it = Exited(*it) ? alive.erase(it) : std::next(it);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  gone_after = absl::Now() - killed;
  for (pid_t pid : alive) {  // survivors: the failure is reported, nothing is left
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_TRUE(alive.empty()) << alive.size() << " of 2 worker daemons outlived aia by 5 s";
  EXPECT_LT(gone_after, absl::Seconds(1)) << "the daemons took " << gone_after << " to die";
  if (alive.empty()) {
    std::printf("worker daemons gone %s after aia was killed\n",
                absl::FormatDuration(gone_after).c_str());
  }
}

}  // namespace
}  // namespace aia
