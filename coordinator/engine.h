// The coordinator's run engine: connects to the worker daemons, sets them up,
// runs the asynchronous central loop and writes the run directory.
//
//   1. Validate the config; create the run directory (config.textproto).
//   2. Build the central problem; connect to every worker (bounded by
//      limits.connect_timeout_s) and send each its Setup; wait for every Ready
//      (bounded by limits.setup_timeout_s).
//   3. q0 = Initialize(central problem); the clock starts; record 0 is saved;
//      q0 goes to every worker.
//   4. The central loop, on this thread.
//      Asynchronous: take the next answer in arrival order, apply the central
//      step, count, save, check the stop criteria and hooks, and send the new
//      query to the worker that answered.
//      Synchronous: send the query to every live worker, collect one answer from
//      each (a worker lost meanwhile is dropped from the round), apply the
//      synchronous central step, count a round.
//      gRPC's threads receive and send around it. A timer stops the run at
//      stop.time_s even if no answer comes, and finds answers that overrun
//      limits.answer_timeout_s.
//   5. Send Stop to every worker; write workers.csv and, last, summary.json.
//
// Resilience: a worker is lost when it reports an error (setup included), its
// stream breaks, it misses keepalive pings, it overruns the answer deadline, or
// it cannot be reached. Up to config.resilience workers may be lost at one time;
// one more fails the run with every lost worker and its cause. With rejoin, the
// coordinator keeps reconnecting lost workers at their address; one that comes
// back is set up again and answers in the same run.
//
// Outcomes of a run (completed or failed, with the reason) are data in RunResult;
// an error Status means the run could not start (bad config, an existing run
// directory).
//
// Example:
//   RunOptions options;
//   options.config = config;
//   options.workers = {"127.0.0.1:7070", "127.0.0.1:7071"};
//   options.out_dir = "runs/demo";
//   ASSIGN_OR_RETURN(RunResult result, RunCoordinator(options));
//   if (result.status != "completed") ... result.error ...
//
// Thread safety: RunCoordinator may run several runs at once on different threads.
#ifndef AIA_COORDINATOR_ENGINE_H_
#define AIA_COORDINATOR_ENGINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "coordinator/progress.h"
#include "coordinator/worker_source.h"
#include "grpcpp/security/credentials.h"
#include "metrics/run_observer.h"
#include "proto/config.pb.h"

namespace aia {

// One saved record, as history.csv has it.
struct RecordRow {
  int64_t record = 0;
  int64_t iteration = 0;
  int64_t epoch = 0;
  double time_s = 0;
  std::optional<double> precision;
  int worker = -1;             // the origin; -1 for none
  std::vector<double> values;  // the algorithm's saved values
};

// Follows a run as it goes (the coordinator service's watchers). Called on the
// run's thread; implementations must be quick.
class RunListener {
 public:
  virtual ~RunListener() = default;
  // The run is set up and q0 is recorded: the central loop starts.
  virtual void Started() = 0;
  virtual void Record(const RecordRow& row) = 0;
  // At most every 0.25 s, after a central step.
  virtual void Progress(const ProgressSnapshot& snapshot) = 0;
  // A line about the run (a worker ready, lost, left, a slot filled).
  virtual void Event(const std::string& line) = 0;
};

struct RunOptions {
  // The resolved config (overrides applied).
  v1::RunConfig config;
  // Worker addresses (HOST:PORT); worker i is the i-th.
  std::vector<std::string> workers;
  // Instead of `workers`: `slots` slots filled from `source` (the service's
  // pool), at the start and while the run goes on (coordinator/worker_source.h).
  WorkerSource* source = nullptr;
  int slots = 0;
  // The run directory to create.
  std::string out_dir;
  // How to reach the workers: TLS, client certificate, token (null: plaintext).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // The name the workers' certificates must carry, instead of each address's host.
  std::string tls_server_name;
  // Explains why `address` cannot be reached (a TLS handshake probe: wrong CA,
  // host name mismatch, expired certificate, plaintext against TLS); called when a
  // worker cannot be connected. Null: the cause is only "cannot connect".
  std::function<std::string(const std::string& address)> diagnose_connect_failure;
  // The coordinator's data root, for the central problem (and in-process workers).
  std::string data_root = "/";
  // Run the workers inside this process, without gRPC (one per entry of
  // `workers`, whose texts then only name them).
  bool in_process = false;
  // Receives a line per notable event (a worker ready, lost, rejoined); null for
  // silence.
  std::function<void(const std::string&)> log;
  // Shows progress (may be null).
  ProgressReporter* progress = nullptr;
  // Receives the run's events for metrics (may be null; may be shared by runs).
  RunObserver* observer = nullptr;
  // Follows the run (may be null).
  RunListener* listener = nullptr;
  // When notified, the run stops within about 0.1 s with status "cancelled" (the
  // history so far and summary.json are written as for any end). May be null.
  const absl::Notification* cancel = nullptr;
};

struct RunResult {
  std::string status;  // "completed", "failed" or "cancelled"
  std::string
      stop_reason;    // "iteration", "epoch", "time_s", "precision", "algorithm"; empty if failed
  std::string error;  // why the run failed
  int64_t iterations = 0;
  int64_t epochs = 0;
  double elapsed_s = 0;
  std::vector<int64_t> answer_count;
  std::string out_dir;
};

// The number of worker slots of a run: `slots` with a source, else one per
// address in `workers`.
int SlotCount(const RunOptions& options);

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options);

}  // namespace aia

#endif  // AIA_COORDINATOR_ENGINE_H_
