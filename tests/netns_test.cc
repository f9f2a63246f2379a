// The multi-host test bed: the real aia and aia_worker binaries on separate "hosts"
// (network namespaces joined by a bridge, made by tests/netns/testbed.sh), talking
// over 10.77.0.0/24, which routes nowhere else.
//
//   coord (10.77.0.1)   aia run ... --workers=worker1:7000,worker2:7000,worker3:7000
//   worker1..3 (10.77.0.11..13)   aia_worker --listen=10.77.0.1I:7000
//
// Scenarios: a full run across hosts with mutual TLS and a token; the workers found
// through one dns:/// name; a partition
// (iptables DROP inside a worker's namespace) found within the liveness bound and
// survived with resilience 1; the partition healed and the worker rejoining; added
// latency (tests/netns/delay_relay.py in front of one worker); a worker with a
// certificate from another CA refused; the coordinator service with workers that
// join it from behind firewalls, and its dns:/// names re-resolved while it runs.
//
// Needs root and network namespaces: every test skips with the reason where the test
// bed cannot be made. Runs outside Bazel's sandbox (tags "local", "exclusive"); see
// docs/testing.md. Every run is bounded (stop.time_s, limits.*) and every wait has a
// deadline. The test bed is removed at the end, and on SIGTERM (Bazel's timeout).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::BackgroundProcess;
using ::aia::testing::JsonDouble;
using ::aia::testing::JsonInt;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadCsv;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::ToInt;
using ::testing::HasSubstr;

constexpr int kWorkers = 3;
constexpr int kPort = 7000;
constexpr char kIp[] = "/usr/bin/ip";
constexpr char kBash[] = "/bin/bash";

std::string WorkerHost(int w) { return absl::StrCat("worker", w + 1); }  // w from 0
std::string WorkerAddress(int w) { return absl::StrCat("10.77.0.", 11 + w); }

std::string WorkerList() {
  std::vector<std::string> list;
  for (int w = 0; w < kWorkers; ++w) list.push_back(absl::StrCat(WorkerHost(w), ":", kPort));
  return absl::StrJoin(list, ",");
}

// Whether `binary --helpfull` lists --`flag`.
bool HasFlag(const std::string& binary, const std::string& flag) {
  ProcessResult help = RunProcess({binary, "--helpfull"}, absl::Seconds(10));
  return absl::StrContains(help.out + help.err, "-" + flag + " ") ||
         absl::StrContains(help.out + help.err, "-" + flag + ")");
}

// Polls `done` every 20 ms until it holds (true) or `timeout` passes (false).
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// The test bed's argv for removal, made before any signal can arrive, so the SIGTERM
// handler only forks, execs and waits.
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

// One test bed for the whole binary (made once: about 0.3 s), and the certificates.
struct Testbed {
  std::string name;        // namespaces NAME-coord, NAME-w1..
  std::string skip;        // why the tests skip (namespaces cannot be made), or empty
  std::string error;       // why the test bed failed to come up, or empty
  std::string script;      // tests/netns/testbed.sh
  std::string certs;       // the cluster's CA, host certificates and token
  std::string other_ca;    // a "worker3" certificate from another CA

  std::string Namespace(int w) const { return absl::StrCat(name, "-w", w + 1); }
  std::string Coordinator() const { return name + "-coord"; }

  // Runs `command` with bash inside namespace `ns` (bounded).
  ProcessResult InNamespace(const std::string& ns, const std::string& command) const {
    return RunProcess({kIp, "netns", "exec", ns, kBash, "-c",
                       "export PATH=\"$PATH:/usr/sbin:/sbin\"; " + command},
                      absl::Seconds(20));
  }
};

Testbed* bed = nullptr;

