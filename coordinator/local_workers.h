// LocalWorkers: N aia_worker daemons started on loopback as child processes (like
// Julia's addprocs(N)), stopped when the object goes away.
//
// Each child listens on 127.0.0.1:0 and announces its port on stdout; Start waits
// (bounded) for every announcement, so there is no race for free ports. The children
// die with the thread that called Start (PR_SET_PDEATHSIG): a coordinator killed with
// SIGKILL leaves no daemon behind, so call Start from a thread that lives as long as
// the workers are needed (aia calls it from its main thread).
//
// Example:
//   ASSIGN_OR_RETURN(auto workers, LocalWorkers::Start(options));
//   RunOptions run;
//   run.workers = workers->addresses();
//
// Thread safety: not thread-safe.
#ifndef AIA_COORDINATOR_LOCAL_WORKERS_H_
#define AIA_COORDINATOR_LOCAL_WORKERS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aia {

class LocalWorkers {
 public:
  struct Options {
    int count = 1;
    // The aia_worker executable (see FindWorkerBinary).
    std::string binary;
    std::string data_root = "/";
    int64_t max_message_bytes = int64_t{256} << 20;
    // Where each worker's stderr goes: LOG_DIR/worker-I.log; empty to inherit ours.
    std::string log_dir;
    // Each worker's --plugin_dir flags (the coordinator's own, so both sides load
    // the same plugins).
    std::vector<std::string> plugin_dirs;
    absl::Duration start_timeout = absl::Seconds(30);
  };

  static absl::StatusOr<std::unique_ptr<LocalWorkers>> Start(const Options& options);

  // Stops the children: SIGTERM, then SIGKILL after a grace period.
  ~LocalWorkers();

  const std::vector<std::string>& addresses() const { return addresses_; }
  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  LocalWorkers() = default;
  std::vector<pid_t> pids_;
  std::vector<std::string> addresses_;
};

// The aia_worker beside the running program: $AIA_WORKER_BINARY if set, else
// aia_worker in the same directory, ../worker/aia_worker (the Bazel output tree),
// the program's Bazel runfiles, then each directory of $PATH.
absl::StatusOr<std::string> FindWorkerBinary();

}  // namespace aia

#endif  // AIA_COORDINATOR_LOCAL_WORKERS_H_
