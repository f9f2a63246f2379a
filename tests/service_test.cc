// End to end: the coordinator service with real processes. A real `aia serve`,
// real aia_worker daemons (dialled with --listen, or joining with --join), and the
// real aia CLI as its client (submit, watch, cancel, ls, get, workers, --json).
// Loopback only; every port is picked by the kernel (…:0) and read back from what
// the process prints; every wait is bounded.
//
// Runs use the echo algorithm with 10 ms per answer (steady progress for as long
// as stop.time_s allows), so "mid-run" is a condition the test waits for: a
// progress update with iterations > 0 on `aia watch --json`.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "proto/coordinator.pb.h"
#include "tests/grpc_health.h"
#include "tests/metrics_scrape.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::After;
using ::aia::testing::AnnouncedMetricsPort;
using ::aia::testing::AwaitSample;
using ::aia::testing::BackgroundProcess;
using ::aia::testing::HealthCheck;
using ::aia::testing::kPrometheus;
using ::aia::testing::kPromtool;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::PrometheusServer;
using ::aia::testing::PromtoolCheck;
using ::aia::testing::ReadCsv;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::Sample;
using ::aia::testing::Scrape;
using ::aia::testing::ToInt;
using ::aia::testing::UnusedPort;
using ::aia::testing::WorkerProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr char kHeartScale[] = "/usr/share/doc/liblinear-tools/examples/heart_scale";

// 10 ms per answer; a run lasts until stop.time_s unless --set stop.iteration=N.
constexpr char kEchoConfig[] = R"pb(
  name: "service_test"
  algorithm {
    name: "echo"
    echo { dimension: 4 delay_s: 0.01 }
  }
  problem {
    name: "least_squares"
    synthetic { rows: 12 columns: 2 }
  }
  save { epoch: 10 }
  stop { time_s: 30 }
  limits { shutdown_timeout_s: 2 }
)pb";

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

template <typename Message>
bool ParseJson(const std::string& json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return google::protobuf::util::JsonStringToMessage(json, message, options).ok();
}

// The run updates of `aia watch --json` output (one JSON object a line).
std::vector<v1::RunUpdate> ParseUpdates(const std::string& out) {
  std::vector<v1::RunUpdate> updates;
  for (const std::string& line : Lines(out)) {
    if (line.empty() || line[0] != '{') continue;
    if (line.rfind("{\"run_id\"", 0) == 0) continue;  // submit --json: SubmitRunResponse
    v1::RunUpdate update;
    EXPECT_TRUE(ParseJson(line, &update)) << line;
    updates.push_back(update);
  }
  return updates;
}

// workers.csv, columns worker, address, answers, failures, mean_compute_s, state
// (the later ones may hold a quoted cause; not read).
struct SlotRow {
  std::string address;
  int64_t answers = 0;
  std::string state;
};

std::vector<SlotRow> ReadSlots(const std::string& run_dir) {
  std::vector<std::vector<std::string>> csv = ReadCsv(run_dir + "/workers.csv");
  std::vector<SlotRow> rows;
  EXPECT_FALSE(csv.empty());
  if (csv.empty()) return rows;
  EXPECT_EQ(
      absl::StrJoin(csv[0], ",").rfind("worker,address,answers,failures,mean_compute_s,state", 0),
      0u);
  for (size_t i = 1; i < csv.size(); ++i) {
    EXPECT_GE(csv[i].size(), 6u);
    if (csv[i].size() < 6) continue;
    EXPECT_EQ(ToInt(csv[i][0]), static_cast<int64_t>(i - 1));
    rows.push_back({csv[i][1], ToInt(csv[i][2]), csv[i][5]});
  }
  return rows;
}

// The epoch column of history.csv, in order.
std::vector<int64_t> HistoryEpochs(const std::string& run_dir) {
  std::vector<std::vector<std::string>> csv = ReadCsv(run_dir + "/history.csv");
  std::vector<int64_t> epochs;
  EXPECT_FALSE(csv.empty());
  if (csv.empty()) return epochs;
  EXPECT_EQ(csv[0][2], "epoch");
  for (size_t i = 1; i < csv.size(); ++i) epochs.push_back(ToInt(csv[i][2]));
  return epochs;
}