// Removes test beds left by test processes that no longer exist (killed before their
// teardown), so a crashed run never accumulates namespaces.
void RemoveStaleTestbeds(const std::string& script) {
  ProcessResult list = RunProcess({kIp, "netns", "list"}, absl::Seconds(10));
  const std::regex ours("^(nt([0-9]+))-(br|coord|w[0-9]+)");
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

class Netns : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    bed = new Testbed;
    bed->name = absl::StrCat("nt", getpid());
    bed->script = Runfile("tests/netns/testbed.sh");
    if (geteuid() != 0) {
      bed->skip = "needs root to make network namespaces (run as root, as CI does)";
      return;
    }
    RemoveStaleTestbeds(bed->script);
    static std::string down[4] = {kBash, bed->script, "--name=" + bed->name, "down"};
    for (int i = 0; i < 4; ++i) g_down_argv[i] = down[i].data();
    g_down_argv[4] = nullptr;
    signal(SIGTERM, RemoveTestbedOnSignal);
    signal(SIGINT, RemoveTestbedOnSignal);
    ProcessResult up = RunProcess(
        {kBash, bed->script, "--name=" + bed->name, "up", absl::StrCat(kWorkers)},
        absl::Seconds(60));
    if (up.exit_code == 77) {
      bed->skip = absl::StrCat("network namespaces unavailable: ", up.err);
      return;
    }
    if (up.exit_code != 0) {
      bed->error = absl::StrCat("testbed.sh up failed (", up.exit_code, "): ", up.err);
      return;
    }
    if (!HasFlag(Runfile("worker/aia_worker"), "tls_cert") ||
        !HasFlag(Runfile("coordinator/aia"), "tls_ca")) {
      bed->error = "aia_worker --tls_cert or aia run --tls_ca is missing";
      return;
    }
    const std::string dir = NewTempDir("certs");
    bed->certs = dir + "/cluster";
    bed->other_ca = dir + "/other";
    const std::string make_certs = Runfile("scripts/make_certs.sh");
    std::vector<std::string> hosts = {make_certs, bed->certs, "coord=coord"};
    for (int w = 0; w < kWorkers; ++w) {
      hosts.push_back(absl::StrCat(WorkerHost(w), "=", WorkerHost(w), ",", WorkerAddress(w)));
    }
    for (const std::vector<std::string>& argv :
         {hosts, std::vector<std::string>{make_certs, bed->other_ca,
                                          "worker3=worker3,10.77.0.13"}}) {
      std::vector<std::string> command = {kBash};
      command.insert(command.end(), argv.begin(), argv.end());
      ProcessResult made = RunProcess(command, absl::Seconds(60));
      if (made.exit_code != 0) {
        bed->error = absl::StrCat("make_certs.sh failed: ", made.err);
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (bed != nullptr && bed->skip.empty()) {
      ProcessResult down =
          RunProcess({kBash, bed->script, "--name=" + bed->name, "down"}, absl::Seconds(60));
      EXPECT_EQ(down.exit_code, 0) << "testbed.sh down: " << down.err;
      ProcessResult list = RunProcess({kIp, "netns", "list"}, absl::Seconds(10));
      EXPECT_THAT(list.out, ::testing::Not(HasSubstr(bed->name + "-"))) << "namespaces left";
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

  // Heals every partition a test made, even when it failed half way.
  void TearDown() override {
    if (!bed->skip.empty() || !bed->error.empty()) return;
    workers_.clear();
    relays_.clear();
    for (int w = 0; w < kWorkers; ++w) {
      bed->InNamespace(bed->Namespace(w), "iptables -F INPUT; iptables -F OUTPUT");
    }
  }

  // The security flags of worker `w` (its own certificate, or `cert_dir`'s).
  std::vector<std::string> WorkerSecurity(int w, const std::string& cert_dir = "") const {
    const std::string dir = cert_dir.empty() ? bed->certs : cert_dir;
    const std::string host = WorkerHost(w);
    return {"--tls_cert=" + dir + "/" + host + ".pem", "--tls_key=" + dir + "/" + host + ".key",
            "--tls_ca=" + dir + "/ca.pem", "--token_file=" + bed->certs + "/token"};
  }

  std::vector<std::string> CoordinatorSecurity() const {
    return {"--tls_ca=" + bed->certs + "/ca.pem", "--tls_cert=" + bed->certs + "/coord.pem",
            "--tls_key=" + bed->certs + "/coord.key", "--token_file=" + bed->certs + "/token"};
  }

  // Starts aia_worker on host `w`, listening on `listen` (default its bridge address);
  // true once it announced its address.
  bool StartWorker(int w, const std::string& cert_dir = "", const std::string& listen = "") {
    std::vector<std::string> argv = {
        kIp,
        "netns",
        "exec",
        bed->Namespace(w),
        Runfile("worker/aia_worker"),
        absl::StrCat("--listen=", listen.empty() ? WorkerAddress(w) : listen, ":", kPort),
        "--data_root=/",
        "--shutdown_grace_s=1"};
    for (const std::string& flag : WorkerSecurity(w, cert_dir)) argv.push_back(flag);
    workers_[w] = std::make_unique<BackgroundProcess>(argv);
    const bool up = workers_[w]->WaitForOutput("listening on", absl::Seconds(10));
    EXPECT_TRUE(up) << WorkerHost(w) << " did not start: " << workers_[w]->output();
    return up;
  }

  bool StartAllWorkers() {
    for (int w = 0; w < kWorkers; ++w) {
      if (!StartWorker(w)) return false;
    }
    return true;
  }

  // Starts `aia run` on heart_scale (examples/sgd_least_squares.textproto) on the
  // coordinator's host with `sets` as --set overrides; writes into `out`.
  std::unique_ptr<BackgroundProcess> StartRun(const std::string& out,
                                              const std::vector<std::string>& sets,
                                              const std::string& workers = WorkerList()) {
    std::vector<std::string> argv = {kIp,
                                     "netns",
                                     "exec",
                                     bed->Coordinator(),
                                     Runfile("coordinator/aia"),
                                     "run",
                                     Runfile("examples/sgd_least_squares.textproto"),
                                     "--workers=" + workers,
                                     "--out=" + out,
                                     "--data_root=/"};
    for (const std::string& flag : CoordinatorSecurity()) argv.push_back(flag);
    for (const std::string& set : sets) {
      argv.push_back("--set");
      argv.push_back(set);
    }
    return std::make_unique<BackgroundProcess>(argv);
  }

  // Drops every packet in and out of worker `w`'s host (or lets them pass again).
  void Partition(int w, bool on) {
    const std::string verb = on ? "-I" : "-D";
    ProcessResult rules = bed->InNamespace(
        bed->Namespace(w),
        absl::StrCat("iptables ", verb, " INPUT -j DROP && iptables ", verb, " OUTPUT -j DROP"));
    ASSERT_EQ(rules.exit_code, 0) << "iptables: " << rules.err;
  }

  std::map<int, std::unique_ptr<BackgroundProcess>> workers_;
  std::vector<std::unique_ptr<BackgroundProcess>> relays_;
};

struct WorkerRow {
  std::string address;
  int64_t answers = 0;
  int64_t failures = 0;
  std::string state;
  std::string cause;
};

// The fields of one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes).
std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// workers.csv by column name (worker,address,answers,failures,mean_compute_s,state,
// cause, and whatever columns follow).
std::vector<WorkerRow> ReadWorkers(const std::string& out) {
  std::vector<WorkerRow> rows;
  std::vector<std::string> lines =
      absl::StrSplit(ReadFileOrDie(out + "/workers.csv"), '\n', absl::SkipEmpty());
  if (lines.empty()) return rows;
  std::map<std::string, size_t> column;
  const std::vector<std::string> header = SplitCsvLine(lines[0]);
  for (size_t c = 0; c < header.size(); ++c) column[header[c]] = c;
  for (const char* name : {"address", "answers", "failures", "state", "cause"}) {
    EXPECT_TRUE(column.count(name)) << "workers.csv has no column " << name << ": " << lines[0];
    if (!column.count(name)) return rows;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = SplitCsvLine(lines[i]);
    auto field = [&](const char* name) {
      return column[name] < f.size() ? f[column[name]] : std::string();
    };
    WorkerRow row;
    row.address = field("address");
    row.answers = ToInt(field("answers"));
    row.failures = ToInt(field("failures"));
    row.state = field("state");
    row.cause = field("cause");
    rows.push_back(row);
  }
  return rows;
}

// Per saved record of history.csv: the answering worker and its time.
struct Record {
  int64_t iteration = 0;
  double time_s = 0;
  int worker = -1;
};

std::vector<Record> ReadHistory(const std::string& out) {
  std::vector<Record> records;
  const std::vector<std::vector<std::string>> rows = ReadCsv(out + "/history.csv");
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].size() < 6 || rows[i][5].empty()) continue;  // record 0: no worker
    Record record;
    record.iteration = ToInt(rows[i][1]);
    EXPECT_TRUE(absl::SimpleAtod(rows[i][3], &record.time_s));
    record.worker = static_cast<int>(ToInt(rows[i][5]));
    records.push_back(record);
  }
  return records;
}

