// A worker written with another gRPC stack: Python's stock grpcio server with its
// default settings (tests/python_worker/worker.py), built from proto/worker.proto
// alone, runs against the real `aia run`. It must complete a run whose steps take
// longer than the liveness bound (no HTTP/2 ping policy to trip over), be lost
// when frozen, and be refused when it breaks a rule of the contract.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::AwaitFile;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPython[] = "/usr/bin/python3";

// The generated Python modules of proto/*.proto, made once per test binary; ""
// (and the reason in *why) when this machine cannot make them.
std::string Stubs(std::string* why) {
  static std::string stubs, reason;
  static bool made = false;
  if (made) {
    *why = reason;
    return stubs;
  }
  made = true;
  ProcessResult probe =
      RunProcess({kPython, "-c", "import grpc, google.protobuf"}, absl::Seconds(30));
  if (probe.exit_code != 0) {
    reason = "python3-grpcio is not installed";
  } else if (access("/usr/bin/protoc", X_OK) != 0 ||
             access("/usr/bin/grpc_python_plugin", X_OK) != 0) {
    reason = "protoc or grpc_python_plugin is missing (protobuf-compiler-grpc)";
  } else {
    const std::string proto = Runfile("proto/worker.proto");
    const std::string root = proto.substr(0, proto.rfind("/proto/"));
    const std::string dir = NewTempDir("stubs");
    ProcessResult protoc = RunProcess(
        {"/usr/bin/protoc", "-I" + root, "--python_out=" + dir, "--grpc_python_out=" + dir,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
         root + "/proto/worker.proto", root + "/proto/config.proto",
         root + "/proto/algorithms.proto", root + "/proto/problems.proto"},
        absl::Seconds(60));
    if (protoc.exit_code != 0) {
      ADD_FAILURE() << "protoc failed: " << protoc.err;
      reason = "protoc failed";
    } else {
      stubs = dir;
    }
  }
  *why = reason;
  return stubs;
}

// The Python worker as a child process, killed by the destructor.
class PythonWorker {
 public:
  explicit PythonWorker(const std::string& stubs, std::vector<std::string> flags = {}) {
    std::vector<std::string> argv = {kPython, Runfile("tests/python_worker/worker.py"),
                                     "--stubs=" + stubs};
    argv.insert(argv.end(), flags.begin(), flags.end());
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe";
      return;
    }
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    // "python worker listening on 127.0.0.1:PORT", within 30 s.
    std::string said;
    address_ = testing::ReadAnnouncedAddress(out[0], absl::Seconds(30), &said);
    close(out[0]);
    if (address_.empty()) ADD_FAILURE() << "the Python worker did not start: '" << said << "'";
  }
  ~PythonWorker() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

std::string Config(const std::string& extra) {
  const std::string path = NewTempDir("config") + "/echo.textproto";
  WriteFileOrDie(path, absl::StrCat(R"pb(
                                      name: "python"
                                      algorithm {
                                        name: "echo"
                                        echo { dimension: 4 }
                                      }
                                      problem {
                                        name: "least_squares"
                                        synthetic { rows: 8 columns: 4 seed: 1 }
                                      }
                                    )pb",
                                    extra));
  return path;
}

ProcessResult Aia(const std::vector<std::string>& args, absl::Duration timeout = absl::Seconds(60),
                  const std::function<void(pid_t)>& on_start = nullptr) {
  std::vector<std::string> argv = {Runfile("coordinator/aia")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, timeout, on_start);
}

#define REQUIRE_STUBS(stubs)             \
  std::string why;                       \
  const std::string stubs = Stubs(&why); \
  if (stubs.empty()) GTEST_SKIP() << why;

TEST(PythonWorker, CompletesARunWhoseStepsOutlastTheLivenessBound) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--step_s=4.5"});
  ASSERT_FALSE(worker.address().empty());
  const std::string out = NewTempDir("long") + "/out";
  // Steps of 4.5 s with a liveness bound of 1 s: only the heartbeats say the
  // worker is there. Before them, aia sent HTTP/2 pings every keepalive_s, and the
  // stock server, after three pings with no data between them, answered GOAWAY
  // too_many_pings ("the stream ended (14: Too many pings)", seen with the old
  // coordinator on this very worker).
  ProcessResult run = Aia({"run", Config("stop { iteration: 2 } limits { keepalive_s: 1 }"),
                           "--workers=" + worker.address(), "--out=" + out, "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"completed\""));
  const std::string workers = ReadFileOrDie(out + "/workers.csv");
  EXPECT_THAT(workers, HasSubstr(",stopped,,python-grpcio/"));
  const std::vector<std::string> lines = absl::StrSplit(workers, '\n');
  ASSERT_GE(lines.size(), 2u) << workers;
  const std::vector<std::string> row = absl::StrSplit(lines[1], ',');
  ASSERT_GE(row.size(), 10u) << workers;
  EXPECT_EQ(row[2], "2");             // answers
  EXPECT_NE(row[8], "");              // host
  EXPECT_GE(std::stod(row[4]), 4.4);  // mean_compute_s
}