// The value of `"key": "text"` in summary.json.
std::string JsonString(const std::string& json, const std::string& key) {
  const std::string marker = "\"" + key + "\": \"";
  const size_t at = json.find(marker);
  if (at == std::string::npos) return "";
  const size_t start = at + marker.size();
  return json.substr(start, json.find('"', start) - start);
}

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false).
bool Eventually(absl::Duration timeout, const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// A running `aia serve --listen=127.0.0.1:0 --runs_dir=DIR [flags]`; SIGTERM (then
// SIGKILL) when destroyed.
class Service {
 public:
  Service(const std::string& runs_dir, std::vector<std::string> flags)
      : runs_dir_(runs_dir), flags_(std::move(flags)) {
    Start();
  }
  ~Service() { Stop(); }

  // Starts (again) on the same --runs_dir and flags, on a new port.
  void Start() {
    std::vector<std::string> argv = {Runfile("coordinator/aia"), "serve", "--listen=127.0.0.1:0",
                                     "--runs_dir=" + runs_dir_};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    process_ = std::make_unique<BackgroundProcess>(argv);
    killed_ = false;
    // The line is written at once, with its end: "... runs in DIR\n".
    const bool announced =
        process_->WaitForOutput(" runs in " + runs_dir_ + "\n", absl::Seconds(15));
    ASSERT_TRUE(announced) << process_->output();
    const std::string said = After(process_->output(), "aia serve: listening on ");
    address_ = said.substr(0, said.find(' '));
    ASSERT_THAT(address_, StartsWith("127.0.0.1:")) << process_->output();
    const std::string metrics = "aia serve: metrics on http://127.0.0.1:";
    // The metrics line follows the listening line.
    const bool with_metrics =
        std::any_of(flags_.begin(), flags_.end(), [](const std::string& flag) {
          return flag.rfind("--metrics_listen=", 0) == 0;
        });
    if (with_metrics) {
      ASSERT_TRUE(process_->WaitForOutput(metrics, absl::Seconds(15))) << process_->output();
    }
    metrics_port_ = AnnouncedMetricsPort(process_->output(), metrics);
    if (process_->output().find(metrics) != std::string::npos) {
      ASSERT_GT(metrics_port_, 0) << process_->output();
    }
  }

  // SIGKILL, and waits for it.
  void Kill() {
    kill(process_->pid(), SIGKILL);
    process_->Wait(absl::Seconds(10));
    killed_ = true;
  }

  // SIGTERM; the exit status.
  int Stop() {
    if (process_ == nullptr) return -1;
    if (!killed_) kill(process_->pid(), SIGTERM);
    const int code = process_->Wait(absl::Seconds(20)).exit_code;
    process_.reset();
    return code;
  }

  bool AwaitLog(const std::string& text, absl::Duration timeout = absl::Seconds(20)) {
    return process_->WaitForOutput(text, timeout);
  }
  std::string log() const { return process_->output(); }
  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& runs_dir() const { return runs_dir_; }

 private:
  const std::string runs_dir_;
  const std::vector<std::string> flags_;
  std::unique_ptr<BackgroundProcess> process_;
  std::string address_;
  int metrics_port_ = 0;
  bool killed_ = false;  // and reaped: its pid may be another's now
};

// An `aia_worker --join=SERVICE --join_name=NAME` without --listen.
class JoinedWorker {
 public:
  JoinedWorker(const std::string& service, const std::string& name, const std::string& data_root,
               const std::vector<std::string>& flags = {})
      : name_(name) {
    std::vector<std::string> argv = {Runfile("worker/aia_worker"), "--join=" + service,
                                     "--join_name=" + name, "--data_root=" + data_root};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<BackgroundProcess>(argv);
    EXPECT_TRUE(process_->WaitForOutput("aia_worker: joining " + service, absl::Seconds(10)))
        << process_->output();
  }
  ~JoinedWorker() {
    if (process_ != nullptr) Terminate();
  }

  void Kill() {
    if (!ended_) kill(process_->pid(), SIGKILL);
    ended_ = true;
    process_->Wait(absl::Seconds(10));
  }

  // SIGTERM (a drain); the exit status.
  int Terminate() {
    if (!ended_) kill(process_->pid(), SIGTERM);
    ended_ = true;
    return process_->Wait(absl::Seconds(15)).exit_code;
  }
  const std::string& name() const { return name_; }
  std::string pool_name() const { return "joined:" + name_; }
  std::string output() const { return process_->output(); }

 private:
  const std::string name_;
  std::unique_ptr<BackgroundProcess> process_;
  bool ended_ = false;  // signalled and reaped: its pid may be another's now
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("AIA_SERVER");
    data_ = NewTempDir("data");
    config_ = NewTempDir("config") + "/echo.textproto";
    WriteFileOrDie(config_, kEchoConfig);
  }

  void StartDialled(int n, const std::vector<std::string>& flags = {}) {
    for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<WorkerProcess>("/"));
    std::vector<std::string> addresses;
    for (const auto& worker : workers_) addresses.push_back(worker->address());
    std::vector<std::string> all = {"--workers=" + absl::StrJoin(addresses, ","), "--data_root=/"};
    all.insert(all.end(), flags.begin(), flags.end());
    ASSERT_NO_FATAL_FAILURE(StartService(all));
  }

  void StartService(const std::vector<std::string>& flags = {}) {
    service_ = std::make_unique<Service>(NewTempDir("runs"), flags);
  }

  // `aia ARGS... --server=SERVICE`, at most 30 s.
  ProcessResult Aia(std::vector<std::string> args) {
    args.insert(args.begin(), Runfile("coordinator/aia"));
    args.push_back("--server=" + service_->address());
    return RunProcess(args, absl::Seconds(30));
  }

  // `aia submit CONFIG --workers=N --set ...`: the run id (a test failure if it fails).
  std::string Submit(int workers, const std::vector<std::string>& sets) {
    std::vector<std::string> args = {"submit", config_, absl::StrCat("--workers=", workers)};
    for (const std::string& set : sets) args.push_back("--set=" + set);
    ProcessResult submitted = Aia(args);
    EXPECT_EQ(submitted.exit_code, 0) << submitted.out << submitted.err;
    std::string id = submitted.out;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    EXPECT_THAT(id, StartsWith("run-")) << submitted.out << submitted.err;
    return id;
  }

  v1::RunSummary Get(const std::string& id) {
    ProcessResult got = Aia({"get", id, "--json"});
    EXPECT_EQ(got.exit_code, 0) << got.out << got.err;
    v1::RunSummary summary;
    EXPECT_TRUE(ParseJson(got.out, &summary)) << got.out;
    return summary;
  }

  v1::ListWorkersResponse Workers() {
    ProcessResult listed = Aia({"workers", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
    v1::ListWorkersResponse response;
    EXPECT_TRUE(ParseJson(listed.out, &response)) << listed.out;
    return response;
  }

  // The pool's workers, by value (a range-for over a temporary's field dangles).
  std::vector<v1::PoolWorker> PoolWorkers() {
    const v1::ListWorkersResponse response = Workers();
    return {response.workers().begin(), response.workers().end()};
  }

  v1::ListRunsResponse Runs() {
    ProcessResult listed = Aia({"ls", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
    v1::ListRunsResponse response;
    EXPECT_TRUE(ParseJson(listed.out, &response)) << listed.out;
    return response;
  }

  // Polls `aia get` until the run is in `state`; its last summary.
  v1::RunSummary AwaitState(const std::string& id, const std::string& state,
                            absl::Duration timeout = absl::Seconds(30)) {
    v1::RunSummary summary;
    const bool reached = Eventually(timeout, [&] {
      summary = Get(id);
      return summary.state() == state;
    });
    EXPECT_TRUE(reached) << id << " is " << summary.state() << ", not " << state << "\n"
                         << summary.ShortDebugString() << "\n"
                         << service_->log();
    return summary;
  }

  // Watches the run (aia watch --json) until a progress update satisfies
  // `accept` (by default: iterations > 0); that update.
  std::optional<v1::Progress> AwaitProgress(
      const std::string& id, const std::function<bool(const v1::Progress&)>& accept = nullptr,
      absl::Duration timeout = absl::Seconds(20)) {
    BackgroundProcess watch(
        {Runfile("coordinator/aia"), "watch", id, "--json", "--server=" + service_->address()});
    std::optional<v1::Progress> found;
    Eventually(timeout, [&] {
      for (const v1::RunUpdate& update : ParseUpdates(watch.output())) {
        if (!update.has_progress()) continue;
        if (accept ? accept(update.progress()) : update.progress().iteration() > 0) {
          found = update.progress();
          return true;
        }
      }
      return false;
    });
    EXPECT_TRUE(found.has_value()) << "no such progress on " << id << ":\n"
                                   << watch.output() << "\n"
                                   << service_->log();
    return found;
  }

  // Waits until `aia workers` lists `count` idle workers.
  void AwaitIdle(int count) {
    v1::ListWorkersResponse pool;
    const bool idle = Eventually(absl::Seconds(15), [&] {
      pool = Workers();
      int n = 0;
      for (const v1::PoolWorker& worker : pool.workers()) n += worker.state() == "idle";
      return n == count;
    });
    EXPECT_TRUE(idle) << pool.DebugString();
  }

  // The pool name of the worker in `slot` of `run` (aia workers), or "".
  std::string WorkerInSlot(const std::string& run, int slot) {
    for (const v1::PoolWorker& worker : PoolWorkers()) {
      if (worker.state() == "busy" && worker.run_id() == run && worker.slot() == slot) {
        return worker.name();
      }
    }
    return "";
  }

  std::string data_;
  std::string config_;
  std::vector<std::unique_ptr<WorkerProcess>> workers_;
  std::vector<std::unique_ptr<JoinedWorker>> joined_;
  std::unique_ptr<Service> service_;  // last: stopped before the workers
};

// 1. submit --watch to completion; get, ls, workers, watch [--from_record], --json.
TEST_F(ServiceTest, SubmitWatchesARunToCompletionAndGetDescribesIt) {
  if (access(kHeartScale, R_OK) != 0) GTEST_SKIP() << kHeartScale << " is missing";
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  const std::string example = Runfile("examples/sgd_least_squares.textproto");
  // AIA_SERVER stands for --server.
  setenv("AIA_SERVER", service_->address().c_str(), 1);
  ProcessResult run = RunProcess({Runfile("coordinator/aia"), "submit", example, "--workers=2",
                                  "--set=stop.iteration=2000", "--watch"},
                                 absl::Seconds(60));
  unsetenv("AIA_SERVER");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << service_->log();
  const std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  EXPECT_EQ(lines[0], "run-1");
  const std::string run_dir = service_->runs_dir() + "/run-1";
  EXPECT_THAT(lines[1], StartsWith("completed: iteration after 2000 iterations, "));
  EXPECT_THAT(lines[1], ::testing::EndsWith("; history in " + run_dir));
  EXPECT_THAT(run.err, HasSubstr("run-1 completed")) << run.err;

  const v1::RunSummary summary = Get("run-1");
  EXPECT_EQ(summary.run_id(), "run-1");
  EXPECT_EQ(summary.name(), "sgd_least_squares");
  EXPECT_EQ(summary.algorithm(), "sgd");
  EXPECT_EQ(summary.state(), "completed");
  EXPECT_EQ(summary.stop_reason(), "iteration");
  EXPECT_EQ(summary.error(), "");
  EXPECT_EQ(summary.iterations(), 2000);
  EXPECT_GT(summary.epochs(), 0);
  EXPECT_EQ(summary.exit_status(), 0);
  EXPECT_EQ(summary.workers(), 2);
  EXPECT_EQ(summary.source(), "sgd_least_squares.textproto");
  EXPECT_EQ(summary.run_dir(), run_dir);
  ASSERT_EQ(summary.answer_count_size(), 2);
  EXPECT_GE(summary.answer_count(0) + summary.answer_count(1), 2000);
  EXPECT_GT(summary.submitted_at(), 0);
  EXPECT_GE(summary.started_at(), summary.submitted_at());
  EXPECT_GE(summary.ended_at(), summary.started_at());
  EXPECT_NEAR(summary.submitted_at(), absl::ToUnixSeconds(absl::Now()), 120);
  for (const char* file : {"history.csv", "summary.json", "workers.csv"}) {
    EXPECT_TRUE(std::filesystem::exists(run_dir + "/" + file)) << file;
  }
  const std::string json = ReadFileOrDie(run_dir + "/summary.json");
  EXPECT_EQ(JsonString(json, "status"), "completed") << json;
  EXPECT_EQ(aia::testing::JsonInt(json, "iterations"), 2000) << json;
  std::vector<std::string> addresses;
  for (const SlotRow& row : ReadSlots(run_dir)) {
    addresses.push_back(row.address);
    EXPECT_GT(row.answers, 0);
    EXPECT_EQ(row.state, "stopped");
  }
  EXPECT_THAT(addresses, UnorderedElementsAre(workers_[0]->address(), workers_[1]->address()));

  // The text form.
  ProcessResult text = Aia({"get", "run-1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("state        completed\n"));
  EXPECT_THAT(text.out, HasSubstr("iterations   2000\n"));
  EXPECT_THAT(text.out, HasSubstr("run_dir      " + run_dir + "\n"));
  ProcessResult ls = Aia({"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  ASSERT_EQ(Lines(ls.out).size(), 2u) << ls.out;
  EXPECT_THAT(Lines(ls.out)[1], StartsWith("run-1      completed         2        2000"));
  const v1::ListRunsResponse runs = Runs();
  ASSERT_EQ(runs.runs_size(), 1);
  EXPECT_EQ(runs.runs(0).run_id(), "run-1");
  EXPECT_EQ(runs.runs(0).state(), "completed");
  // The pool: both dialled workers, idle again.
  std::vector<std::string> pool;
  for (const v1::PoolWorker& worker : PoolWorkers()) {
    pool.push_back(worker.name() + " " + worker.state());
    EXPECT_FALSE(worker.joined());
  }
  EXPECT_THAT(pool, UnorderedElementsAre(workers_[0]->address() + " idle",
                                         workers_[1]->address() + " idle"));

  // watch --json of the finished run: its summary, then every record of
  // history.csv in order (from --from_record on), then the stream ends (exit 0).
  const int64_t rows = static_cast<int64_t>(ReadCsv(run_dir + "/history.csv").size()) - 1;
  ASSERT_GT(rows, 5);
  ProcessResult watched = Aia({"watch", "run-1", "--json"});
  EXPECT_EQ(watched.exit_code, 0) << watched.err;
  std::vector<v1::RunUpdate> updates = ParseUpdates(watched.out);
  ASSERT_FALSE(updates.empty());
  ASSERT_TRUE(updates[0].has_summary()) << updates[0].DebugString();
  EXPECT_EQ(updates[0].summary().state(), "completed");
  std::vector<int64_t> numbers;
  for (const v1::RunUpdate& update : updates) {
    if (update.has_record()) numbers.push_back(update.record().record());
  }
  ASSERT_EQ(static_cast<int64_t>(numbers.size()), rows);
  for (int64_t i = 0; i < rows; ++i) EXPECT_EQ(numbers[i], i);
  const int64_t from = rows - 3;
  ProcessResult resumed = Aia({"watch", "run-1", "--json", absl::StrCat("--from_record=", from)});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  numbers.clear();
  for (const v1::RunUpdate& update : ParseUpdates(resumed.out)) {
    if (update.has_record()) numbers.push_back(update.record().record());
  }
  EXPECT_THAT(numbers, ElementsAre(from, from + 1, from + 2));
  // The text form ends as submit --watch did.
  ProcessResult plain = Aia({"watch", "run-1"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_THAT(plain.out, StartsWith("completed: iteration after 2000 iterations, "));
}

// 2. aia cancel mid-run: the run ends cancelled; aia watch exits 1.
TEST_F(ServiceTest, CancelEndsARunningRun) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  const std::string id = Submit(2, {"stop.time_s=30"});
  BackgroundProcess watch(
      {Runfile("coordinator/aia"), "watch", id, "--server=" + service_->address()});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  EXPECT_EQ(Get(id).state(), "running");
  const absl::Time cancelled_at = absl::Now();
  ProcessResult cancel = Aia({"cancel", id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(cancel.out, id + ": cancel requested (was running)\n");
  // Cancelling again is harmless: still running, or already ended.
  ProcessResult again = Aia({"cancel", id});
  if (again.exit_code == 0) {
    EXPECT_EQ(again.out, id + ": cancel requested (was running)\n");
  } else {
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_THAT(again.err, HasSubstr("has already ended (cancelled)"));
  }
  ProcessResult watched = watch.Wait(absl::Seconds(15));
  EXPECT_FALSE(watched.timed_out);
  EXPECT_EQ(watched.exit_code, 1) << watched.out << watched.err;
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(10));
  EXPECT_THAT(watched.err, HasSubstr("aia: run " + id + " cancelled: the run was cancelled\n"));
  const v1::RunSummary summary = AwaitState(id, "cancelled", absl::Seconds(5));
  EXPECT_EQ(summary.error(), "the run was cancelled");
  EXPECT_EQ(summary.exit_status(), 1);
  EXPECT_GT(summary.iterations(), 0);
  EXPECT_LT(summary.elapsed_s(), 25);
  const std::string json = ReadFileOrDie(summary.run_dir() + "/summary.json");
  EXPECT_EQ(JsonString(json, "status"), "cancelled") << json;
  // A watch that starts after the end says so too.
  ProcessResult late = Aia({"watch", id});
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_THAT(late.err, HasSubstr("aia: run " + id + " cancelled: the run was cancelled\n"));
  // And the workers are free for the next run.
  AwaitIdle(2);
  // A service that cancelled a run stops cleanly (its cancellation is not notified
  // twice).
  const std::string log = service_->log();
  EXPECT_EQ(service_->Stop(), 0) << log;
}

// 3. Two runs of 2 slots on 4 workers run at the same time on disjoint workers.
TEST_F(ServiceTest, TwoRunsAtOnceOnDisjointWorkers) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(4));
  AwaitIdle(4);
  const std::string a = Submit(2, {"stop.time_s=4"});
  const std::string b = Submit(2, {"stop.time_s=4"});
  bool both = false;
  Eventually(absl::Seconds(10), [&] {
    both = Get(a).state() == "running" && Get(b).state() == "running";
    return both;
  });
  EXPECT_TRUE(both) << service_->log();
  // While both run, the pool has all four busy, two for each.
  std::map<std::string, int> busy;
  for (const v1::PoolWorker& worker : PoolWorkers()) {
    if (worker.state() == "busy") ++busy[worker.run_id()];
  }
  EXPECT_THAT(busy, UnorderedElementsAre(std::make_pair(a, 2), std::make_pair(b, 2)));
  const v1::RunSummary ra = AwaitState(a, "completed");
  const v1::RunSummary rb = AwaitState(b, "completed");
  EXPECT_LT(rb.started_at(), ra.ended_at());  // they overlapped
  std::set<std::string> addresses;
  for (const v1::RunSummary& run : {ra, rb}) {
    const std::vector<SlotRow> slots = ReadSlots(run.run_dir());
    ASSERT_EQ(slots.size(), 2u);
    for (const SlotRow& slot : slots) {
      EXPECT_GT(slot.answers, 0);
      EXPECT_TRUE(addresses.insert(slot.address).second) << slot.address << " in both runs";
    }
  }
  std::vector<std::string> all;
  for (const auto& worker : workers_) all.push_back(worker->address());
  EXPECT_THAT(addresses, UnorderedElementsAreArray(all));
}

// 4. A third run waits queued until two workers come free, then completes.
TEST_F(ServiceTest, AThirdRunQueuesUntilWorkersFreeUp) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(4));
  AwaitIdle(4);
  const std::string a = Submit(2, {"stop.time_s=3"});
  const std::string b = Submit(2, {"stop.time_s=3"});
  const std::string c = Submit(2, {"stop.iteration=200"});
  EXPECT_EQ(c, "run-3");
  bool both = false;
  Eventually(absl::Seconds(10), [&] {
    both = Get(a).state() == "running" && Get(b).state() == "running";
    return both;
  });
  ASSERT_TRUE(both) << service_->log();
  v1::RunSummary queued = Get(c);
  EXPECT_EQ(queued.state(), "queued");
  EXPECT_EQ(queued.started_at(), 0);
  ProcessResult ls = Aia({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("\nrun-3      queued "));
  const v1::RunSummary rc = AwaitState(c, "completed");
  const v1::RunSummary ra = Get(a), rb = Get(b);
  EXPECT_EQ(ra.state(), "completed");
  EXPECT_EQ(rb.state(), "completed");
  EXPECT_EQ(rc.iterations(), 200);
  // It started once the first of the others had ended its central loop (and so
  // given its workers back; its ended_at is stamped a little later, after its files).
  EXPECT_GE(rc.started_at(), std::min(ra.started_at() + ra.elapsed_s(),
                                      rb.started_at() + rb.elapsed_s()) -
                                 0.01);
  EXPECT_GT(rc.started_at() - rc.submitted_at(), 2.0);  // the queue wait
}

// A queued run cancelled: it never starts.
TEST_F(ServiceTest, CancelOfAQueuedRun) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  AwaitIdle(2);
  const std::string a = Submit(2, {"stop.time_s=20"});
  const std::string b = Submit(2, {"stop.iteration=100"});
  ASSERT_TRUE(AwaitProgress(a).has_value());
  ASSERT_EQ(Get(b).state(), "queued");
  ProcessResult cancel = Aia({"cancel", b});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  v1::RunSummary summary = Get(b);
  EXPECT_EQ(summary.state(), "cancelled");
  EXPECT_EQ(summary.error(), "cancelled before it started");
  EXPECT_EQ(summary.started_at(), 0);
  ProcessResult watched = Aia({"watch", b});
  EXPECT_EQ(watched.exit_code, 1);
  ProcessResult again = Aia({"cancel", a});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  AwaitState(a, "cancelled");
  // The line says what the run was before the cancel: queued.
  EXPECT_EQ(cancel.out, b + ": cancelled before it started\n");
}

// 5. The submitting client killed mid-run: the run goes on and completes.
TEST_F(ServiceTest, KilledClientDoesNotStopTheRun) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  BackgroundProcess client({Runfile("coordinator/aia"), "submit", config_, "--workers=2",
                            "--set=stop.time_s=3", "--watch", "--server=" + service_->address()});
  ASSERT_TRUE(client.WaitForOutput("run-1\n", absl::Seconds(15))) << client.output();
  ASSERT_TRUE(AwaitProgress("run-1").has_value());
  kill(client.pid(), SIGKILL);
  EXPECT_EQ(client.Wait(absl::Seconds(5)).exit_code, -1);
  const v1::RunSummary summary = AwaitState("run-1", "completed");
  EXPECT_EQ(summary.stop_reason(), "time_s");
  EXPECT_EQ(summary.exit_status(), 0);
  EXPECT_NEAR(summary.elapsed_s(), 3.0, 0.5);
  for (const SlotRow& slot : ReadSlots(summary.run_dir())) EXPECT_GT(slot.answers, 0);
}

// 6. aia serve SIGKILLed mid-run, restarted on the same --runs_dir.
TEST_F(ServiceTest, RestartAfterAKillMarksUnfinishedRunsInterrupted) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  const std::string done = Submit(2, {"stop.iteration=100"});
  AwaitState(done, "completed");
  const std::string running = Submit(2, {"stop.time_s=30"});
  const std::string queued = Submit(2, {"stop.iteration=100"});
  ASSERT_TRUE(AwaitProgress(running).has_value());
  ASSERT_EQ(Get(queued).state(), "queued");
  const std::string running_dir = service_->runs_dir() + "/" + running;
  ASSERT_TRUE(Eventually(absl::Seconds(10), [&] {
    return ReadCsv(running_dir + "/history.csv").size() >= 3;  // header + 2 records
  }));
  service_->Kill();
  ASSERT_NO_FATAL_FAILURE(service_->Start());
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  EXPECT_THAT(service_->log(), HasSubstr("aia serve: 3 runs found under "));

  const v1::ListRunsResponse runs = Runs();
  std::vector<std::string> states;
  for (const v1::RunSummary& run : runs.runs()) states.push_back(run.run_id() + " " + run.state());
  EXPECT_THAT(states,
              ElementsAre(done + " completed", running + " interrupted", queued + " interrupted"));
  const v1::RunSummary interrupted = Get(running);
  EXPECT_EQ(interrupted.state(), "interrupted");
  EXPECT_EQ(interrupted.error(), "the coordinator service stopped while the run was running");
  EXPECT_EQ(interrupted.exit_status(), 1);
  EXPECT_GT(interrupted.iterations(), 0);  // from its history
  const std::string json = ReadFileOrDie(running_dir + "/summary.json");
  EXPECT_EQ(JsonString(json, "status"), "interrupted") << json;
  const v1::RunSummary was_queued = Get(queued);
  EXPECT_EQ(was_queued.error(), "the coordinator service stopped while the run was queued");
  EXPECT_EQ(
      JsonString(ReadFileOrDie(service_->runs_dir() + "/" + queued + "/summary.json"), "status"),
      "interrupted");
  EXPECT_EQ(Get(done).iterations(), 100);
  // Its records are served from disk; watch ends with the run's status.
  ProcessResult watched = Aia({"watch", running, "--json"});
  EXPECT_EQ(watched.exit_code, 1) << watched.err;
  int64_t records = 0;
  for (const v1::RunUpdate& update : ParseUpdates(watched.out)) records += update.has_record();
  EXPECT_EQ(records, static_cast<int64_t>(ReadCsv(running_dir + "/history.csv").size()) - 1);
  ProcessResult cancel = Aia({"cancel", running});
  EXPECT_EQ(cancel.exit_code, 1);
  EXPECT_EQ(cancel.err, "aia: run " + running + " has already ended (interrupted)\n");
  // A new run gets a new id, and the workers (whose sessions were cut) serve it.
  const std::string next = Submit(2, {"stop.iteration=100"});
  EXPECT_EQ(next, "run-4");
  EXPECT_EQ(AwaitState(next, "completed").iterations(), 100);
}

// 7. Bad input: each error exactly, with its exit status.
// `aia serve` with bad flags: exit 2 and the flag named, before it listens.
TEST(ServeFlags, BadFlagsAreRefusedWithTheirError) {
  const std::string runs = NewTempDir("bad_flags") + "/runs";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--runs_dir=" + runs}, "aia serve: --listen=HOST:PORT is required"},
      {{"--listen=127.0.0.1:0"}, "aia serve: --runs_dir=DIR is required"},
      {{"--listen=nonsense", "--runs_dir=" + runs}, "aia serve: --listen: expected HOST:PORT"},
      {{"--listen=10.77.9.9:7000", "--runs_dir=" + runs},
       "without TLS: give --tls_cert and --tls_key"},
      {{"--listen=127.0.0.1:0", "--runs_dir=/proc/none/runs"},
       "aia serve: cannot create --runs_dir /proc/none/runs"},
      {{"--listen=127.0.0.1:0", "--runs_dir=" + runs, "--workers=bad"},
       "--workers: expected HOST:PORT,..., got 'bad'"},
      {{"--listen=127.0.0.1:0", "--runs_dir=" + runs, "--metrics_listen=zz"},
       "aia serve: --metrics_listen: the metrics address must be HOST:PORT, got 'zz'"},
      {{"--listen=127.0.0.1:0", "--runs_dir=" + runs, "--token_file=/nonexistent/token"},
       "--token_file=/nonexistent/token"},
      {{"--listen=127.0.0.1:0", "--runs_dir=" + runs, "extra"}, "serve takes no operand"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> argv = {Runfile("coordinator/aia"), "serve"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    ProcessResult result = RunProcess(argv, absl::Seconds(10));
    EXPECT_EQ(result.exit_code, 2) << flags.back() << ": " << result.err;
    EXPECT_THAT(result.err, HasSubstr(message)) << flags.back();
  }
}

TEST_F(ServiceTest, BadInputIsRefusedWithItsError) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(1));
  ProcessResult zero = Aia({"submit", config_, "--workers=1", "--set=stop.iteration=0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_EQ(zero.err, "aia: echo.textproto: stop.iteration must be > 0, got 0\n");
  const std::string bad = NewTempDir("bad") + "/bad.textproto";
  WriteFileOrDie(bad, "name: \"x\"\nalgorithm { name: \"echo\" }\nstop { time_s: oops }\n");
  ProcessResult syntax = Aia({"submit", bad, "--workers=1"});
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_THAT(syntax.err, StartsWith("aia: bad.textproto:3:"));
  ProcessResult unknown_field = Aia({"submit", config_, "--workers=1", "--set=stop.nope=1"});
  EXPECT_EQ(unknown_field.exit_code, 2);
  EXPECT_THAT(unknown_field.err, HasSubstr("nope"));
  ProcessResult too_many = Aia({"submit", config_, "--workers=5000"});
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_EQ(too_many.err, "aia: workers must be in 1..4096, got 5000\n");
  EXPECT_EQ(Runs().runs_size(), 0);  // none of them queued

  for (const char* command : {"get", "watch", "cancel"}) {
    ProcessResult missing = Aia({command, "run-99"});
    EXPECT_EQ(missing.exit_code, 1) << command;
    EXPECT_EQ(missing.err, "aia: no run 'run-99' (aia ls lists the runs)\n") << command;
  }
  const std::string id = Submit(1, {"stop.iteration=50"});
  AwaitState(id, "completed");
  ProcessResult ended = Aia({"cancel", id});
  EXPECT_EQ(ended.exit_code, 1);
  EXPECT_EQ(ended.err, "aia: run " + id + " has already ended (completed)\n");

  ProcessResult no_workers = Aia({"submit", config_});
  EXPECT_EQ(no_workers.exit_code, 2);
  EXPECT_THAT(no_workers.err, StartsWith("aia: submit needs --workers=N"));
  ProcessResult no_server = RunProcess({Runfile("coordinator/aia"), "ls"}, absl::Seconds(30));
  EXPECT_EQ(no_server.exit_code, 2);
  EXPECT_THAT(no_server.err, StartsWith("aia: give --server=HOST:PORT or set AIA_SERVER\n"));
  const std::string nobody = absl::StrCat("127.0.0.1:", UnusedPort());
  ProcessResult unreachable =
      RunProcess({Runfile("coordinator/aia"), "ls", "--server=" + nobody}, absl::Seconds(30));
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.err,
              StartsWith("aia: cannot reach the coordinator service at " + nobody + ": "));
}

// 7. A service with --token_file refuses calls without the token or with another.
TEST_F(ServiceTest, TokenIsRequired) {
  const std::string dir = NewTempDir("token");
  const std::string token = dir + "/token", wrong = dir + "/wrong";
  WriteFileOrDie(token, std::string(64, 'a') + "\n");
  WriteFileOrDie(wrong, std::string(64, 'b') + "\n");
  ASSERT_EQ(chmod(token.c_str(), 0600), 0);
  ASSERT_EQ(chmod(wrong.c_str(), 0600), 0);
  ASSERT_NO_FATAL_FAILURE(StartService({"--token_file=" + token}));
  EXPECT_THAT(service_->log(), HasSubstr("(bearer token (loopback only))"));
  ProcessResult without = Aia({"ls"});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_THAT(without.err, StartsWith("aia: the coordinator service at " + service_->address() +
                                      " refused the call: missing bearer token"));
  ProcessResult other = Aia({"submit", config_, "--workers=1", "--token_file=" + wrong});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, StartsWith("aia: the coordinator service at " + service_->address() +
                                    " refused the call: wrong bearer token"));
  EXPECT_THAT(other.out + other.err, Not(HasSubstr(std::string(64, 'a'))));
  ProcessResult with = Aia({"ls", "--token_file=" + token});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_THAT(service_->log(), HasSubstr("refused a call: missing bearer token"));
  EXPECT_THAT(service_->log(), HasSubstr("refused a call: wrong bearer token"));
  // A joined worker with the token serves a run; nothing was queued by the refused submit.
  joined_.push_back(std::make_unique<JoinedWorker>(
      service_->address(), "t1", data_, std::vector<std::string>{"--token_file=" + token}));
  ProcessResult run = Aia({"submit", config_, "--workers=1", "--set=stop.iteration=50", "--watch",
                           "--token_file=" + token});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << service_->log();
  EXPECT_THAT(run.out, StartsWith("run-1\ncompleted: "));
}

// 8. Workers that joined (no --listen) complete a run.
TEST_F(ServiceTest, JoinedWorkersCompleteARun) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  for (const char* name : {"j1", "j2"}) {
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), name, data_));
  }
  AwaitIdle(2);
  std::vector<std::string> names;
  for (const v1::PoolWorker& worker : PoolWorkers()) {
    names.push_back(worker.name());
    EXPECT_TRUE(worker.joined());
    EXPECT_THAT(worker.peer(), HasSubstr("127.0.0.1:"));
    EXPECT_FALSE(worker.version().empty());
  }
  EXPECT_THAT(names, UnorderedElementsAre("joined:j1", "joined:j2"));
  ProcessResult run =
      Aia({"submit", config_, "--workers=2", "--set=stop.iteration=300", "--watch"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << service_->log();
  EXPECT_THAT(run.out, HasSubstr("completed: iteration after 300 iterations"));
  const v1::RunSummary summary = Get("run-1");
  std::vector<std::string> slots;
  for (const SlotRow& slot : ReadSlots(summary.run_dir())) {
    slots.push_back(slot.address);
    EXPECT_GT(slot.answers, 0);
  }
  EXPECT_THAT(slots, UnorderedElementsAre("joined:j1", "joined:j2"));
  // They join again for the next run.
  AwaitIdle(2);
}

// The epoch at which `name` filled slot `slot`, from its event line, or -1.
int64_t FillEpoch(const std::string& log, int slot, const std::string& name) {
  const std::string text =
      After(log, absl::StrCat("worker ", slot, " (", name, ") filled its slot at iteration "));
  const std::string marker = ", epoch ";
  const size_t at = text.find(marker);
  int64_t epoch = -1;
  if (at == std::string::npos) return -1;
  const std::string rest = text.substr(at + marker.size());
  if (!absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &epoch)) return -1;
  return epoch;
}