// Lines of history.csv so far (cheap enough to poll).
int64_t HistoryLines(const std::string& out) {
  std::error_code error;
  if (!std::filesystem::exists(out + "/history.csv", error)) return 0;
  const std::string text = ReadFileOrDie(out + "/history.csv");
  return std::count(text.begin(), text.end(), '\n');
}

std::string Name(int w) { return absl::StrCat("worker ", w, " (", WorkerHost(w), ":", kPort, ")"); }

TEST_F(Netns, FullRunAcrossHosts) {
  ASSERT_TRUE(StartAllWorkers());
  const std::string out = NewTempDir("full") + "/out";
  std::unique_ptr<BackgroundProcess> run =
      StartRun(out, {"stop.iteration=3000", "stop.time_s=30", "limits.connect_timeout_s=5"});
  ProcessResult result = run->Wait(absl::Seconds(45));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"completed\""));
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"iteration\""));
  EXPECT_EQ(JsonInt(summary, "iterations"), 3000);
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWorkers));
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(rows[w].address, absl::StrCat(WorkerHost(w), ":", kPort));
    EXPECT_GT(rows[w].answers, 100) << Name(w);  // every host took part
    EXPECT_EQ(rows[w].state, "stopped");
  }
  std::printf("full run across hosts (%s): %lld iterations in %.3f s; answers %lld %lld %lld\n",
              "mutual TLS and a token",
              static_cast<long long>(JsonInt(summary, "iterations")),
              JsonDouble(summary, "elapsed_s"), static_cast<long long>(rows[0].answers),
              static_cast<long long>(rows[1].answers), static_cast<long long>(rows[2].answers));
}

