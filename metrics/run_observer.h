// RunObserver: what the run engine reports about a run, for metrics.
//
// RunCoordinator (coordinator/engine.h) calls the observer in its RunOptions
// (null: nothing is reported). This header has no dependency on any metrics
// library; RunMetrics (run_metrics.h) implements it with Prometheus series.
// Causes are fixed enums and workers are indices, so label values are bounded.
//
// Thread safety: implementations must allow calls from any thread at once (several
// runs may share one observer) and be cheap (the central loop calls them).
#ifndef AIA_METRICS_RUN_OBSERVER_H_
#define AIA_METRICS_RUN_OBSERVER_H_

#include <cstdint>
#include <string>

namespace aia {

// Why the run lost a worker.
enum class LossCause {
  kUnreachable,    // it cannot be connected (refused, TLS, timeout)
  kSetup,          // no Ready in time (setup or rejoin)
  kSilent,         // nothing from it, not even a heartbeat, for limits.keepalive_s
  kAnswerTimeout,  // an answer overran limits.answer_timeout_s
  kStreamEnded,    // its stream ended or broke
  kError,          // it reported an Error
  kProtocol,       // it broke the wire contract (a wrong answer, Ready, version, digest)
};
inline constexpr int kLossCauseCount = 7;

// "unreachable", "setup", "silent", "answer_timeout", "stream_ended", "error",
// "protocol".
const char* LossCauseName(LossCause cause);

class RunObserver {
 public:
  virtual ~RunObserver() = default;

  // A run with `workers` workers started; each is followed by one RunEnded with
  // its status ("completed", "failed", "cancelled").
  virtual void RunStarted(int workers) = 0;
  virtual void RunEnded(const std::string& status) = 0;
  // The central loop took an answer of `bytes` payload from worker `worker`.
  virtual void Answer(int worker, int64_t bytes) = 0;
  // A central step (one answer, a round, or a task's answer) took `seconds`.
  virtual void CentralStep(double seconds) = 0;
  // `bytes` of query payload went to a worker.
  virtual void QuerySent(int64_t bytes) = 0;
  virtual void WorkerLost(LossCause cause) = 0;
};

}  // namespace aia

#endif  // AIA_METRICS_RUN_OBSERVER_H_