// 8. An elastic run: 4 slots, min_workers 2, two joined workers; two more join
// mid-run and fill slots 2 and 3 (docs/semantics.md, "The epoch rule for slots").
TEST_F(ServiceTest, ElasticRunFillsItsSlotsAsWorkersJoin) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  for (const char* name : {"j1", "j2"}) {
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), name, data_));
  }
  AwaitIdle(2);
  BackgroundProcess watch({Runfile("coordinator/aia"), "submit", config_, "--workers=4",
                           "--set=min_workers=2", "--set=stop.time_s=6", "--watch", "--json",
                           "--server=" + service_->address()});
  ASSERT_TRUE(watch.WaitForOutput("\"run_id\"", absl::Seconds(15))) << watch.output();
  const std::optional<v1::Progress> two = AwaitProgress(
      "run-1", [](const v1::Progress& p) { return p.iteration() > 0 && p.live_size() == 4; });
  ASSERT_TRUE(two.has_value());
  EXPECT_THAT(two->live(), ElementsAre(true, true, false, false));
  const v1::RunSummary running = Get("run-1");
  EXPECT_EQ(running.state(), "running");
  EXPECT_EQ(running.workers(), 4);
  EXPECT_EQ(running.min_workers(), 2);
  for (const char* name : {"j3", "j4"}) {
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), name, data_));
  }
  const std::optional<v1::Progress> four = AwaitProgress(
      "run-1", [](const v1::Progress& p) { return p.live_size() == 4 && p.live(2) && p.live(3); });
  ASSERT_TRUE(four.has_value());
  ProcessResult watched = watch.Wait(absl::Seconds(30));
  EXPECT_EQ(watched.exit_code, 0) << watched.err << service_->log();
  const v1::RunSummary summary = Get("run-1");
  EXPECT_EQ(summary.state(), "completed");
  EXPECT_EQ(summary.stop_reason(), "time_s");

  const std::vector<SlotRow> slots = ReadSlots(summary.run_dir());
  ASSERT_EQ(slots.size(), 4u);
  std::vector<std::string> early = {slots[0].address, slots[1].address};
  std::vector<std::string> late = {slots[2].address, slots[3].address};
  EXPECT_THAT(early, UnorderedElementsAre("joined:j1", "joined:j2"));
  EXPECT_THAT(late, UnorderedElementsAre("joined:j3", "joined:j4"));
  for (const SlotRow& slot : slots) EXPECT_GT(slot.answers, 0) << slot.address;
  // The fills, on the watch stream (events) and in the service's log.
  std::vector<std::string> events;
  for (const v1::RunUpdate& update : ParseUpdates(watched.out)) {
    if (update.has_event()) events.push_back(update.event());
  }
  const std::string joined_events = absl::StrJoin(events, "\n");
  for (int w : {2, 3}) {
    const std::string line =
        absl::StrCat("worker ", w, " (", slots[w].address, ") filled its slot at iteration ");
    EXPECT_THAT(joined_events, HasSubstr(line));
    EXPECT_THAT(service_->log(), HasSubstr("run-1: " + line));
  }
  // The epoch rule: a slot filled at epoch e counts from e, so the final epoch is
  // at most e plus the answers of that slot; the epoch never goes back.
  for (int w : {2, 3}) {
    const int64_t filled = FillEpoch(service_->log(), w, slots[w].address);
    ASSERT_GE(filled, 0) << service_->log();
    EXPECT_LE(summary.epochs(), filled + slots[w].answers) << "slot " << w;
  }
  ASSERT_EQ(summary.answer_count_size(), 4);
  for (int w = 0; w < 4; ++w) EXPECT_EQ(summary.answer_count(w), slots[w].answers);
  const std::vector<int64_t> epochs = HistoryEpochs(summary.run_dir());
  ASSERT_GT(epochs.size(), 3u);
  for (size_t i = 1; i < epochs.size(); ++i) EXPECT_GE(epochs[i], epochs[i - 1]) << "record " << i;
  EXPECT_LE(epochs.back(), summary.epochs());
}