// A worker that sends nothing (not even a heartbeat) for limits.keepalive_s is lost
// (proto/config.proto, Limits.keepalive_s; heartbeats every keepalive_s / 4): the
// bound allows one more period and a second of scheduling.
constexpr double kKeepalive_s = 1;
const absl::Duration kLivenessBound = absl::Seconds(2 * kKeepalive_s + 1);

TEST_F(Netns, ADnsNameGivesAWorkerForEveryAddress) {
  // The coordinator's hosts file gives the name "workers" every worker's address.
  ASSERT_TRUE(StartAllWorkers());
  const std::string out = NewTempDir("dns") + "/out";
  std::unique_ptr<BackgroundProcess> run =
      StartRun(out, {"stop.iteration=600", "stop.time_s=30", "limits.connect_timeout_s=5"},
               absl::StrCat("dns:///workers:", kPort));
  ProcessResult result = run->Wait(absl::Seconds(45));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWorkers));
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(rows[w].address, absl::StrCat(WorkerAddress(w), ":", kPort));  // in order
    EXPECT_GT(rows[w].answers, 0) << rows[w].address;
  }
}

TEST_F(Netns, PartitionedWorkerIsLostAndTheRunSurvives) {
  ASSERT_TRUE(StartAllWorkers());
  const std::string out = NewTempDir("partition") + "/out";
  std::unique_ptr<BackgroundProcess> run =
      StartRun(out, {"stop.iteration=1000000000", "stop.time_s=8", "resilience=1",
                     absl::StrCat("limits.keepalive_s=", kKeepalive_s),
                     "limits.shutdown_timeout_s=2", "limits.connect_timeout_s=5"});
  // The run is going: every worker ready, records being saved.
  ASSERT_TRUE(WaitFor([&] { return HistoryLines(out) > 50; }, absl::Seconds(15)))
      << run->output();
  ASSERT_NO_FATAL_FAILURE(Partition(1, true));
  const absl::Time cut = absl::Now();
  const bool lost = run->WaitForOutput(Name(1) + " lost", kLivenessBound + absl::Seconds(5));
  const absl::Duration detection = absl::Now() - cut;
  EXPECT_TRUE(lost) << run->output();
  EXPECT_LE(detection, kLivenessBound) << run->output();
  ProcessResult result = run->Wait(absl::Seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"completed\""));
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"time_s\""));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWorkers));
  EXPECT_EQ(rows[1].state, "lost");
  EXPECT_EQ(rows[1].failures, 1);
  EXPECT_THAT(rows[1].cause, HasSubstr("limits.keepalive_s"));
  EXPECT_EQ(rows[0].state, "stopped");
  EXPECT_EQ(rows[2].state, "stopped");
  // The others went on after the loss: most answers came after it.
  EXPECT_GT(rows[0].answers + rows[2].answers, 2 * rows[1].answers);
  std::printf("partition of worker2: lost %.2f s after the cut (bound %.1f s); cause: %s\n",
              absl::ToDoubleSeconds(detection), absl::ToDoubleSeconds(kLivenessBound),
              rows[1].cause.c_str());
}

