// Test helpers for metrics endpoints: scraping one (/metrics on loopback), reading
// a sample out of the exposition, linting it with promtool, and a real Prometheus
// server (Debian's prometheus) that scrapes endpoints and answers queries.
//
// Every wait is bounded; the bounds are in the comments below.
//
// Example:
//   if (access(kPrometheus, X_OK) != 0) GTEST_SKIP() << kPrometheus << " is not installed";
//   PrometheusServer prometheus({{"aia_worker", metrics_port}});
//   EXPECT_THAT(prometheus.AwaitQuery("aia_worker_answers_total", "\"job\":\"aia_worker\""),
//               HasSubstr("\"status\":\"success\""));
//   EXPECT_EQ(prometheus.Stop(), 0) << prometheus.output();
#ifndef AIA_TESTS_METRICS_SCRAPE_H_
#define AIA_TESTS_METRICS_SCRAPE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/process.h"

namespace aia::testing {

inline constexpr char kPromtool[] = "/usr/bin/promtool";
inline constexpr char kPrometheus[] = "/usr/bin/prometheus";

// The value of the sample line "NAME VALUE" in an exposition (NAME with its
// labels, as written: `aia_runs{state="running"}`), or -1.
double Sample(const std::string& exposition, const std::string& name);

// Scrapes http://127.0.0.1:PORT/metrics (one GET, at most 5 s); "" (and a test
// failure) if that fails or the status is not 200.
std::string Scrape(int port);

// Scrapes every 20 ms until `accept` holds for the sample `name`, at most
// `timeout`; the last scrape (the caller checks it: it may be a timeout's).
std::string AwaitSample(int port, const std::string& name,
                        const std::function<bool(double)>& accept, absl::Duration timeout);
// The same, until `name` has `value`.
std::string AwaitSample(int port, const std::string& name, double value, absl::Duration timeout);

// The port of the first "metrics on http://127.0.0.1:PORT/..." line in a
// process's `output` (after `prefix`, which ends just before PORT), or 0.
int AnnouncedMetricsPort(const std::string& output,
                         const std::string& prefix = "metrics on http://127.0.0.1:");

// `promtool check metrics` on `text` (written to a fresh file, fed on stdin), at
// most 30 s: exit_code 0 and no output when the exposition passes.
ProcessResult PromtoolCheck(const std::string& text);

// A running Prometheus server (kPrometheus) on an unused loopback port, scraping
// each target every second, with its config and data in a fresh temporary
// directory. The destructor SIGKILLs it if Stop was not called.
class PrometheusServer {
 public:
  struct Target {
    std::string job;  // job_name, the "job" label of its series
    int port;         // scrapes http://127.0.0.1:PORT/metrics
  };

  explicit PrometheusServer(const std::vector<Target>& targets);
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  // What it has logged so far.
  std::string output() const { return process_.output(); }

  // Asks /api/v1/query?query=QUERY every 200 ms (each GET at most 2 s) until a
  // 200 answer contains `expected`, at most 30 s; the last answer received ("" if
  // none came). The first scrape comes within a few seconds of the start.
  std::string AwaitQuery(const std::string& query, const std::string& expected);

  // SIGTERM, and waits at most 15 s: its exit status (0 for a clean stop; -1 if it
  // had to be killed).
  int Stop();

 private:
  // Writes DIR/prometheus.yml for `targets`; the command line that serves it.
  static std::vector<std::string> Argv(const std::string& dir, int port,
                                       const std::vector<Target>& targets);

  const std::string dir_;
  const int port_;
  BackgroundProcess process_;
  bool stopped_ = false;  // and reaped: its pid may be another's now
};

}  // namespace aia::testing

#endif  // AIA_TESTS_METRICS_SCRAPE_H_