// Elastic runs in the other modes: a synchronous run's late slot joins from the
// next round; a task-pool run's (the cutting-plane method) takes the next tasks.
TEST_F(ServiceTest, LateSlotsJoinSynchronousRoundsAndTaskPools) {
  ASSERT_NO_FATAL_FAILURE(StartService({"--data_root=/"}));
  joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), "first", "/"));
  AwaitIdle(1);
  struct Case {
    std::string config;
    std::vector<std::string> sets;
  };
  const std::vector<Case> cases = {
      {Runfile("examples/sgd_synchronous.textproto"),
       {"stop.iteration=1000000", "stop.time_s=4", "stragglers.shape=3",
        "stragglers.scale_s=0.004"}},
      {Runfile("examples/cutting_plane_l1.textproto"),
       {"stop.time_s=5", "stragglers.shape=3", "stragglers.scale_s=0.03"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<std::string> args = {"submit", cases[i].config, "--workers=2",
                                     "--set=min_workers=1"};
    for (const std::string& set : cases[i].sets) args.push_back("--set=" + set);
    ProcessResult submitted = Aia(args);
    ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
    const std::string id = absl::StrCat("run-", i + 1);
    const std::optional<v1::Progress> alone = AwaitProgress(id, [](const v1::Progress& p) {
      return p.iteration() > 0 && p.live_size() == 2 && p.live(0) && !p.live(1);
    });
    ASSERT_TRUE(alone.has_value()) << cases[i].config;
    const std::string late = absl::StrCat("late", i);
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), late, "/"));
    ASSERT_TRUE(AwaitProgress(id, [](const v1::Progress& p) {
                  return p.live_size() == 2 && p.live(1) && p.answer_count(1) > 0;
                }).has_value())
        << cases[i].config;
    const v1::RunSummary summary = AwaitState(id, "completed");
    const std::vector<SlotRow> slots = ReadSlots(summary.run_dir());
    ASSERT_EQ(slots.size(), 2u);
    EXPECT_EQ(slots[0].address, "joined:first");
    EXPECT_EQ(slots[1].address, "joined:" + late);
    EXPECT_GT(slots[1].answers, 0) << cases[i].config;
    if (i == 0) {
      // Rounds: the late slot answers every round from the one after its fill,
      // and missed the ones before.
      EXPECT_GT(slots[0].answers, slots[1].answers);
      EXPECT_EQ(summary.iterations(), slots[0].answers);
    }
    EXPECT_THAT(service_->log(),
                HasSubstr(absl::StrCat(id, ": worker 1 (joined:", late, ") filled its slot")));
    // The late worker leaves the pool, so that the next run starts with one.
    joined_.back()->Terminate();
    AwaitIdle(1);
  }
}