TEST_F(Netns, HealedWorkerRejoinsAndAnswersAgain) {
  ASSERT_TRUE(StartAllWorkers());
  const std::string out = NewTempDir("rejoin") + "/out";
  std::unique_ptr<BackgroundProcess> run = StartRun(
      out, {"stop.iteration=1000000000", "stop.time_s=12", "resilience=1", "rejoin=true",
            "save.iteration=1", absl::StrCat("limits.keepalive_s=", kKeepalive_s),
            "limits.rejoin_interval_s=0.5", "limits.connect_timeout_s=1",
            "limits.setup_timeout_s=5", "limits.shutdown_timeout_s=2"});
  ASSERT_TRUE(WaitFor([&] { return HistoryLines(out) > 50; }, absl::Seconds(15)))
      << run->output();
  ASSERT_NO_FATAL_FAILURE(Partition(1, true));
  const absl::Time cut = absl::Now();
  ASSERT_TRUE(run->WaitForOutput(Name(1) + " lost", kLivenessBound + absl::Seconds(5)))
      << run->output();
  const absl::Duration detection = absl::Now() - cut;
  ASSERT_NO_FATAL_FAILURE(Partition(1, false));
  const absl::Time healed = absl::Now();
  const bool rejoined = run->WaitForOutput(Name(1) + " rejoined", absl::Seconds(8));
  const absl::Duration rejoin = absl::Now() - healed;
  EXPECT_TRUE(rejoined) << run->output();
  ProcessResult result = run->Wait(absl::Seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"completed\""));
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWorkers));
  EXPECT_EQ(rows[1].state, "stopped");
  EXPECT_EQ(rows[1].failures, 1);
  // It answered again after rejoining: records from worker 1 past the rejoin.
  std::smatch at;
  const std::string err = result.err;
  ASSERT_TRUE(std::regex_search(err, at, std::regex("rejoined at iteration ([0-9]+)"))) << err;
  const int64_t rejoin_iteration = std::stoll(at[1].str());
  int64_t after = 0;
  for (const Record& record : ReadHistory(out)) {
    if (record.worker == 1 && record.iteration > rejoin_iteration) ++after;
  }
  EXPECT_GT(after, 10) << "worker 1 answered " << after << " times after rejoining";
  std::printf(
      "partition healed: worker2 lost %.2f s after the cut, rejoined %.2f s after the heal "
      "(at iteration %lld), then answered %lld more times (%lld in all)\n",
      absl::ToDoubleSeconds(detection), absl::ToDoubleSeconds(rejoin),
      static_cast<long long>(rejoin_iteration), static_cast<long long>(after),
      static_cast<long long>(rows[1].answers));
}