TEST(PythonWorker, IsLostWhenFrozen) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--step_s=0.2"});
  ASSERT_FALSE(worker.address().empty());
  const std::string out = NewTempDir("frozen") + "/out";
  absl::Time frozen_at;
  ProcessResult run = Aia({"run", Config("stop { time_s: 60 } limits { keepalive_s: 1 }"),
                           "--workers=" + worker.address(), "--out=" + out, "--quiet"},
                          absl::Seconds(60), [&](pid_t) {
                            // Freeze it once the run is under way (its history has a record).
                            EXPECT_TRUE(AwaitFile(out + "/history.csv", absl::Seconds(20)));
                            absl::SleepFor(absl::Milliseconds(500));
                            kill(worker.pid(), SIGSTOP);
                            frozen_at = absl::Now();
                          });
  const absl::Duration detected = absl::Now() - frozen_at;
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("sent nothing (not even a heartbeat) for"));
  // The bound is keepalive_s (1 s); the run then stops its workers (5 s at most).
  EXPECT_LT(detected, absl::Seconds(8));
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"failed\""));
}

TEST(PythonWorker, WithoutHeartbeatsIsLostAfterTheBound) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--step_s=2", "--no_heartbeats"});
  ASSERT_FALSE(worker.address().empty());
  ProcessResult run =
      Aia({"run", Config("stop { iteration: 3 } limits { keepalive_s: 1 }"),
           "--workers=" + worker.address(), "--out=" + NewTempDir("silent") + "/out", "--quiet"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("sent nothing (not even a heartbeat)"));
}

TEST(PythonWorker, ANegativeComputeTimeLosesTheWorker) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--compute_s=-1"});
  ASSERT_FALSE(worker.address().empty());
  const std::string out = NewTempDir("negative") + "/out";
  ProcessResult run = Aia({"run", Config("stop { iteration: 5 }"), "--workers=" + worker.address(),
                           "--out=" + out, "--quiet"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("sent compute_s -1 (must be finite and >= 0)"));
  EXPECT_THAT(ReadFileOrDie(out + "/workers.csv"), Not(HasSubstr(",-1,")));
}

TEST(PythonWorker, AnotherMessageVersionIsRefusedAtReady) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--algorithm_version=echo/0: something else"});
  ASSERT_FALSE(worker.address().empty());
  ProcessResult run = Aia({"run", Config("stop { iteration: 5 }"), "--workers=" + worker.address(),
                           "--out=" + NewTempDir("version") + "/out", "--quiet"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("meaning 'echo/0: something else' by its messages"));
}

TEST(PythonWorker, AnErrorThatIsNotUtf8StillSaysWhy) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--error_after=2"});
  ASSERT_FALSE(worker.address().empty());
  const std::string out = NewTempDir("utf8") + "/out";
  ProcessResult run = Aia({"run", Config("stop { iteration: 50 }"), "--workers=" + worker.address(),
                           "--out=" + out, "--quiet"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("bad ?? bytes"));
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("bad ?? bytes"));
}

TEST(PythonWorker, SigtermDuringASlowSetupCancelsAtOnce) {
  REQUIRE_STUBS(stubs);
  PythonWorker worker(stubs, {"--setup_s=30"});
  ASSERT_FALSE(worker.address().empty());
  const std::string out = NewTempDir("setup") + "/out";
  absl::Time signalled;
  ProcessResult run =
      Aia({"run", Config("stop { iteration: 5 } limits { keepalive_s: 1 shutdown_timeout_s: 20 }"),
           "--workers=" + worker.address(), "--out=" + out, "--quiet"},
          absl::Seconds(60), [&](pid_t pid) {
            // Well into the setup: the worker's heartbeats keep it alive meanwhile.
            EXPECT_TRUE(AwaitFile(out + "/config.textproto", absl::Seconds(10)));
            absl::SleepFor(absl::Milliseconds(1500));
            signalled = absl::Now();
            kill(pid, SIGTERM);
          });
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(1)) << "SIGTERM waited for the setup";
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"cancelled\""));
}

}  // namespace
}  // namespace aia