// 8. A joined worker drained (SIGTERM) mid-run leaves its slot without a loss: a
// free pool worker fills it; drained too, the slot stays `left` and the run
// completes under resilience 0.
TEST_F(ServiceTest, DrainedWorkerLeavesItsSlot) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  std::map<std::string, JoinedWorker*> by_name;
  for (const char* name : {"j1", "j2", "j3"}) {
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), name, data_));
    by_name[joined_.back()->pool_name()] = joined_.back().get();
  }
  AwaitIdle(3);
  const std::string id = Submit(2, {"stop.time_s=6", "resilience=0"});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  const std::string first = WorkerInSlot(id, 0);
  ASSERT_EQ(by_name.count(first), 1u) << first;
  std::string spare;
  for (const v1::PoolWorker& worker : PoolWorkers()) {
    if (worker.state() == "idle") spare = worker.name();
  }
  ASSERT_EQ(by_name.count(spare), 1u) << Workers().DebugString();
  EXPECT_EQ(by_name[first]->Terminate(), 0) << by_name[first]->output();
  EXPECT_TRUE(service_->AwaitLog(absl::StrCat(id, ": worker 0 (", first, ") left the run")))
      << service_->log();
  EXPECT_TRUE(
      service_->AwaitLog(absl::StrCat(id, ": worker 0 (", spare, ") filled its slot at iteration")))
      << service_->log();
  ASSERT_TRUE(AwaitProgress(id, [](const v1::Progress& p) {
                return p.live_size() == 2 && p.live(0) && p.live(1);
              }).has_value());
  // The spare drained too: nobody is left to fill slot 0; the run goes on with slot 1.
  EXPECT_EQ(by_name[spare]->Terminate(), 0) << by_name[spare]->output();
  EXPECT_TRUE(service_->AwaitLog(absl::StrCat(id, ": worker 0 (", spare, ") left the run")))
      << service_->log();
  const v1::RunSummary summary = AwaitState(id, "completed");
  EXPECT_EQ(summary.stop_reason(), "time_s");
  EXPECT_EQ(summary.error(), "");
  const std::vector<SlotRow> slots = ReadSlots(summary.run_dir());
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].address, spare);
  EXPECT_EQ(slots[0].state, "left");
  EXPECT_EQ(slots[1].state, "stopped");
  EXPECT_GT(slots[0].answers, 0);
  EXPECT_GT(slots[1].answers, slots[0].answers);
  EXPECT_THAT(service_->log(), Not(HasSubstr(") lost: ")));
}

