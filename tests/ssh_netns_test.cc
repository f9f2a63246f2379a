// aia run --ssh_workers on the multi-host test bed (tests/netns/testbed.sh, its own
// name "sn<pid>"): Debian's sshd runs inside worker1 and worker2's namespaces
// (10.77.0.11, .12) with a generated host key and an authorized client key; worker3
// (10.77.0.13) has none. `aia run` on coord starts aia_worker on the hosts over
// ssh (the bazel-built binary: namespaces share the file system), the workers join
// back, and the sessions end with the run.
//
// Scenarios: a run completes and no aia_worker remains on the hosts; a host that
// refuses fails the run promptly, naming it and ssh's error; SIGTERM (and SIGKILL)
// of aia run mid-run stops the remote workers; a hosts file with a bad line names
// the line (exit 2, no root needed).
//
// Needs root and network namespaces (skips with the reason otherwise); runs outside
// Bazel's sandbox (tags "local", "exclusive", "netns"). Every wait is bounded. The
// test bed is removed at the end, and on SIGTERM.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::BackgroundProcess;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

constexpr int kHosts = 3;   // worker1, worker2 with sshd; worker3 without
constexpr int kWithSshd = 2;
constexpr char kIp[] = "/usr/bin/ip";
constexpr char kBash[] = "/bin/bash";
constexpr char kSshd[] = "/usr/sbin/sshd";

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

char* g_down_argv[5];

