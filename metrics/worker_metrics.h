// WorkerMetrics: the worker daemon's Prometheus metrics, fed by WorkerServer
// through the WorkerObserver interface.
//
//   aia_worker_sessions_active               gauge    sessions admitted and not yet ended
//   aia_worker_sessions_started_total        counter  sessions admitted
//   aia_worker_sessions_refused_total{cause} counter  full | draining
//   aia_worker_sessions_ended_total{cause}   counter  stopped | closed | cancelled | error |
//                                                     setup_deadline | liveness | shutdown
//   aia_worker_answers_total                 counter  answers sent
//   aia_worker_step_seconds                  histogram  worker step time of each answer
//   aia_worker_received_bytes_total          counter  protobuf bytes of messages received
//   aia_worker_sent_bytes_total              counter  protobuf bytes of messages sent
//   aia_worker_problem_cache_entries         gauge    problems kept for later runs
//   aia_worker_problem_cache_bytes           gauge    their memory (Problem::memory_bytes)
//
// Every series exists from the start (at 0), so rates work from the first scrape.
//
// Example:
//   Metrics metrics;
//   auto worker_metrics = std::make_shared<WorkerMetrics>(metrics.registry());
//   options.observer = worker_metrics;
//
// Thread safety: every method may be called from any thread (prometheus-cpp's
// counters, gauges and histograms are thread-safe).
#ifndef AIA_METRICS_WORKER_METRICS_H_
#define AIA_METRICS_WORKER_METRICS_H_

#include <array>
#include <cstdint>

#include "metrics/worker_observer.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace aia {

class WorkerMetrics final : public WorkerObserver {
 public:
  // Registers the metrics in `registry`, which must outlive this object.
  explicit WorkerMetrics(prometheus::Registry& registry);

  void SessionStarted() override;
  void SessionEnded(SessionEnd cause) override;
  void SessionRefused(SessionRefusal cause) override;
  void Answered(double step_seconds) override;
  void Received(int64_t bytes) override;
  void Sent(int64_t bytes) override;
  void ProblemCacheChanged(int entries, int64_t bytes) override;

 private:
  prometheus::Gauge& sessions_active_;
  prometheus::Counter& sessions_started_;
  std::array<prometheus::Counter*, kSessionRefusalCount> sessions_refused_;
  std::array<prometheus::Counter*, kSessionEndCount> sessions_ended_;
  prometheus::Counter& answers_;
  prometheus::Histogram& step_seconds_;
  prometheus::Counter& received_bytes_;
  prometheus::Counter& sent_bytes_;
  prometheus::Gauge& cache_entries_;
  prometheus::Gauge& cache_bytes_;
};

}  // namespace aia

#endif  // AIA_METRICS_WORKER_METRICS_H_
