// End to end: a real aia_worker with --metrics_listen serves a real `aia run`; its
// metrics endpoint counts what the run's workers.csv says, `promtool check metrics`
// accepts what it serves, and a real Prometheus server (Debian's prometheus)
// scrapes it and answers the query for the answers counter. Loopback only.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/metrics_scrape.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::After;
using ::aia::testing::AnnouncedMetricsPort;
using ::aia::testing::AwaitSample;
using ::aia::testing::BackgroundProcess;
using ::aia::testing::kPrometheus;
using ::aia::testing::kPromtool;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::PrometheusServer;
using ::aia::testing::PromtoolCheck;
using ::aia::testing::ReadCsv;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::Sample;
using ::aia::testing::Scrape;
using ::aia::testing::ToInt;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

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

class MetricsEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    worker_ = std::make_unique<BackgroundProcess>(std::vector<std::string>{
        Runfile("worker/aia_worker"), "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
        "--data_root=" + NewTempDir("data")});
    // Two lines on two streams (stdout and stderr), in either order.
    ASSERT_TRUE(worker_->WaitForOutput("listening on", absl::Seconds(10)) &&
                worker_->WaitForOutput("/metrics", absl::Seconds(10)))
        << worker_->output();
    const std::string output = worker_->output();
    address_ = After(output, "aia_worker listening on ");
    metrics_port_ = AnnouncedMetricsPort(output);
    ASSERT_GT(metrics_port_, 0) << output;
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
  ProcessResult check = PromtoolCheck(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "");
}

TEST_F(MetricsEndToEnd, PrometheusScrapesTheAnswersCounter) {
  if (access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian's prometheus)";
  }
  PrometheusServer prometheus({{"aia_worker", metrics_port_}});
  // The first scrape comes within a few intervals of the start.
  const std::string expected = absl::StrCat("\"", answers_, "\"]");
  const std::string said = prometheus.AwaitQuery("aia_worker_answers_total", expected);
  EXPECT_THAT(said, HasSubstr("\"status\":\"success\"")) << prometheus.output();
  EXPECT_THAT(said, HasSubstr("\"job\":\"aia_worker\"")) << said;
  EXPECT_THAT(said, HasSubstr(expected)) << said << "\n" << prometheus.output();
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.output();
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
  const int coordinator_port =
      AnnouncedMetricsPort(run.output(), "aia: metrics on http://127.0.0.1:");
  ASSERT_GT(coordinator_port, 0) << run.output();
  // Its own endpoint first: the run under way, answers counted by worker.
  const std::string text = AwaitSample(
      coordinator_port, "aia_answers_total{worker=\"0\"}",
      [](double answers) { return answers > 0; }, absl::Seconds(10));
  EXPECT_GT(Sample(text, "aia_answers_total{worker=\"0\"}"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_runs_active"), 1) << text;
  EXPECT_GT(Sample(text, "aia_central_step_seconds_count"), 0) << text;
  EXPECT_EQ(Sample(text, "aia_worker_losses_total{cause=\"silent\"}"), 0) << text;
  if (access(kPromtool, X_OK) == 0) {
    ProcessResult check = PromtoolCheck(text);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }
  if (access(kPrometheus, X_OK) != 0) {
    GTEST_SKIP() << kPrometheus << " is not installed (Debian's prometheus)";
  }
  PrometheusServer prometheus({{"aia", coordinator_port}, {"aia_worker", metrics_port_}});
  const std::string coordinator = prometheus.AwaitQuery("aia_answers_total", "\"job\":\"aia\"");
  EXPECT_THAT(coordinator, HasSubstr("\"worker\":\"0\"")) << coordinator;
  const std::string worker =
      prometheus.AwaitQuery("aia_worker_answers_total", "\"job\":\"aia_worker\"");
  EXPECT_THAT(worker, HasSubstr("\"status\":\"success\"")) << worker;
  EXPECT_EQ(prometheus.Stop(), 0) << prometheus.output();
  kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.Wait(absl::Seconds(20)).exit_code, 1);  // cancelled
}

}  // namespace
}  // namespace aia