// 8. A lost worker's slot (SIGKILL, resilience 1) is filled by a new worker at
// another address, and the run completes.
TEST_F(ServiceTest, LostWorkersSlotIsFilledByAnotherWorker) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  AwaitIdle(2);
  const std::string id = Submit(2, {"stop.time_s=6", "resilience=1"});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  const std::string victim = WorkerInSlot(id, 1);
  WorkerProcess* process = nullptr;
  for (const auto& worker : workers_) {
    if (worker->address() == victim) process = worker.get();
  }
  ASSERT_NE(process, nullptr) << victim << "\n" << Workers().DebugString();
  process->Kill();
  EXPECT_TRUE(service_->AwaitLog(absl::StrCat(id, ": worker 1 (", victim, ") lost: ")))
      << service_->log();
  joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), "fresh", data_));
  EXPECT_TRUE(service_->AwaitLog(
      absl::StrCat(id, ": worker 1 (joined:fresh) filled its slot at iteration")))
      << service_->log();
  const v1::RunSummary summary = AwaitState(id, "completed");
  EXPECT_EQ(summary.stop_reason(), "time_s");
  const std::vector<SlotRow> slots = ReadSlots(summary.run_dir());
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_NE(slots[0].address, victim);
  EXPECT_EQ(slots[1].address, "joined:fresh");
  EXPECT_EQ(slots[1].state, "stopped");
  EXPECT_GT(slots[1].answers, 0);
  const std::vector<int64_t> epochs = HistoryEpochs(summary.run_dir());
  for (size_t i = 1; i < epochs.size(); ++i) EXPECT_GE(epochs[i], epochs[i - 1]) << "record " << i;
}

