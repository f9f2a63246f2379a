#include "metrics/worker_metrics.h"

#include <unistd.h>

#include <cstdio>
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
using ::testing::Not;

constexpr char kPromtool[] = "/usr/bin/promtool";

// Runs `promtool check metrics` on `text`; its exit status, and its output in *said.
int PromtoolCheck(const std::string& text, std::string* said) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string in = dir + "/exposition.txt", out = dir + "/promtool.out";
  std::ofstream(in) << text;
  const std::string command =
      std::string(kPromtool) + " check metrics < '" + in + "' > '" + out + "' 2>&1";
  const int status = std::system(command.c_str());
  std::stringstream output;
  output << std::ifstream(out).rdbuf();
  *said = output.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Feeds one of every event.
void Exercise(WorkerMetrics& metrics) {
  metrics.SessionStarted();
  metrics.SessionStarted();
  metrics.SessionRefused(SessionRefusal::kFull);
  metrics.Received(120);
  metrics.Answered(0.002);
  metrics.Answered(0.5);
  metrics.Sent(300);
  metrics.ProblemCacheChanged(1, 4096);
  metrics.SessionEnded(SessionEnd::kStopped);
  metrics.SessionEnded(SessionEnd::kLiveness);
}

TEST(WorkerMetrics, CountsEveryEventUnderItsName) {
  Metrics registry;
  WorkerMetrics metrics(registry.registry());
  Exercise(metrics);
  metrics.SessionStarted();
  const std::string text = registry.Text();
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_active 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_started_total 3\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_refused_total{cause=\"full\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_refused_total{cause=\"draining\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_ended_total{cause=\"stopped\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_ended_total{cause=\"liveness\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sessions_ended_total{cause=\"shutdown\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_answers_total 2\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_step_seconds_count 2\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_step_seconds_bucket{le=\"0.003\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_step_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_received_bytes_total 120\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_sent_bytes_total 300\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_problem_cache_entries 1\n"));
  EXPECT_THAT(text, HasSubstr("aia_worker_problem_cache_bytes 4096\n"));
}

TEST(WorkerMetrics, EveryCauseHasASeriesFromTheStart) {
  Metrics registry;
  WorkerMetrics metrics(registry.registry());
  const std::string text = registry.Text();
  for (int i = 0; i < kSessionEndCount; ++i) {
    EXPECT_THAT(text, HasSubstr(std::string("aia_worker_sessions_ended_total{cause=\"") +
                                SessionEndName(static_cast<SessionEnd>(i)) + "\"} 0\n"));
  }
  for (int i = 0; i < kSessionRefusalCount; ++i) {
    EXPECT_THAT(text, HasSubstr(std::string("aia_worker_sessions_refused_total{cause=\"") +
                                SessionRefusalName(static_cast<SessionRefusal>(i)) + "\"} 0\n"));
  }
  EXPECT_THAT(text, Not(HasSubstr("unknown")));
}

TEST(WorkerMetrics, PromtoolAcceptsTheExposition) {
  if (access(kPromtool, X_OK) != 0) {
    GTEST_SKIP() << kPromtool << " is not installed (Debian's prometheus package)";
  }
  // The check itself can fail: a counter without "_total" is a lint problem.
  std::string said;
  EXPECT_NE(PromtoolCheck("# HELP aia_bad A counter.\n# TYPE aia_bad counter\naia_bad 1\n", &said),
            0)
      << said;
  EXPECT_THAT(said, HasSubstr("_total"));

  Metrics registry;
  WorkerMetrics metrics(registry.registry());
  Exercise(metrics);
  const std::string text = registry.Text();
  ASSERT_THAT(text, HasSubstr("aia_worker_answers_total"));
  EXPECT_EQ(PromtoolCheck(text, &said), 0) << said << "\n" << text;
  EXPECT_EQ(said, "") << text;
}

}  // namespace
}  // namespace aia
