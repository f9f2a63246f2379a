// Fault injection with real aia_worker processes on loopback: workers killed,
// frozen (SIGSTOP), failing at setup, and restarted to rejoin, under different
// resilience settings. Each run is bounded by stop.time_s and a process timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

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
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::AwaitFile;
using ::aia::testing::BackgroundProcess;
using ::aia::testing::JsonDouble;
using ::aia::testing::JsonInt;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WorkerProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

// Each answer takes 10 ms, so a run makes steady progress for its whole time.
// `limits` are added to the limits block, `extra` at the top level.
std::string SlowEchoConfig(double time_s, int resilience, const std::string& limits = "",
                           const std::string& extra = "") {
  return absl::StrCat(R"pb(
                        algorithm {
                          name: "echo"
                          echo { dimension: 4 delay_s: 0.01 }
                        }
                        problem {
                          name: "least_squares"
                          synthetic { rows: 9 columns: 2 }
                        }
                        save { epoch: 10 }
                      )pb",
                      "stop { time_s: ", time_s, " }\nresilience: ", resilience,
                      "\nlimits { shutdown_timeout_s: 2 ", limits, " }\n", extra);
}

struct WorkerRow {
  std::string state;
  int64_t answers = 0;
  int64_t failures = 0;
  std::string cause;
};

std::vector<WorkerRow> ReadWorkers(const std::string& out) {
  std::vector<WorkerRow> rows;
  bool header = true;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrDie(out + "/workers.csv"), '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    // worker,address,answers,failures,mean_compute_s,state,cause,version,host,
    // shard_digest (cause may be quoted; the last three are not)
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(',', 6));
    for (int k = 0; k < 3 && f.size() > 6; ++k) f[6] = f[6].substr(0, f[6].rfind(','));
    WorkerRow row;
    EXPECT_TRUE(absl::SimpleAtoi(f[2], &row.answers));
    EXPECT_TRUE(absl::SimpleAtoi(f[3], &row.failures));
    row.state = f[5];
    row.cause = f.size() > 6 ? f[6] : "";
    rows.push_back(row);
  }
  return rows;
}

class ThreeWorkers : public ::testing::Test {
 protected:
  ThreeWorkers() : data_(NewTempDir("data")) {
    for (int w = 0; w < 3; ++w) workers_.push_back(std::make_unique<WorkerProcess>(data_));
  }

  std::string Addresses() const {
    return absl::StrCat(workers_[0]->address(), ",", workers_[1]->address(), ",",
                        workers_[2]->address());
  }

  // Runs `config` on the three workers, calling `fault` from another thread once
  // the run has had `after` to get going.
  ProcessResult RunWithFault(const std::string& config, const std::string& out,
                             absl::Duration after, const std::function<void()>& fault) {
    const std::string path = NewTempDir("config") + "/faults.textproto";
    WriteFileOrDie(path, config);
    std::thread injector;
    ProcessResult run = RunProcess(
        {Runfile("coordinator/aia"), "run", path, "--workers=" + Addresses(), "--out=" + out},
        absl::Seconds(60), [&](pid_t) {
          injector = std::thread([after, &fault] {
            absl::SleepFor(after);
            fault();
          });
        });
    injector.join();
    return run;
  }

  std::string data_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
};

TEST_F(ThreeWorkers, KilledWorkerUnderResilienceOneLeavesTheRunGoing) {
  const std::string out = NewTempDir("kill") + "/out";
  ProcessResult run =
      RunWithFault(SlowEchoConfig(3, 1), out, absl::Seconds(1), [&] { workers_[1]->Kill(); });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("worker 1 (", "")));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].state, "lost");
  EXPECT_EQ(rows[1].failures, 1);
  EXPECT_THAT(rows[1].cause, HasSubstr("the stream ended"));
  EXPECT_EQ(rows[0].state, "stopped");
  // Epochs count only live workers: they kept rising after worker 1 was lost.
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"completed\""));
  EXPECT_GT(JsonInt(summary, "epochs"), rows[1].answers + 20) << summary;
}