// A lost worker under resilience 0 fails the run: state failed, the worker named.
TEST_F(ServiceTest, LostWorkerFailsARunWithoutResilience) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  AwaitIdle(2);
  const std::string id = Submit(2, {"stop.time_s=20", "resilience=0"});
  BackgroundProcess watch(
      {Runfile("coordinator/aia"), "watch", id, "--server=" + service_->address()});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  const std::string victim = WorkerInSlot(id, 0);
  WorkerProcess* process = nullptr;
  for (const auto& worker : workers_) {
    if (worker->address() == victim) process = worker.get();
  }
  ASSERT_NE(process, nullptr) << victim;
  process->Kill();
  ProcessResult watched = watch.Wait(absl::Seconds(15));
  EXPECT_EQ(watched.exit_code, 1) << watched.out << watched.err;
  EXPECT_THAT(watched.err, HasSubstr("aia: run " + id + " failed: worker 0 (" + victim + ")"));
  const v1::RunSummary summary = AwaitState(id, "failed", absl::Seconds(5));
  EXPECT_THAT(summary.error(), HasSubstr("worker 0 (" + victim + ")"));
  EXPECT_EQ(summary.exit_status(), 1);
  EXPECT_EQ(JsonString(ReadFileOrDie(summary.run_dir() + "/summary.json"), "status"), "failed");
  // The other worker is free again; the lost one is down, with its cause.
  std::vector<std::string> pool;
  Eventually(absl::Seconds(10), [&] {
    pool.clear();
    for (const v1::PoolWorker& worker : PoolWorkers()) {
      pool.push_back(worker.name() + " " + worker.state());
    }
    return std::find(pool.begin(), pool.end(), victim + " down") != pool.end() &&
           pool.size() == 2 &&
           (pool[0].find(" idle") != std::string::npos ||
            pool[1].find(" idle") != std::string::npos);
  });
  EXPECT_THAT(pool, ::testing::Contains(victim + " down"));
  EXPECT_THAT(pool, ::testing::Contains(::testing::EndsWith(" idle")));
}

// While a run goes on, aia get (and aia ls) show how far it is: iterations,
// epochs, elapsed_s and the answers by slot, not the zeros of a run not yet started.
TEST_F(ServiceTest, GetShowsTheProgressOfARunningRun) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  const std::string id = Submit(2, {"stop.time_s=20"});
  ASSERT_TRUE(
      AwaitProgress(id, [](const v1::Progress& p) { return p.iteration() > 20; }).has_value());
  v1::RunSummary summary;
  const bool shown = Eventually(absl::Seconds(3), [&] {
    summary = Get(id);
    return summary.iterations() > 0;
  });
  EXPECT_EQ(summary.state(), "running");
  EXPECT_TRUE(shown) << "aia get of a running run: " << summary.ShortDebugString();
  EXPECT_GT(summary.elapsed_s(), 0);
  EXPECT_EQ(summary.answer_count_size(), 2);
  EXPECT_EQ(Aia({"cancel", id}).exit_code, 0);
  AwaitState(id, "cancelled");
}

// A joined worker that dies while it waits in the pool leaves the pool; the next
// run takes the one still there.
TEST_F(ServiceTest, IdleJoinedWorkerThatDiesLeavesThePool) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  for (const char* name : {"j1", "j2"}) {
    joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), name, data_));
  }
  AwaitIdle(2);
  joined_[0]->Kill();
  EXPECT_TRUE(service_->AwaitLog("worker joined:j1 left the pool", absl::Seconds(10)))
      << service_->log();
  std::vector<std::string> names;
  for (const v1::PoolWorker& worker : PoolWorkers()) names.push_back(worker.name());
  EXPECT_THAT(names, ElementsAre("joined:j2"));
  ProcessResult run = Aia({"submit", config_, "--workers=1", "--set=stop.iteration=50", "--watch"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err << service_->log();
  EXPECT_EQ(ReadSlots(Get("run-1").run_dir())[0].address, "joined:j2");
}

// SIGTERM to aia serve: exit 0; the running run ends cancelled (not interrupted
// after a restart), a queued one is interrupted.
TEST_F(ServiceTest, SigtermStopsTheServiceCleanly) {
  ASSERT_NO_FATAL_FAILURE(StartDialled(2));
  const std::string running = Submit(2, {"stop.time_s=30"});
  const std::string queued = Submit(2, {"stop.iteration=100"});
  ASSERT_TRUE(AwaitProgress(running).has_value());
  const absl::Time stopped_at = absl::Now();
  EXPECT_EQ(service_->Stop(), 0);
  EXPECT_LT(absl::Now() - stopped_at, absl::Seconds(10));
  ASSERT_NO_FATAL_FAILURE(service_->Start());
  const v1::RunSummary cancelled = Get(running);
  EXPECT_EQ(cancelled.state(), "cancelled");
  EXPECT_EQ(cancelled.error(), "the run was cancelled");
  EXPECT_GT(cancelled.iterations(), 0);
  EXPECT_EQ(JsonString(ReadFileOrDie(cancelled.run_dir() + "/summary.json"), "status"),
            "cancelled");
  const v1::RunSummary interrupted = Get(queued);
  EXPECT_EQ(interrupted.state(), "interrupted");
  EXPECT_EQ(interrupted.error(), "the coordinator service stopped while the run was queued");
  // The workers serve the next run.
  const std::string next = Submit(2, {"stop.iteration=100"});
  EXPECT_EQ(next, "run-3");
  EXPECT_EQ(AwaitState(next, "completed").iterations(), 100);
}

// An elastic run whose only worker drains waits with every slot vacant (it does
// not fail), takes the next worker that joins, and ends at once on aia cancel.
TEST_F(ServiceTest, RunWithEveryWorkerGoneWaitsForTheNext) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), "j1", data_));
  AwaitIdle(1);
  const std::string id = Submit(2, {"min_workers=1", "stop.time_s=30"});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  EXPECT_EQ(joined_[0]->Terminate(), 0) << joined_[0]->output();
  ASSERT_TRUE(service_->AwaitLog(id + ": worker 0 (joined:j1) left the run")) << service_->log();
  // (No progress comes while no slot answers: the run's state tells it waits.)
  EXPECT_TRUE(Eventually(absl::Seconds(10), [&] { return PoolWorkers().empty(); }));
  EXPECT_EQ(Get(id).state(), "running");
  joined_.push_back(std::make_unique<JoinedWorker>(service_->address(), "j2", data_));
  EXPECT_TRUE(service_->AwaitLog(") filled its slot at iteration")) << service_->log();
  const std::optional<v1::Progress> filled = AwaitProgress(
      id, [](const v1::Progress& p) { return p.live_size() == 2 && (p.live(0) || p.live(1)); });
  ASSERT_TRUE(filled.has_value());
  const int64_t iteration = filled->iteration();
  ASSERT_TRUE(AwaitProgress(id, [iteration](const v1::Progress& p) {
                return p.iteration() > iteration + 10;
              }).has_value());
  const absl::Time cancelled_at = absl::Now();
  EXPECT_EQ(Aia({"cancel", id}).exit_code, 0);
  const v1::RunSummary summary = AwaitState(id, "cancelled", absl::Seconds(10));
  EXPECT_LT(absl::Now() - cancelled_at, absl::Seconds(5));
  std::vector<std::string> addresses;
  for (const SlotRow& slot : ReadSlots(summary.run_dir())) addresses.push_back(slot.address);
  EXPECT_THAT(addresses, ::testing::Contains("joined:j2"));
}

