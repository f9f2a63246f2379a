// End to end: a real aia_worker with --metrics_listen serves a real `aia run`; its
// metrics endpoint counts what the run's workers.csv says, `promtool check metrics`
// accepts what it serves, and a real Prometheus server (Debian's prometheus)
// scrapes it and answers the query for the answers counter. Loopback only.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/http_get.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::BackgroundProcess;
using ::aia::testing::HttpGet;
using ::aia::testing::HttpResponse;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadCsv;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::ToInt;
using ::aia::testing::UnusedPort;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kPrometheus[] = "/usr/bin/prometheus";

// One worker, asynchronous: every answer the worker sends is one the coordinator
// counts (with more workers, an answer in flight at the stop is sent, not counted).
constexpr char kConfig[] = R"pb(
  name: "metrics"
  algorithm {
    name: "sgd"
    sgd { stepsize: 0.005 }
  }
  problem {
    name: "least_squares"
    synthetic { rows: 400 columns: 8 seed: 7 noise: 0.01 }
  }
  stop { iteration: 250 time_s: 60 }
  save { iteration: 50 }
  seed: 3
)pb";

// The text after `prefix` in `text` up to the end of its line, or "".
std::string After(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size();
  return text.substr(start, text.find_first_of("\r\n", start) - start);
}

// The value of the sample line "NAME VALUE" in an exposition, or -1.
double Sample(const std::string& exposition, const std::string& name) {
  double value = -1;
  const std::string text = After("\n" + exposition, "\n" + name + " ");
  if (text.empty() || !absl::SimpleAtod(text, &value)) return -1;
  return value;
}

// Scrapes http://127.0.0.1:PORT/metrics; "" (and a test failure) if that fails.
std::string Scrape(int port) {
  absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", port, "/metrics");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return "";
  EXPECT_EQ(response->status, 200) << response->body;
  return response->body;
}

// Scrapes until `name` has `value`, at most `timeout`; the last scrape.
std::string AwaitSample(int port, const std::string& name, double value, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string text = Scrape(port);
  while (Sample(text, name) != value && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    text = Scrape(port);
  }
  return text;
}

class MetricsEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    worker_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{
        Runfile("worker/aia_worker"), "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
        "--data_root=" + NewTempDir("data")});
    ASSERT_TRUE(worker_->WaitForOutput("listening on", absl::Seconds(10))) << worker_->output();
    const std::string output = worker_->output();
    address_ = After(output, "aia_worker listening on ");
    ASSERT_TRUE(
        absl::SimpleAtoi(After(output, "metrics on http://127.0.0.1:")
                             .substr(0, After(output, "metrics on http://127.0.0.1:").find('/')),
                         &metrics_port_))
        << output;
    ASSERT_FALSE(address_.empty()) << output;

    const std::string dir = NewTempDir("run");
    WriteFileOrDie(dir + "/config.textproto", kConfig);
    ProcessResult run = RunProcess({Runfile("coordinator/aia"), "run", dir + "/config.textproto",
                                    "--workers=" + address_, "--out=" + dir + "/out", "--quiet"},
                                   absl::Seconds(60));
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    std::vector<std::vector<std::string>> workers = ReadCsv(dir + "/out/workers.csv");
    ASSERT_EQ(workers.size(), 2u);
    ASSERT_EQ(workers[0][2], "answers");
    answers_ = ToInt(workers[1][2]);
    ASSERT_GT(answers_, 0);
  }

  std::unique_ptr<BackgroundProcess> worker_;
  std::string address_;
  int metrics_port_ = 0;
  int64_t answers_ = 0;
};

