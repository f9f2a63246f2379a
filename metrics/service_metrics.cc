#include "metrics/service_metrics.h"

#include <vector>

namespace aia {
namespace {

constexpr const char* kRunStates[] = {"queued",    "running",  "completed",
                                      "failed",    "cancelled", "interrupted"};

// 10 ms to an hour.
const prometheus::Histogram::BucketBoundaries& WaitBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600};
  return *buckets;
}

}  // namespace

ServiceMetrics::ServiceMetrics(prometheus::Registry& registry)
    : runs_family_(prometheus::BuildGauge()
                       .Name("aia_service_runs")
                       .Help("Runs the service knows, by state.")
                       .Register(registry)),
      pool_family_(prometheus::BuildGauge()
                       .Name("aia_service_pool_workers")
                       .Help("Workers in the service's pool, by state.")
                       .Register(registry)),
      answers_family_(prometheus::BuildGauge()
                          .Name("aia_service_run_answers")
                          .Help("Answers taken by each running run.")
                          .Register(registry)),
      queue_wait_(prometheus::BuildHistogram()
                      .Name("aia_service_queue_wait_seconds")
                      .Help("Time from a run's submission to its start.")
                      .Register(registry)
                      .Add({}, WaitBuckets())) {
  for (const char* state : kRunStates) runs_family_.Add({{"state", state}});
  for (const char* state : {"idle", "busy", "down"}) pool_family_.Add({{"state", state}});
}

void ServiceMetrics::SetRuns(const std::map<std::string, int>& by_state) {
  for (const char* state : kRunStates) {
    auto it = by_state.find(state);
    runs_family_.Add({{"state", state}}).Set(it == by_state.end() ? 0 : it->second);
  }
}

void ServiceMetrics::SetPool(int idle, int busy, int down) {
  pool_family_.Add({{"state", "idle"}}).Set(idle);
  pool_family_.Add({{"state", "busy"}}).Set(busy);
  pool_family_.Add({{"state", "down"}}).Set(down);
}

void ServiceMetrics::QueueWait(double seconds) { queue_wait_.Observe(seconds); }

void ServiceMetrics::SetRunAnswers(const std::map<std::string, int64_t>& by_run) {
  absl::MutexLock lock(&mu_);
  for (auto it = run_answers_.begin(); it != run_answers_.end();) {
    if (by_run.count(it->first) == 0) {
      answers_family_.Remove(it->second);
      it = run_answers_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [run, answers] : by_run) {
    prometheus::Gauge*& gauge = run_answers_[run];
    if (gauge == nullptr) gauge = &answers_family_.Add({{"run", run}});
    gauge->Set(static_cast<double>(answers));
  }
}

}  // namespace aia