TEST_F(ThreeWorkers, KilledWorkerUnderResilienceZeroFailsTheRun) {
  const std::string out = NewTempDir("kill0") + "/out";
  ProcessResult run =
      RunWithFault(SlowEchoConfig(20, 0), out, absl::Seconds(1), [&] { workers_[2]->Kill(); });
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_LT(run.wall, absl::Seconds(15));  // failed at once, not at the time limit
  const std::string named = absl::StrCat("worker 2 (", workers_[2]->address(), ")");
  EXPECT_THAT(run.err, HasSubstr(named));
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr(named));
  // The history up to the failure is readable: record 0 and the saved epochs.
  const std::string history = ReadFileOrDie(out + "/history.csv");
  EXPECT_GE(std::count(history.begin(), history.end(), '\n'), 3) << history;
}

TEST_F(ThreeWorkers, FrozenWorkerIsFoundByKeepalive) {
  const std::string out = NewTempDir("stop") + "/out";
  ProcessResult run = RunWithFault(SlowEchoConfig(6, 1, "keepalive_s: 1"), out, absl::Seconds(1),
                                   [&] { kill(workers_[0]->pid(), SIGSTOP); });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  EXPECT_EQ(rows[0].state, "lost");
  EXPECT_THAT(rows[0].cause, HasSubstr("keepalive"));
  // Found within a few keepalive periods: the others went on for most of the run.
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_GT(JsonInt(summary, "epochs"), rows[0].answers + 100) << summary;
}

TEST_F(ThreeWorkers, FrozenWorkerIsFoundByTheAnswerDeadline) {
  const std::string out = NewTempDir("deadline") + "/out";
  ProcessResult run = RunWithFault(SlowEchoConfig(4, 1, "answer_timeout_s: 0.5"), out,
                                   absl::Seconds(1), [&] { kill(workers_[2]->pid(), SIGSTOP); });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  EXPECT_EQ(rows[2].state, "lost");
  EXPECT_THAT(rows[2].cause, HasSubstr("no answer within 0.5 s (limits.answer_timeout_s)"));
}

TEST_F(ThreeWorkers, RestartedWorkerRejoinsTheRun) {
  const std::string out = NewTempDir("rejoin") + "/out";
  const std::string address = workers_[1]->address();
  std::unique_ptr<WorkerProcess> restarted;
  ProcessResult run =
      RunWithFault(SlowEchoConfig(5, 1, "", "rejoin: true"), out, absl::Seconds(1), [&] {
        workers_[1]->Kill();
        absl::SleepFor(absl::Milliseconds(500));
        restarted = std::make_unique<WorkerProcess>(data_, address);
      });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("worker 1 (", address, ") rejoined")));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  EXPECT_EQ(rows[1].state, "stopped");
  EXPECT_EQ(rows[1].failures, 1);
  // About 1 s of 5 away: it answered again for most of the run.
  EXPECT_GT(rows[1].answers, rows[0].answers / 2) << rows[1].answers << " vs " << rows[0].answers;
}

TEST_F(ThreeWorkers, ADrainedWorkerLeavesWithoutFailingTheRun) {
  // resilience 0: a loss would fail the run; a worker drained by SIGTERM leaves.
  const std::string out = NewTempDir("drained") + "/out";
  int exit_status = -1;
  ProcessResult run = RunWithFault(SlowEchoConfig(3, 0), out, absl::Seconds(1),
                                   [&] { exit_status = workers_[1]->Terminate(); });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(exit_status, 0);
  EXPECT_THAT(run.err, HasSubstr("left the run: the worker is shutting down"));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].state, "left");
  EXPECT_EQ(rows[1].failures, 0);
  EXPECT_GT(rows[1].answers, 0);
  EXPECT_EQ(rows[0].state, "stopped");
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"completed\""));
}

TEST_F(ThreeWorkers, ARollingRestartKeepsARunWithoutResilienceGoing) {
  // Drain worker 1 and start it again at its address: with rejoin, it comes back;
  // nothing failed, so resilience 0 is enough.
  const std::string out = NewTempDir("rolling") + "/out";
  const std::string address = workers_[1]->address();
  std::unique_ptr<WorkerProcess> restarted;
  ProcessResult run = RunWithFault(SlowEchoConfig(5, 0, "rejoin_interval_s: 0.2", "rejoin: true"),
                                   out, absl::Seconds(1), [&] {
                                     EXPECT_EQ(workers_[1]->Terminate(), 0);
                                     restarted = std::make_unique<WorkerProcess>(data_, address);
                                   });
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("worker 1 (", address, ") left the run")));
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("worker 1 (", address, ") rejoined")));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].state, "stopped");
  EXPECT_EQ(rows[1].failures, 0);
  EXPECT_GT(rows[1].answers, rows[0].answers / 2);
}