void RemoveTestbedOnSignal(int signal_number) {
  const pid_t pid = fork();
  if (pid == 0) {
    execv(g_down_argv[0], g_down_argv);
    _exit(127);
  }
  if (pid > 0) waitpid(pid, nullptr, 0);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

struct Bed {
  std::string name;
  std::string skip;
  std::string error;
  std::string script;
  std::string keys;  // host_key, client_key, authorized_keys, sshd_config, known_hosts
  std::vector<std::unique_ptr<BackgroundProcess>> sshd;

  std::string Namespace(int w) const { return absl::StrCat(name, "-w", w + 1); }
  std::string Coordinator() const { return name + "-coord"; }
};

Bed* bed = nullptr;

void RemoveStaleTestbeds(const std::string& script) {
  ProcessResult list = RunProcess({kIp, "netns", "list"}, absl::Seconds(10));
  const std::regex ours("^(sn([0-9]+))-(br|coord|w[0-9]+)");
  std::set<std::string> stale;
  for (absl::string_view line : absl::StrSplit(list.out, '\n', absl::SkipEmpty())) {
    std::smatch match;
    const std::string text(line);
    if (std::regex_search(text, match, ours) &&
        !std::filesystem::exists("/proc/" + match[2].str())) {
      stale.insert(match[1].str());
    }
  }
  for (const std::string& name : stale) {
    RunProcess({kBash, script, "--name=" + name, "down"}, absl::Seconds(30));
  }
}

// The command lines of the processes in namespace `ns` that mention aia_worker
// (the workers, and the remote scripts that wait for them).
std::vector<std::string> WorkersIn(const std::string& ns) {
  ProcessResult pids = RunProcess({kIp, "netns", "pids", ns}, absl::Seconds(10));
  std::vector<std::string> found;
  for (absl::string_view line : absl::StrSplit(pids.out, '\n', absl::SkipEmpty())) {
    std::ifstream file(absl::StrCat("/proc/", line, "/cmdline"));
    std::string cmdline((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (absl::StrContains(cmdline, "aia_worker") && !absl::StartsWith(cmdline, "sshd")) {
      found.push_back(absl::StrCat(line, ": ", cmdline));
    }
  }
  return found;
}

class SshNetns : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    bed = new Bed;
    bed->name = absl::StrCat("sn", getpid());
    bed->script = Runfile("tests/netns/testbed.sh");
    if (geteuid() != 0) {
      bed->skip = "needs root to make network namespaces (run as root, as CI does)";
      return;
    }
    if (access(kSshd, X_OK) != 0 || access("/usr/bin/ssh", X_OK) != 0) {
      bed->skip = "needs openssh-server and openssh-client (apt-get install them)";
      return;
    }
    RemoveStaleTestbeds(bed->script);
    static std::string down[4] = {kBash, bed->script, "--name=" + bed->name, "down"};
    for (int i = 0; i < 4; ++i) g_down_argv[i] = down[i].data();
    g_down_argv[4] = nullptr;
    signal(SIGTERM, RemoveTestbedOnSignal);
    signal(SIGINT, RemoveTestbedOnSignal);
    ProcessResult up = RunProcess(
        {kBash, bed->script, "--name=" + bed->name, "up", absl::StrCat(kHosts)}, absl::Seconds(60));
    if (up.exit_code == 77) {
      bed->skip = absl::StrCat("network namespaces unavailable: ", up.err);
      return;
    }
    if (up.exit_code != 0) {
      bed->error = absl::StrCat("testbed.sh up failed (", up.exit_code, "): ", up.err);
      return;
    }
    bed->keys = NewTempDir("ssh_keys");
    chmod(bed->keys.c_str(), 0700);
    for (const char* key : {"host_key", "client_key"}) {
      ProcessResult made = RunProcess({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                                       "-f", bed->keys + "/" + key},
                                      absl::Seconds(30));
      if (made.exit_code != 0) {
        bed->error = absl::StrCat("ssh-keygen failed: ", made.err);
        return;
      }
    }
    WriteFileOrDie(bed->keys + "/authorized_keys", ReadFileOrDie(bed->keys + "/client_key.pub"));
    // StrictModes off: the test's temporary directory is not root's home.
    WriteFileOrDie(bed->keys + "/sshd_config",
                   absl::StrCat("PermitRootLogin prohibit-password\n"
                                "PasswordAuthentication no\n"
                                "KbdInteractiveAuthentication no\n"
                                "UsePAM no\n"
                                "StrictModes no\n"
                                "AuthorizedKeysFile ",
                                bed->keys, "/authorized_keys\n"));
    std::filesystem::create_directories("/run/sshd");  // sshd's privilege separation
    for (int w = 0; w < kWithSshd; ++w) {
      bed->sshd.push_back(std::make_unique<BackgroundProcess>(std::vector<std::string>{
          kIp, "netns", "exec", bed->Namespace(w), kSshd, "-D", "-e", "-f",
          bed->keys + "/sshd_config", "-h", bed->keys + "/host_key",
          absl::StrCat("-oListenAddress=10.77.0.", 11 + w),
          absl::StrCat("-oPidFile=", bed->keys, "/sshd-", w + 1, ".pid")}));
      if (!bed->sshd.back()->WaitForOutput("Server listening on", absl::Seconds(15))) {
        bed->error = absl::StrCat("sshd on worker", w + 1,
                                  " did not start: ", bed->sshd.back()->output());
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (bed != nullptr && bed->skip.empty()) {
      bed->sshd.clear();
      ProcessResult down =
          RunProcess({kBash, bed->script, "--name=" + bed->name, "down"}, absl::Seconds(60));
      EXPECT_EQ(down.exit_code, 0) << "testbed.sh down: " << down.err;
    }
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    delete bed;
    bed = nullptr;
  }

 protected:
  void SetUp() override {
    if (!bed->skip.empty()) GTEST_SKIP() << bed->skip;
    ASSERT_TRUE(bed->error.empty()) << bed->error;
  }

  // `aia run` of examples/sgd_least_squares.textproto on coord with --ssh_workers.
  std::unique_ptr<BackgroundProcess> StartRun(const std::string& hosts_text, const std::string& out,
                                              const std::vector<std::string>& sets) {
    const std::string hosts = NewTempDir("hosts") + "/hosts";
    WriteFileOrDie(hosts, hosts_text);
    std::vector<std::string> argv = {
        kIp,
        "netns",
        "exec",
        bed->Coordinator(),
        Runfile("coordinator/aia"),
        "run",
        Runfile("examples/sgd_least_squares.textproto"),
        "--ssh_workers=" + hosts,
        "--out=" + out,
        "--data_root=/",
        "--insecure",
        "--ssh_worker_binary=" + std::filesystem::canonical(Runfile("worker/aia_worker")).string(),
        absl::StrCat("--ssh_options=-i ", bed->keys,
                     "/client_key -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=",
                     bed->keys, "/known_hosts")};
    for (const std::string& set : sets) {
      argv.push_back("--set");
      argv.push_back(set);
    }
    return std::make_unique<BackgroundProcess>(argv);
  }

  // No aia_worker on any host (bounded: the sessions end before aia exits, so
  // this holds at once; the bound only keeps a failure short).
  void ExpectNoWorkersLeft() {
    for (int w = 0; w < kHosts; ++w) {
      std::vector<std::string> left;
      EXPECT_TRUE(WaitFor(
          [&] {
            left = WorkersIn(bed->Namespace(w));
            return left.empty();
          },
          absl::Seconds(5)))
          << "left on worker" << w + 1 << ": " << ::testing::PrintToString(left);
    }
  }
};

TEST_F(SshNetns, RunCompletesAndLeavesNoWorker) {
  const std::string out = NewTempDir("ssh_run") + "/out";
  auto run = StartRun(
      "# the hosts with sshd\nroot@worker1\n\n  root@worker2:22   # its port given\n", out,
      {"stop.time_s=3"});
  ProcessResult result = run->Wait(absl::Seconds(60));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("completed: time_s"));
  EXPECT_THAT(result.err, HasSubstr("joined:worker1 joined the pool"));
  EXPECT_THAT(result.err, HasSubstr("joined:worker2 joined the pool"));
  const std::string workers_csv = ReadFileOrDie(out + "/workers.csv");
  EXPECT_THAT(workers_csv, HasSubstr("joined:worker1"));
  EXPECT_THAT(workers_csv, HasSubstr("joined:worker2"));
  // The workers' own logs came back over ssh.
  EXPECT_THAT(ReadFileOrDie(out + "/logs/ssh-worker1.log"), HasSubstr("aia_worker: joining"));
  EXPECT_THAT(ReadFileOrDie(out + "/logs/ssh-worker2.log"), HasSubstr("aia_worker: joining"));
  ExpectNoWorkersLeft();
}

TEST_F(SshNetns, RefusingHostFailsTheRunNamingIt) {
  const std::string out = NewTempDir("ssh_refused") + "/out";
  auto run = StartRun("root@worker1\nroot@worker3\n", out, {"stop.time_s=30"});
  ProcessResult result = run->Wait(absl::Seconds(60));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr("ssh worker worker3 (10.77.0.13): ssh: connect to host "
                                    "worker3 port 22: Connection refused"));
  EXPECT_THAT(result.err, HasSubstr("ssh exit status 255"));
  // Promptly: well within ssh's 10 s ConnectTimeout and the run's 30 s.
  EXPECT_LT(result.wall, absl::Seconds(10));
  ExpectNoWorkersLeft();
}

TEST_F(SshNetns, SigtermStopsTheRemoteWorkers) {
  const std::string out = NewTempDir("ssh_sigterm") + "/out";
  auto run = StartRun("root@worker1\nroot@worker2\n", out, {"stop.time_s=60"});
  ASSERT_TRUE(run->WaitForOutput("worker 1 (joined:", absl::Seconds(30))) << run->output();
  ASSERT_TRUE(run->WaitForOutput("worker 0 (joined:", absl::Seconds(30))) << run->output();
  // The workers run on the hosts now (the check below can fail).
  EXPECT_FALSE(WorkersIn(bed->Namespace(0)).empty());
  EXPECT_FALSE(WorkersIn(bed->Namespace(1)).empty());
  ASSERT_EQ(kill(run->pid(), SIGTERM), 0);
  ProcessResult result = run->Wait(absl::Seconds(30));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_THAT(result.err, HasSubstr("run cancelled"));
  ExpectNoWorkersLeft();
}

TEST_F(SshNetns, SigkillStillStopsTheRemoteWorkers) {
  // ssh dies with aia (PR_SET_PDEATHSIG), its connection closes, and the remote
  // script stops the worker.
  const std::string out = NewTempDir("ssh_sigkill") + "/out";
  auto run = StartRun("root@worker1\n", out, {"stop.time_s=60"});
  ASSERT_TRUE(run->WaitForOutput("worker 0 (joined:", absl::Seconds(30))) << run->output();
  EXPECT_FALSE(WorkersIn(bed->Namespace(0)).empty());
  ASSERT_EQ(kill(run->pid(), SIGKILL), 0);
  run->Wait(absl::Seconds(10));
  std::vector<std::string> left;
  EXPECT_TRUE(WaitFor(
      [&] {
        left = WorkersIn(bed->Namespace(0));
        return left.empty();
      },
      absl::Seconds(15)))
      << ::testing::PrintToString(left);
}

// No root needed: the hosts file is read before anything starts.
TEST(SshWorkersFile, BadLineIsNamed) {
  const std::string dir = NewTempDir("ssh_bad");
  WriteFileOrDie(dir + "/hosts", "# hosts\nroot@worker1\nroot@worker2 extra\n");
  ProcessResult result =
      RunProcess({Runfile("coordinator/aia"), "run", Runfile("examples/sgd_least_squares.textproto"),
                  "--ssh_workers=" + dir + "/hosts", "--out=" + dir + "/out"},
                 absl::Seconds(30));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err, HasSubstr(dir + "/hosts:3: expected one [user@]host[:port], got "
                                    "'root@worker2 extra'"));
  WriteFileOrDie(dir + "/ports", "worker1:99999\n");
  result = RunProcess({Runfile("coordinator/aia"), "run",
                       Runfile("examples/sgd_least_squares.textproto"),
                       "--ssh_workers=" + dir + "/ports", "--out=" + dir + "/out"},
                      absl::Seconds(30));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_THAT(result.err, HasSubstr(dir + "/ports:1: "));
  EXPECT_THAT(result.err, HasSubstr("bad port '99999'"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
}

}  // namespace
}  // namespace aia