TEST_F(MetricsEndToEnd, TheEndpointCountsTheRun) {
  // The answers are counted as they are sent, before the coordinator has them; the
  // session's end once its stream is gone.
  const std::string text = AwaitSample(
      metrics_port_, "aia_worker_sessions_ended_total{cause=\"stopped\"}", 1, absl::Seconds(10));
  EXPECT_EQ(Sample(text, "aia_worker_answers_total"), answers_) << text;
  EXPECT_EQ(Sample(text, "aia_worker_step_seconds_count"), answers_) << text;
  EXPECT_EQ(Sample(text, "aia_worker_sessions_started_total"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_worker_sessions_ended_total{cause=\"stopped\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "aia_worker_sessions_ended_total{cause=\"error\"}"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_worker_sessions_active"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_worker_problem_cache_entries"), 1) << text;
  EXPECT_GT(Sample(text, "aia_worker_problem_cache_bytes"), 0) << text;
  // Each query and each answer is at least its 8 coordinates.
  EXPECT_GT(Sample(text, "aia_worker_received_bytes_total"), 8.0 * 8 * answers_) << text;
  EXPECT_GT(Sample(text, "aia_worker_sent_bytes_total"), 8.0 * 8 * answers_) << text;

  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " is not installed (Debian's prometheus): not linted";
  }
  const std::string file = NewTempDir("scrape") + "/metrics.txt";
  WriteFileOrDie(file, text);
  ProcessResult check = RunProcess(
      {"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + file}, absl::Seconds(30));
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "");
}

TEST_F(MetricsEndToEnd, PrometheusScrapesTheAnswersCounter) {
  if (access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian's prometheus)";
  }
  const std::string dir = NewTempDir("prometheus");
  WriteFileOrDie(dir + "/prometheus.yml", absl::StrCat("global:\n"
                                                       "  scrape_interval: 1s\n"
                                                       "  evaluation_interval: 1s\n"
                                                       "scrape_configs:\n"
                                                       "  - job_name: aia_worker\n"
                                                       "    static_configs:\n"
                                                       "      - targets: ['127.0.0.1:",
                                                       metrics_port_, "']\n"));
  const int port = UnusedPort();
  BackgroundProcess prometheus({kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                                "--storage.tsdb.path=" + dir + "/data",
                                "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  // The first scrape comes within a few intervals of the start.
  const std::string expected = absl::StrCat("\"", answers_, "\"]");
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string said;
  while (absl::Now() < deadline) {
    absl::StatusOr<HttpResponse> response = HttpGet(
        "127.0.0.1", port, "/api/v1/query?query=aia_worker_answers_total", absl::Seconds(2));
    if (response.ok()) {
      said = response->body;
      if (response->status == 200 && said.find(expected) != std::string::npos) break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_THAT(said, HasSubstr("\"status\":\"success\"")) << prometheus.output();
  EXPECT_THAT(said, HasSubstr("\"job\":\"aia_worker\"")) << said;
  EXPECT_THAT(said, HasSubstr(expected)) << said << "\n" << prometheus.output();
  kill(prometheus.pid(), SIGTERM);
  ProcessResult stopped = prometheus.Wait(absl::Seconds(15));
  EXPECT_EQ(stopped.exit_code, 0) << prometheus.output();
}

// Queries Prometheus's API at `port` until the result of `query` contains
// `expected`, at most 30 s; the last answer.
std::string AwaitQuery(int port, const std::string& query, const std::string& expected) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string said;
  while (absl::Now() < deadline) {
    absl::StatusOr<HttpResponse> response =
        HttpGet("127.0.0.1", port, "/api/v1/query?query=" + query, absl::Seconds(2));
    if (response.ok()) {
      said = response->body;
      if (response->status == 200 && said.find(expected) != std::string::npos) break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return said;
}

TEST_F(MetricsEndToEnd, PrometheusScrapesTheCoordinatorAndTheWorkerDuringARun) {
  // The coordinator's endpoint lives as long as its run: a run of up to 40 s on
  // the fixture's worker, cancelled once Prometheus has seen both endpoints.
  const std::string dir = NewTempDir("coordinator");
  WriteFileOrDie(dir + "/echo.textproto", R"pb(
    algorithm { name: "echo" echo { dimension: 4 delay_s: 0.005 } }
    problem { name: "least_squares" synthetic { rows: 8 columns: 2 } }
    stop { time_s: 40 }
  )pb");
  BackgroundProcess run({Runfile("coordinator/aia"), "run", dir + "/echo.textproto",
                         "--workers=" + address_, "--metrics_listen=127.0.0.1:0",
                         "--out=" + dir + "/out", "--quiet"});
  ASSERT_TRUE(run.WaitForOutput("/metrics", absl::Seconds(10))) << run.output();
  int coordinator_port = 0;
  const std::string at = After(run.output(), "aia: metrics on http://127.0.0.1:");
  ASSERT_TRUE(absl::SimpleAtoi(at.substr(0, at.find('/')), &coordinator_port)) << run.output();
  // Its own endpoint first: the run under way, answers counted by worker.
  std::string text = Scrape(coordinator_port);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Sample(text, "aia_answers_total{worker=\"0\"}") <= 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    text = Scrape(coordinator_port);
  }
  EXPECT_GT(Sample(text, "aia_answers_total{worker=\"0\"}"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_runs_active"), 1) << text;
  EXPECT_GT(Sample(text, "aia_central_step_seconds_count"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_worker_losses_total{cause=\"silent\"}"), 0) << text;
  if (access(kPromtool, X_OK) == 0) {
    const std::string exposition = dir + "/coordinator.txt";
    WriteFileOrDie(exposition, text);
    const int status =
        std::system((std::string(kPromtool) + " check metrics < '" + exposition + "'").c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  if (access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian's prometheus)";
  }
  WriteFileOrDie(dir + "/prometheus.yml",
                 absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                              "scrape_configs:\n"
                              "  - job_name: aia\n    static_configs:\n"
                              "      - targets: ['127.0.0.1:",
                              coordinator_port, "']\n",
                              "  - job_name: aia_worker\n    static_configs:\n"
                              "      - targets: ['127.0.0.1:",
                              metrics_port_, "']\n"));
  const int port = UnusedPort();
  BackgroundProcess prometheus({kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                                "--storage.tsdb.path=" + dir + "/data",
                                "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  const std::string coordinator = AwaitQuery(port, "aia_answers_total", "\"job\":\"aia\"");
  EXPECT_THAT(coordinator, HasSubstr("\"worker\":\"0\"")) << coordinator;
  const std::string worker =
      AwaitQuery(port, "aia_worker_answers_total", "\"job\":\"aia_worker\"");
  EXPECT_THAT(worker, HasSubstr("\"status\":\"success\"")) << worker;
  kill(prometheus.pid(), SIGTERM);
  EXPECT_EQ(prometheus.Wait(absl::Seconds(15)).exit_code, 0) << prometheus.output();
  kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.Wait(absl::Seconds(20)).exit_code, 1);  // cancelled
}

}  // namespace
}  // namespace aia