TEST(Faults, SetupFailureOnOneWorkerIsToleratedWithResilience) {
  const std::string data = NewTempDir("data");
  WriteFileOrDie(data + "/rows.csv", "1,1,0\n2,0,1\n3,1,1\n4,2,1\n");
  const std::string empty = NewTempDir("empty");
  WorkerProcess with_data(data), without_data(empty);
  const std::string config = NewTempDir("config") + "/c.textproto";
  WriteFileOrDie(config, R"pb(
    algorithm { name: "sgd" }
    problem {
      name: "least_squares"
      file { path: "rows.csv" }
    }
    stop { iteration: 50 }
    resilience: 1
  )pb");
  const std::string out = NewTempDir("setup") + "/out";
  ProcessResult run = RunProcess({Runfile("coordinator/aia"), "run", config,
                                  "--workers=" + with_data.address() + "," + without_data.address(),
                                  "--data_root=" + data, "--out=" + out},
                                 absl::Seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  EXPECT_EQ(rows[0].answers, 50);
  EXPECT_EQ(rows[1].state, "lost");
  EXPECT_THAT(rows[1].cause, HasSubstr("<data_root>/rows.csv"));
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"epochs\": 50"));
}

TEST_F(ThreeWorkers, ATimeLimitWithAFrozenWorkerEndsOnTimeAndNamesIt) {
  const std::string out = NewTempDir("frozen_at_end") + "/out";
  // keepalive_s 30: the freeze a second before the time limit is not found in the
  // run; the worker does not end its session after Stop.
  ProcessResult run = RunWithFault(SlowEchoConfig(3, 0, "keepalive_s: 30"), out, absl::Seconds(2),
                                   [&] { kill(workers_[2]->pid(), SIGSTOP); });
  kill(workers_[2]->pid(), SIGCONT);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  // The run's time is the time limit, not the limit plus the wait for the workers.
  EXPECT_GE(JsonDouble(summary, "elapsed_s"), 3.0);
  EXPECT_LT(JsonDouble(summary, "elapsed_s"), 3.5) << summary;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].state, "stopped");
  EXPECT_EQ(rows[2].state, "unresponsive");
  EXPECT_THAT(rows[2].cause, HasSubstr("did not end its session within 2 s of Stop"));
}

// A TCP listener that never accepts: connections complete in the kernel, and a
// gRPC client waits for the HTTP/2 handshake that never comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), length), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Lifecycle, SigtermWhileConnectingCancelsAtOnce) {
  SilentListener silent;
  const std::string dir = NewTempDir("connecting");
  const std::string out = dir + "/out";
  WriteFileOrDie(dir + "/config.textproto", SlowEchoConfig(60, 0, "connect_timeout_s: 30"));
  absl::Time signalled;
  ProcessResult run =
      RunProcess({Runfile("coordinator/aia"), "run", dir + "/config.textproto",
                  "--workers=" + silent.address(), "--out=" + out},
                 absl::Seconds(60), [&](pid_t pid) {
                   EXPECT_TRUE(AwaitFile(out + "/config.textproto", absl::Seconds(10)));
                   absl::SleepFor(absl::Milliseconds(300));  // well into the connect wait
                   signalled = absl::Now();
                   kill(pid, SIGTERM);
                 });
  const absl::Duration took = absl::Now() - signalled;
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_LT(took, absl::Seconds(3)) << "SIGTERM waited for the connect timeout";
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"cancelled\""));
}

