// CoordinatorService: `aia serve` — the coordinator as a long-lived gRPC service
// (aia.v1.Coordinator, proto/coordinator.proto) that queues submitted runs, runs
// them on the engine of `aia run` (RunCoordinator) with workers from its pool
// (WorkerDirectory), and keeps every run's directory under runs_dir.
//
//   runs_dir/run-N/service.textproto   the run's RunSummary, rewritten at each
//                                      state change (what ListRuns shows after a
//                                      restart)
//   runs_dir/run-N/...                 the run directory (docs/run-directory.md)
//
// Scheduling: runs start in submission order; the first queued run starts as
// soon as the pool has min_workers (or all `workers`) free workers; it takes up
// to `workers` of them, and fills its other slots as workers come free. Runs
// hold disjoint workers. A scheduler thread also refreshes the pool every
// second (DNS names re-resolved, dialled workers probed) and the metrics.
//
// On start, runs found under runs_dir are listed again; those that were queued
// or running (the service stopped) become `interrupted`, in service.textproto
// and in a summary.json written for them if they have none.
//
// Example:
//   CoordinatorService::Options options;
//   options.listen = "127.0.0.1:7000";
//   options.runs_dir = "/var/lib/aia/runs";
//   ASSIGN_OR_RETURN(auto service, CoordinatorService::Start(options));
//   ... service->port() ...
//   service->Shutdown();
//
// Thread safety: Start, port and Shutdown may be called from any thread.
#ifndef AIA_COORDINATOR_SERVICE_COORDINATOR_SERVICE_H_
#define AIA_COORDINATOR_SERVICE_COORDINATOR_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "metrics/run_observer.h"
#include "metrics/service_metrics.h"

namespace aia {

class CoordinatorService {
 public:
  struct Options {
    std::string listen = "127.0.0.1:0";
    std::shared_ptr<grpc::ServerCredentials> server_credentials;  // null: plaintext
    std::string runs_dir = "runs";
    // Data paths of submitted configs resolve under it (the central problem).
    std::string data_root = "/";
    // Dialled workers (HOST:PORT, dns:///NAME:PORT) and how to reach them.
    std::vector<std::string> workers;
    std::shared_ptr<grpc::ChannelCredentials> worker_credentials;  // null: plaintext
    std::string tls_server_name;
    std::function<std::string(const std::string& address)> diagnose_connect_failure;
    // Bounds: runs queued at once, watchers at once, joined workers waiting.
    int max_queued = 1000;
    int max_watchers = 256;
    int max_joined = 1024;
    // Largest request (a config text) and largest message on a Join stream.
    int64_t max_message_bytes = int64_t{256} << 20;
    // Metrics (may be null).
    RunObserver* run_observer = nullptr;
    ServiceMetrics* metrics = nullptr;
    // Receives a line per notable event; null prints "aia serve: LINE" on stderr.
    std::function<void(const std::string&)> log;
  };

  static absl::StatusOr<std::unique_ptr<CoordinatorService>> Start(const Options& options);
  ~CoordinatorService();
  CoordinatorService(const CoordinatorService&) = delete;
  CoordinatorService& operator=(const CoordinatorService&) = delete;

  int port() const;
  // Cancels the running runs (their histories end "cancelled"), ends the waiting
  // Join streams and stops serving.
  void Shutdown();

  class Impl;

 private:
  explicit CoordinatorService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_COORDINATOR_SERVICE_H_
