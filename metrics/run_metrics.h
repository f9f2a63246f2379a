// RunMetrics: the coordinator's Prometheus metrics, fed by the run engine through
// the RunObserver interface (`aia run --metrics_listen`).
//
//   aia_runs_active                     gauge      runs under way
//   aia_runs_total{status}              counter    runs ended: completed | failed | cancelled
//   aia_answers_total{worker}           counter    answers the central loop took, by worker index
//   aia_central_step_seconds            histogram  time of each central step
//   aia_received_bytes_total            counter    answer payload bytes taken
//   aia_sent_bytes_total                counter    query payload bytes sent (per recipient)
//   aia_worker_losses_total{cause}      counter    unreachable | setup | silent | answer_timeout |
//                                                  stream_ended | error | protocol
//
// Thread safety: every method may be called from any thread.
#ifndef AIA_METRICS_RUN_METRICS_H_
#define AIA_METRICS_RUN_METRICS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "metrics/run_observer.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aia {

class RunMetrics final : public RunObserver {
 public:
  // Registers the metrics in `registry`, which must outlive this object.
  explicit RunMetrics(prometheus::Registry& registry);

  void RunStarted(int workers) override;
  void RunEnded(const std::string& status) override;
  void Answer(int worker, int64_t bytes) override;
  void CentralStep(double seconds) override;
  void QuerySent(int64_t bytes) override;
  void WorkerLost(LossCause cause) override;

 private:
  prometheus::Gauge& runs_active_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& answers_family_;
  prometheus::Histogram& central_step_seconds_;
  prometheus::Counter& received_bytes_;
  prometheus::Counter& sent_bytes_;
  std::array<prometheus::Counter*, kLossCauseCount> losses_;
  absl::Mutex mu_;
  std::vector<prometheus::Counter*> answers_ ABSL_GUARDED_BY(mu_);  // by worker index
};

}  // namespace aia

#endif  // AIA_METRICS_RUN_METRICS_H_
