// WorkerObserver: what the worker daemon reports about its sessions, for metrics.
//
// WorkerServer (worker/worker_server.cc) calls an observer given in its Options
// (null: nothing is reported and nothing is computed for it). This header has no
// dependency on any metrics library; WorkerMetrics (worker_metrics.h) implements it
// with Prometheus counters. Causes are small fixed enums, never text from a client,
// so no client can add label values.
//
// Example:
//   auto metrics = std::make_shared<WorkerMetrics>(registry);
//   WorkerServer::Options options;
//   options.observer = metrics;
//
// Thread safety: implementations must allow calls from any thread at once, and must
// be cheap (gRPC reactions call them while holding a session's lock).
#ifndef AIA_METRICS_WORKER_OBSERVER_H_
#define AIA_METRICS_WORKER_OBSERVER_H_

#include <cstdint>

namespace aia {

// Why a new session was refused.
enum class SessionRefusal {
  kFull,      // max_sessions are open
  kDraining,  // the worker is shutting down
};
inline constexpr int kSessionRefusalCount = 2;

// Why an admitted session ended; the first cause seen wins.
enum class SessionEnd {
  kStopped,        // the coordinator sent Stop
  kClosed,         // the coordinator closed the stream without Stop
  kCancelled,      // the call was cancelled or the stream broke
  kError,          // the session failed (bad Setup, a failing step, a protocol error)
  kSetupDeadline,  // no Setup within the setup deadline
  kLiveness,       // the coordinator sent or read nothing for its liveness timeout
  kShutdown,       // ended by the worker's drain
};
inline constexpr int kSessionEndCount = 7;

// The label values: "full", "draining"; "stopped", "closed", "cancelled", "error",
// "setup_deadline", "liveness", "shutdown".
const char* SessionRefusalName(SessionRefusal cause);
const char* SessionEndName(SessionEnd cause);

class WorkerObserver {
 public:
  virtual ~WorkerObserver() = default;

  // A session was admitted; each is followed by exactly one SessionEnded.
  virtual void SessionStarted() = 0;
  virtual void SessionEnded(SessionEnd cause) = 0;
  virtual void SessionRefused(SessionRefusal cause) = 0;
  // An answer was sent; `step_seconds` is the worker step's time (Answer.compute_s,
  // simulated straggler delay included).
  virtual void Answered(double step_seconds) = 0;
  // A message of `bytes` (its serialized protobuf size) was received or sent.
  virtual void Received(int64_t bytes) = 0;
  virtual void Sent(int64_t bytes) = 0;
  // The problem cache now holds `entries` problems of `bytes` in all.
  virtual void ProblemCacheChanged(int entries, int64_t bytes) = 0;
};

}  // namespace aia

#endif  // AIA_METRICS_WORKER_OBSERVER_H_
