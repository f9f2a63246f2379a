#include "metrics/run_metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

TEST(RunMetrics, CountsEveryEventUnderItsName) {
  Metrics registry;
  RunMetrics metrics(registry.registry());
  metrics.RunStarted(2);
  metrics.Answer(0, 80);
  metrics.Answer(1, 80);
  metrics.Answer(1, 80);
  metrics.Answer(7, 80);  // not a worker of any run: bytes only
  metrics.CentralStep(0.0002);
  metrics.CentralStep(2);
  metrics.QuerySent(160);
  metrics.WorkerLost(LossCause::kSilent);
  metrics.RunStarted(1);
  metrics.RunEnded("completed");
  const std::string text = registry.Text();
  EXPECT_THAT(text, HasSubstr("aia_runs_active 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_runs_total{status=\"completed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_runs_total{status=\"failed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aia_answers_total{worker=\"0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_answers_total{worker=\"1\"} 2\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("worker=\"7\"")));
  EXPECT_THAT(text, HasSubstr("aia_central_step_seconds_count 2\n"));
  EXPECT_THAT(text, HasSubstr("aia_central_step_seconds_bucket{le=\"0.0003\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_received_bytes_total 320\n"));
  EXPECT_THAT(text, HasSubstr("aia_sent_bytes_total 160\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_losses_total{cause=\"silent\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_losses_total{cause=\"protocol\"} 0\n"));
}

TEST(RunMetrics, PromtoolAcceptsTheExposition) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  Metrics registry;
  RunMetrics metrics(registry.registry());
  metrics.RunStarted(1);
  metrics.Answer(0, 8);
  metrics.CentralStep(0.01);
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string in = std::string(tmp != nullptr ? tmp : "/tmp") + "/run_metrics.txt";
  std::ofstream(in) << registry.Text();
  const std::string command = "/usr/bin/promtool check metrics < '" + in + "' 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace aia