TEST_F(Netns, DelayedWorkerAnswersAtTheDelayedPace) {
  constexpr double kDelay_s = 0.05;  // each way: a round trip of 0.1 s more
  ASSERT_TRUE(StartWorker(0));
  ASSERT_TRUE(StartWorker(1));
  // worker3 listens on its own loopback; the relay takes its bridge address and port.
  ASSERT_TRUE(StartWorker(2, "", "127.0.0.1"));
  relays_.push_back(std::make_unique<BackgroundProcess>(std::vector<std::string>{
      kIp, "netns", "exec", bed->Namespace(2), "/usr/bin/python3",
      Runfile("tests/netns/delay_relay.py"), absl::StrCat("--listen=", WorkerAddress(2), ":", kPort),
      absl::StrCat("--target=127.0.0.1:", kPort), absl::StrCat("--delay_s=", kDelay_s)}));
  ASSERT_TRUE(relays_.back()->WaitForOutput("listening on", absl::Seconds(10)))
      << relays_.back()->output();
  const std::string out = NewTempDir("latency") + "/out";
  std::unique_ptr<BackgroundProcess> run =
      StartRun(out, {"stop.iteration=1000000000", "stop.time_s=5", "save.iteration=1",
                     "limits.connect_timeout_s=5"});
  ProcessResult result = run->Wait(absl::Seconds(30));
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<WorkerRow> rows = ReadWorkers(out);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kWorkers));
  // The mean time between consecutive answers of each worker.
  std::vector<double> first(kWorkers, -1), last(kWorkers, -1);
  std::vector<int64_t> count(kWorkers, 0);
  for (const Record& record : ReadHistory(out)) {
    if (record.worker < 0 || record.worker >= kWorkers) continue;
    if (first[record.worker] < 0) first[record.worker] = record.time_s;
    last[record.worker] = record.time_s;
    ++count[record.worker];
  }
  std::vector<double> mean_gap(kWorkers, 0);
  for (int w = 0; w < kWorkers; ++w) {
    ASSERT_GT(count[w], 2) << Name(w);
    mean_gap[w] = (last[w] - first[w]) / (count[w] - 1);
  }
  // Every answer of worker 2 waits one delayed round trip; the others do not.
  EXPECT_GE(mean_gap[2], 2 * kDelay_s * 0.95);
  EXPECT_LE(mean_gap[2], 2 * kDelay_s + 0.05);
  EXPECT_LT(rows[2].answers * 5, rows[0].answers);
  EXPECT_LT(rows[2].answers * 5, rows[1].answers);
  std::printf(
      "added latency %.0f ms each way to worker3: mean time between its answers %.1f ms "
      "(others %.2f ms, %.2f ms); answers %lld vs %lld, %lld\n",
      kDelay_s * 1e3, mean_gap[2] * 1e3, mean_gap[0] * 1e3, mean_gap[1] * 1e3,
      static_cast<long long>(rows[2].answers), static_cast<long long>(rows[0].answers),
      static_cast<long long>(rows[1].answers));
}

TEST_F(Netns, WorkerWithCertificateOfAnotherCaIsRefused) {
  ASSERT_TRUE(StartWorker(0));
  ASSERT_TRUE(StartWorker(1));
  ASSERT_TRUE(StartWorker(2, bed->other_ca));
  const std::string out = NewTempDir("other_ca") + "/out";
  std::unique_ptr<BackgroundProcess> run =
      StartRun(out, {"stop.iteration=3000", "stop.time_s=20", "limits.connect_timeout_s=3"});
  ProcessResult result = run->Wait(absl::Seconds(30));
  EXPECT_EQ(result.exit_code, 1) << result.err;
  // The error names the worker and says its certificate is not the cluster's.
  EXPECT_THAT(result.err, HasSubstr(Name(2)));
  EXPECT_TRUE(std::regex_search(result.err,
                                std::regex("certificate|CA\\b|handshake", std::regex::icase)))
      << result.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr(Name(2)));
  std::printf("worker3 with another CA's certificate: coordinator said: %s\nworker3 said: %s\n",
              result.err.c_str(), workers_[2]->output().c_str());
}

