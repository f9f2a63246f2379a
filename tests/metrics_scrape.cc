#include "tests/metrics_scrape.h"

#include <signal.h>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "metrics/http_get.h"

namespace aia::testing {

double Sample(const std::string& exposition, const std::string& name) {
  double value = -1;
  const std::string text = After("\n" + exposition, "\n" + name + " ");
  if (text.empty() || !absl::SimpleAtod(text, &value)) return -1;
  return value;
}

std::string Scrape(int port) {
  absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", port, "/metrics");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return "";
  EXPECT_EQ(response->status, 200) << response->body;
  return response->body;
}

std::string AwaitSample(int port, const std::string& name,
                        const std::function<bool(double)>& accept, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string text = Scrape(port);
  while (!accept(Sample(text, name)) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    text = Scrape(port);
  }
  return text;
}

std::string AwaitSample(int port, const std::string& name, double value, absl::Duration timeout) {
  return AwaitSample(
      port, name, [value](double sample) { return sample == value; }, timeout);
}

int AnnouncedMetricsPort(const std::string& output, const std::string& prefix) {
  const std::string at = After(output, prefix);
  int port = 0;
  if (at.empty() || !absl::SimpleAtoi(at.substr(0, at.find('/')), &port)) return 0;
  return port;
}

ProcessResult PromtoolCheck(const std::string& text) {
  const std::string file = NewTempDir("promtool") + "/metrics.txt";
  WriteFileOrDie(file, text);
  return RunProcess({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < '" + file + "'"},
                    absl::Seconds(30));
}

PrometheusServer::PrometheusServer(const std::vector<Target>& targets)
    : dir_(NewTempDir("prometheus")), port_(UnusedPort()), process_(Argv(dir_, port_, targets)) {}

std::vector<std::string> PrometheusServer::Argv(const std::string& dir, int port,
                                                const std::vector<Target>& targets) {
  std::string config =
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n";
  for (const Target& target : targets) {
    absl::StrAppend(&config, "  - job_name: ", target.job,
                    "\n    static_configs:\n      - targets: ['127.0.0.1:", target.port, "']\n");
  }
  WriteFileOrDie(dir + "/prometheus.yml", config);
  return {kPrometheus, "--config.file=" + dir + "/prometheus.yml",
          "--storage.tsdb.path=" + dir + "/data",
          "--web.listen-address=127.0.0.1:" + std::to_string(port)};
}

std::string PrometheusServer::AwaitQuery(const std::string& query, const std::string& expected) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::string said;
  while (absl::Now() < deadline) {
    absl::StatusOr<HttpResponse> response =
        HttpGet("127.0.0.1", port_, "/api/v1/query?query=" + query, absl::Seconds(2));
    if (response.ok()) {
      said = response->body;
      if (response->status == 200 && said.find(expected) != std::string::npos) break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return said;
}

int PrometheusServer::Stop() {
  if (!stopped_ && process_.pid() > 0) kill(process_.pid(), SIGTERM);
  stopped_ = true;
  return process_.Wait(absl::Seconds(15)).exit_code;
}

}  // namespace aia::testing
