// ServiceMetrics: the coordinator service's own Prometheus metrics (`aia serve
// --metrics_listen`), beside the runs' (run_metrics.h), on one registry.
//
//   aia_service_runs{state}            gauge      runs known, by state: queued | running |
//                                                 completed | failed | cancelled | interrupted
//   aia_service_queue_wait_seconds     histogram  time from submission to start
//   aia_service_pool_workers{state}    gauge      pool workers: idle | busy | down
//   aia_service_run_answers{run}       gauge      answers taken by each running run (the
//                                                 series goes when the run ends, so run ids
//                                                 do not pile up)
//
// Thread safety: every method may be called from any thread.
#ifndef AIA_METRICS_SERVICE_METRICS_H_
#define AIA_METRICS_SERVICE_METRICS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aia {

class ServiceMetrics {
 public:
  explicit ServiceMetrics(prometheus::Registry& registry);

  // How many runs are in each state (states not named count 0).
  void SetRuns(const std::map<std::string, int>& by_state);
  void SetPool(int idle, int busy, int down);
  void QueueWait(double seconds);
  // The running runs' answer counts; runs not named lose their series.
  void SetRunAnswers(const std::map<std::string, int64_t>& by_run);

 private:
  prometheus::Family<prometheus::Gauge>& runs_family_;
  prometheus::Family<prometheus::Gauge>& pool_family_;
  prometheus::Family<prometheus::Gauge>& answers_family_;
  prometheus::Histogram& queue_wait_;
  absl::Mutex mu_;
  std::map<std::string, prometheus::Gauge*> run_answers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aia

#endif  // AIA_METRICS_SERVICE_METRICS_H_
