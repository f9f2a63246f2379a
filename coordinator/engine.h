// The coordinator's run engine: connects to the worker daemons, sets them up,
// runs the asynchronous central loop and writes the run directory.
//
//   1. Validate the config; create the run directory (config.textproto).
//   2. Build the central problem; connect to every worker (bounded by
//      limits.connect_timeout_s) and send each its Setup; wait for every Ready
//      (bounded by limits.setup_timeout_s).
//   3. q0 = Initialize(central problem); the clock starts; record 0 is saved;
//      q0 goes to every worker.
//   4. The central loop, on this thread: take the next answer in arrival order,
//      apply the central step, count, save, check the stop criteria, and send the
//      new query to the worker that answered. gRPC's threads receive and send
//      around it. A timer stops the run at stop.time_s even if no answer comes.
//   5. Send Stop to every worker; write workers.csv and, last, summary.json.
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
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "proto/config.pb.h"

namespace aia {

struct RunOptions {
  // The resolved config (overrides applied).
  v1::RunConfig config;
  // Worker addresses (HOST:PORT); worker i is the i-th.
  std::vector<std::string> workers;
  // The run directory to create.
  std::string out_dir;
  // The coordinator's data root, for the central problem.
  std::string data_root = "/";
  // Receives a progress line about once a second, and a line per notable event;
  // null for silence.
  std::function<void(const std::string&)> log;
  // When notified, the run stops within about 0.1 s with status "cancelled" (the
  // history so far and summary.json are written as for any end). May be null.
  const absl::Notification* cancel = nullptr;
};

struct RunResult {
  std::string status;       // "completed", "failed" or "cancelled"
  std::string stop_reason;  // "iteration", "epoch", "time_s", "precision"; empty if failed
  std::string error;        // why the run failed
  int64_t iterations = 0;
  int64_t epochs = 0;
  double elapsed_s = 0;
  std::vector<int64_t> answer_count;
  std::string out_dir;
};

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options);

}  // namespace aia

#endif  // AIA_COORDINATOR_ENGINE_H_