TEST(Lifecycle, ASecondSigtermForcesTheExit) {
  // A worker frozen mid-run: after the first SIGTERM the run waits for it to end
  // its session (shutdown_timeout_s 2); the second, 0.5 s later, exits at once.
  const std::string data = NewTempDir("data");
  WorkerProcess worker(data);
  const std::string dir = NewTempDir("twice");
  const std::string out = dir + "/out";
  WriteFileOrDie(dir + "/config.textproto", SlowEchoConfig(60, 0, "keepalive_s: 60"));
  absl::Time second;
  ProcessResult run = RunProcess({Runfile("coordinator/aia"), "run", dir + "/config.textproto",
                                  "--workers=" + worker.address(), "--out=" + out},
                                 absl::Seconds(60), [&](pid_t pid) {
                                   EXPECT_TRUE(AwaitFile(out + "/history.csv", absl::Seconds(10)));
                                   absl::SleepFor(absl::Milliseconds(300));
                                   kill(worker.pid(), SIGSTOP);
                                   kill(pid, SIGTERM);
                                   absl::SleepFor(absl::Milliseconds(500));
                                   second = absl::Now();
                                   kill(pid, SIGTERM);
                                 });
  kill(worker.pid(), SIGCONT);
  EXPECT_EQ(run.exit_code, 128 + SIGTERM) << run.err;
  EXPECT_LT(absl::Now() - second, absl::Seconds(3));
  EXPECT_THAT(run.err, HasSubstr("again: exiting without waiting for the workers"));
  EXPECT_THAT(ReadFileOrDie(out + "/history.csv"), HasSubstr("record,iteration"));
}

// How often `part` occurs in `text`.
size_t Count(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
  return count;
}

// Resident memory of `pid` in MiB.
double RssMiB(pid_t pid) {
  const std::string status = ReadFileOrDie(absl::StrCat("/proc/", pid, "/status"));
  const size_t at = status.find("VmRSS:");
  if (at == std::string::npos) return -1;
  return std::stod(status.substr(at + 6)) / 1024.0;
}

TEST(Faults, ThousandsOfFailedRejoinsKeepTheCoordinatorsMemoryFlat) {
  // Worker 1 comes back without the data file: every rejoin attempt, every 5 ms,
  // reaches it and fails at Setup. Each attempt's link must be freed as it ends.
  const std::string data = NewTempDir("data");
  WriteFileOrDie(data + "/rows.csv", "1,1,0\n2,0,1\n3,1,1\n4,2,1\n");
  WorkerProcess steady(data);
  auto flaky = std::make_unique<WorkerProcess>(data);
  const std::string address = flaky->address();
  const std::string dir = NewTempDir("rejoins");
  WriteFileOrDie(dir + "/config.textproto", R"pb(
    algorithm {
      name: "echo"
      echo { dimension: 2 delay_s: 0.01 }
    }
    problem {
      name: "least_squares"
      file { path: "rows.csv" }
    }
    stop { time_s: 9 }
    resilience: 1
    rejoin: true
    limits { rejoin_interval_s: 0.005 shutdown_timeout_s: 2 }
  )pb");
  const std::string out = dir + "/out";
  BackgroundProcess run({Runfile("coordinator/aia"), "run", dir + "/config.textproto",
                         "--workers=" + steady.address() + "," + address, "--data_root=" + data,
                         "--out=" + out});
  ASSERT_TRUE(run.WaitForOutput("ready", absl::Seconds(20))) << run.output();
  flaky->Kill();
  flaky = std::make_unique<WorkerProcess>(NewTempDir("empty"), address);
  ASSERT_TRUE(run.WaitForOutput("could not rejoin", absl::Seconds(20))) << run.output();
  absl::SleepFor(absl::Seconds(1));  // past the first attempts' allocations
  const double early = RssMiB(run.pid());
  const size_t early_attempts = Count(run.output(), "could not rejoin");
  absl::SleepFor(absl::Seconds(5));
  const double late = RssMiB(run.pid());
  ProcessResult result = run.Wait(absl::Seconds(30));
  const size_t attempts = Count(result.err, "could not rejoin");
  EXPECT_EQ(result.exit_code, 0) << result.err.substr(0, 2000);
  EXPECT_GT(attempts, early_attempts + 300) << "too few attempts to tell";
  EXPECT_LT(late - early, 2.0) << "RSS " << early << " -> " << late << " MiB over "
                               << attempts - early_attempts << " failed rejoins";
  std::printf("faults: %zu failed rejoins; coordinator RSS %.1f -> %.1f MiB over the last %zu\n",
              attempts, early, late, attempts - early_attempts);
}

}  // namespace
}  // namespace aia