// ---- The coordinator service across hosts (docs/service.md) ----

// `aia serve` on the coordinator's host at coord:7000, with TLS, client
// certificates and the token; `workers` are its dialled workers (may be empty).
std::unique_ptr<BackgroundProcess> StartService(const std::string& runs_dir,
                                                const std::vector<std::string>& security,
                                                const std::string& workers = "") {
  std::vector<std::string> argv = {kIp,
                                   "netns",
                                   "exec",
                                   bed->Coordinator(),
                                   Runfile("coordinator/aia"),
                                   "serve",
                                   absl::StrCat("--listen=10.77.0.1:", kPort),
                                   "--runs_dir=" + runs_dir,
                                   "--data_root=/"};
  if (!workers.empty()) argv.push_back("--workers=" + workers);
  for (const std::string& flag : security) argv.push_back(flag);
  auto service = std::make_unique<BackgroundProcess>(argv);
  EXPECT_TRUE(service->WaitForOutput("listening on", absl::Seconds(10))) << service->output();
  return service;
}

// The CLI against the service, from the coordinator's host.
ProcessResult Cli(const std::vector<std::string>& args, const std::vector<std::string>& security,
                  absl::Duration timeout = absl::Seconds(60)) {
  std::vector<std::string> argv = {kIp, "netns", "exec", bed->Coordinator(),
                                   Runfile("coordinator/aia")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(absl::StrCat("--server=coord:", kPort));
  for (const std::string& flag : security) argv.push_back(flag);
  return RunProcess(argv, timeout);
}

TEST_F(Netns, WorkersBehindFirewallsJoinTheServiceAndCompleteARun) {
  // Every worker host drops inbound connection attempts (TCP SYN): only outbound
  // connections work, as behind NAT. The workers open no port at all (--join alone).
  for (int w = 0; w < 2; ++w) {
    ProcessResult rule =
        bed->InNamespace(bed->Namespace(w), "iptables -A INPUT -p tcp --syn -j DROP");
    ASSERT_EQ(rule.exit_code, 0) << rule.err;
  }
  const std::string runs = NewTempDir("service_join") + "/runs";
  std::unique_ptr<BackgroundProcess> service = StartService(runs, CoordinatorSecurity());
  for (int w = 0; w < 2; ++w) {
    std::vector<std::string> argv = {kIp,
                                     "netns",
                                     "exec",
                                     bed->Namespace(w),
                                     Runfile("worker/aia_worker"),
                                     absl::StrCat("--join=coord:", kPort),
                                     "--join_name=" + WorkerHost(w),
                                     "--data_root=/",
                                     "--shutdown_grace_s=1"};
    for (const std::string& flag : WorkerSecurity(w)) argv.push_back(flag);
    workers_[w] = std::make_unique<BackgroundProcess>(argv);
  }
  ASSERT_TRUE(service->WaitForOutput("joined:worker1 joined the pool", absl::Seconds(15)))
      << service->output() << workers_[0]->output();
  ASSERT_TRUE(service->WaitForOutput("joined:worker2 joined the pool", absl::Seconds(15)))
      << service->output() << workers_[1]->output();
  // The firewall holds: a connection attempt from the coordinator to a worker host
  // gets no answer (neither accepted nor refused).
  ProcessResult probe = bed->InNamespace(
      bed->Coordinator(), absl::StrCat("timeout 1 bash -c 'exec 3<>/dev/tcp/", WorkerAddress(0),
                                       "/7070' 2>&1; echo exit=$?"));
  EXPECT_THAT(probe.out, HasSubstr("exit=124")) << probe.out;

  ProcessResult pool = Cli({"workers"}, CoordinatorSecurity());
  ASSERT_EQ(pool.exit_code, 0) << pool.err;
  EXPECT_THAT(pool.out, HasSubstr("joined:worker1"));
  EXPECT_THAT(pool.out, HasSubstr("joined:worker2"));
  ProcessResult submit =
      Cli({"submit", Runfile("examples/sgd_least_squares.textproto"), "--workers=2", "--watch",
           "--set", "stop.iteration=3000", "--set", "stop.time_s=30"},
          CoordinatorSecurity());
  ASSERT_EQ(submit.exit_code, 0) << submit.err << service->output();
  EXPECT_THAT(submit.out, HasSubstr("completed: iteration after 3000 iterations"));
  const std::string run_id = std::string(absl::StripAsciiWhitespace(
      submit.out.substr(0, submit.out.find('\n'))));
  const std::vector<WorkerRow> rows = ReadWorkers(runs + "/" + run_id);
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::string> addresses;
  for (const WorkerRow& row : rows) {
    EXPECT_GT(row.answers, 100) << row.address;
    EXPECT_EQ(row.state, "stopped");
    addresses.insert(row.address);
  }
  EXPECT_EQ(addresses, (std::set<std::string>{"joined:worker1", "joined:worker2"}));
  ProcessResult listed = Cli({"ls"}, CoordinatorSecurity());
  EXPECT_THAT(listed.out, HasSubstr(run_id));
  std::printf("$ aia workers\n%s$ aia submit ... --workers=2 --watch\n%s%s$ aia ls\n%s",
              pool.out.c_str(), submit.out.c_str(), submit.err.c_str(), listed.out.c_str());
}

TEST_F(Netns, TheServiceReResolvesItsDnsNamesWhileItRuns) {
  ASSERT_TRUE(StartAllWorkers());
  // "pool" names worker1 only at first, in the coordinator host's hosts file (which
  // `ip netns exec` mounts as its /etc/hosts; rewritten in place, so the mount sees it).
  const std::string hosts = absl::StrCat("/etc/netns/", bed->Coordinator(), "/hosts");
  const std::string original = ReadFileOrDie(hosts);
  auto write_hosts = [&](const std::string& pool_addresses) {
    std::string text = original;
    for (absl::string_view address : absl::StrSplit(pool_addresses, ' ', absl::SkipEmpty())) {
      absl::StrAppend(&text, address, " pool\n");
    }
    std::FILE* file = std::fopen(hosts.c_str(), "r+");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), file), text.size());
    std::fflush(file);
    ASSERT_EQ(ftruncate(fileno(file), static_cast<off_t>(text.size())), 0);
    std::fclose(file);
  };
  write_hosts(WorkerAddress(0));
  const std::string runs = NewTempDir("service_dns") + "/runs";
  std::unique_ptr<BackgroundProcess> service =
      StartService(runs, CoordinatorSecurity(), absl::StrCat("dns:///pool:", kPort));
  auto pool_has = [&](const std::vector<int>& expected) {
    ProcessResult listed = Cli({"workers", "--json"}, CoordinatorSecurity(), absl::Seconds(10));
    for (int w = 0; w < kWorkers; ++w) {
      const bool in_pool =
          absl::StrContains(listed.out, absl::StrCat("\"", WorkerAddress(w), ":", kPort, "\""));
      const bool wanted = std::count(expected.begin(), expected.end(), w) > 0;
      if (in_pool != wanted) return false;
    }
    return absl::StrContains(listed.out, "\"idle\"");
  };
  EXPECT_TRUE(WaitFor([&] { return pool_has({0}); }, absl::Seconds(10))) << service->output();
  write_hosts(absl::StrCat(WorkerAddress(0), " ", WorkerAddress(1), " ", WorkerAddress(2)));
  EXPECT_TRUE(WaitFor([&] { return pool_has({0, 1, 2}); }, absl::Seconds(10)))
      << service->output();
  write_hosts(WorkerAddress(2));
  EXPECT_TRUE(WaitFor([&] { return pool_has({2}); }, absl::Seconds(10))) << service->output();
  std::FILE* restore = std::fopen(hosts.c_str(), "w");
  ASSERT_NE(restore, nullptr);
  std::fputs(original.c_str(), restore);
  std::fclose(restore);
  std::printf("the service's pool followed the name: %s\n", service->output().c_str());
}

}  // namespace
}  // namespace aia