// 9. The service's and a worker's metrics endpoints: promtool accepts both; the
// service counts the completed run and its queue wait; a real Prometheus server
// scrapes both during a run.
TEST_F(ServiceTest, MetricsOfTheServiceAndAWorker) {
  BackgroundProcess worker({Runfile("worker/aia_worker"), "--listen=127.0.0.1:0",
                            "--metrics_listen=127.0.0.1:0", "--data_root=" + data_});
  ASSERT_TRUE(worker.WaitForOutput("/metrics", absl::Seconds(10)) &&
              worker.WaitForOutput("listening on", absl::Seconds(10)))
      << worker.output();
  const std::string address = After(worker.output(), "aia_worker listening on ");
  const int worker_port = AnnouncedMetricsPort(worker.output());
  ASSERT_GT(worker_port, 0) << worker.output();
  ASSERT_NO_FATAL_FAILURE(StartService({"--workers=" + address, "--metrics_listen=127.0.0.1:0"}));
  const int service_port = service_->metrics_port();
  ASSERT_GT(service_port, 0) << service_->log();

  ProcessResult run =
      Aia({"submit", config_, "--workers=1", "--set=stop.iteration=100", "--watch"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string text = AwaitSample(
      service_port, "aia_service_runs{state=\"completed\"}", [](double runs) { return runs >= 1; },
      absl::Seconds(10));
  EXPECT_GE(Sample(text, "aia_service_runs{state=\"completed\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_service_runs{state=\"completed\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_service_runs{state=\"running\"}"), 0) << text;
  EXPECT_GE(Sample(text, "aia_service_queue_wait_seconds_count"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_service_pool_workers{state=\"idle\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_runs_total{status=\"completed\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_answers_total{worker=\"0\"}"), 100) << text;
  const std::string worker_text = Scrape(worker_port);
  EXPECT_GE(Sample(worker_text, "aia_worker_answers_total"), 100) << worker_text;
  if (access(kPromtool, X_OK) == 0) {
    for (const std::string& exposition : {text, worker_text}) {
      ProcessResult check = PromtoolCheck(exposition);
      EXPECT_EQ(check.exit_code, 0) << check.out << check.err << exposition;
      EXPECT_EQ(check.out + check.err, "") << exposition;
    }
  }

  if (access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian's prometheus)";
  }
  const std::string id = Submit(1, {"stop.time_s=40"});
  ASSERT_TRUE(AwaitProgress(id).has_value());
  PrometheusServer prometheus({{"aia_serve", service_port}, {"aia_worker", worker_port}});
  const std::string answers = prometheus.AwaitQuery("aia_answers_total", "\"job\":\"aia_serve\"");
  EXPECT_THAT(answers, HasSubstr("\"status\":\"success\"")) << prometheus.output();
  EXPECT_THAT(answers, HasSubstr("\"worker\":\"0\"")) << answers;
  const std::string running = prometheus.AwaitQuery("aia_service_runs", "\"state\":\"running\"");
  EXPECT_THAT(running, HasSubstr("\"job\":\"aia_serve\"")) << running;
  const std::string worker_answers =
      prometheus.AwaitQuery("aia_worker_answers_total", "\"job\":\"aia_worker\"");
  EXPECT_THAT(worker_answers, HasSubstr("\"status\":\"success\"")) << worker_answers;
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.output();
  EXPECT_EQ(Aia({"cancel", id}).exit_code, 0);
  AwaitState(id, "cancelled");
}

// 10. grpc.health.v1 on the service: "" and "aia.v1.Coordinator" are SERVING.
TEST_F(ServiceTest, HealthServiceReportsServing) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(service_->address(), grpc::InsecureChannelCredentials());
  for (const std::string service : {"", "aia.v1.Coordinator"}) {
    grpc::Status status;
    const std::string response = HealthCheck(channel, status, service);
    ASSERT_TRUE(status.ok()) << "'" << service << "': " << status.error_code() << ": "
                             << status.error_message();
    EXPECT_EQ(response, std::string("\x08\x01", 2)) << "'" << service << "'";  // SERVING
  }
  grpc::Status status;
  HealthCheck(channel, status, "aia.v1.Nope");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

// A Join stream that breaks its rules (proto/coordinator.proto) is ended with the
// status that says how; the service goes on, and its pool never lists it.
TEST_F(ServiceTest, JoinStreamsThatBreakTheRulesAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartService());
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(service_->address(), grpc::InsecureChannelCredentials());
  std::unique_ptr<v1::Coordinator::Stub> stub = v1::Coordinator::NewStub(channel);
  // Writes `messages`, then half-closes; the status the service ended the call with.
  auto join = [&](const std::vector<v1::FromWorker>& messages) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::unique_ptr<grpc::ClientReaderWriter<v1::FromWorker, v1::ToWorker>> stream =
        stub->Join(&context);
    for (const v1::FromWorker& message : messages) stream->Write(message);
    stream->WritesDone();
    v1::ToWorker ignored;
    while (stream->Read(&ignored)) {
    }
    return stream->Finish();
  };
  v1::FromWorker heartbeat;
  heartbeat.mutable_heartbeat();
  grpc::Status status = join({heartbeat});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "the first message of a Join stream must be an Offer");

  v1::FromWorker offer;
  offer.mutable_offer()->set_version("9.9.0");
  offer.mutable_offer()->set_name("old");
  status = join({offer});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(),
              HasSubstr("the worker runs aia 9.9.0; this coordinator runs "));
  EXPECT_THAT(status.error_message(), HasSubstr("(major.minor must match)"));

  // The service's own version, from a worker that works.
  std::string version;
  {
    JoinedWorker probe(service_->address(), "probe", data_);
    Eventually(absl::Seconds(10), [&] {
      const v1::ListWorkersResponse pool = Workers();
      for (const v1::PoolWorker& worker : pool.workers()) {
        if (worker.name() == "joined:probe") version = worker.version();
      }
      return !version.empty();
    });
  }
  ASSERT_FALSE(version.empty());
  offer.mutable_offer()->set_version(version);
  offer.mutable_offer()->set_name(std::string(300, 'n'));
  status = join({offer});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "Offer.name and Offer.host must be at most 256 bytes");

  offer.mutable_offer()->set_name("chatty");
  v1::FromWorker answer;
  answer.mutable_answer()->set_query_id(1);
  status = join({offer, heartbeat, answer});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), "a worker waiting in the pool may send only Heartbeats");

  // None of them is in the pool, and the service still serves.
  Eventually(absl::Seconds(10), [&] { return Workers().workers_size() == 0; });
  EXPECT_EQ(Workers().workers_size(), 0);
}

}  // namespace
}  // namespace aia
