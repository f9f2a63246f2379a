// WorkerDirectory: the coordinator service's pool of workers, which runs take
// for their slots (each run through its own WorkerSource) and give back.
//
// Two kinds of workers:
//   dialled  addresses from `aia serve --workers` (HOST:PORT, or dns:///NAME:PORT,
//            re-resolved at every Refresh, so that a name's new addresses join
//            the pool and vanished ones leave it). A dialled worker is free when
//            its probe channel is connected (or idle after being connected); one
//            that cannot be reached is down.
//   joined   workers that dialled the service (aia_worker --join) and wait on
//            their Join stream (JoinStream). A run uses the stream for one
//            session; the worker then joins again with a new stream.
// A worker is in at most one run at a time.
//
// Example:
//   WorkerDirectory directory(options);
//   directory.Refresh();                     // every second, from the scheduler
//   if (directory.free_count() >= need) {
//     std::unique_ptr<WorkerSource> source = directory.SourceFor("run-3");
//     ... RunCoordinator with options.source = source.get() ...
//   }
//
// Thread safety: every method may be called from any thread.
#ifndef AIA_COORDINATOR_SERVICE_WORKER_DIRECTORY_H_
#define AIA_COORDINATOR_SERVICE_WORKER_DIRECTORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/service/join_stream.h"
#include "coordinator/worker_source.h"
#include "grpcpp/grpcpp.h"
#include "proto/coordinator.pb.h"

namespace aia {

class WorkerDirectory final : public JoinPool {
 public:
  struct Options {
    // Dialled workers: HOST:PORT or dns:///NAME:PORT entries.
    std::vector<std::string> entries;
    // How the probe channels reach dialled workers (null: plaintext), and the
    // name their certificates must carry.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string tls_server_name;
    // Joined workers waiting at once; one more is refused RESOURCE_EXHAUSTED.
    int max_joined = 1024;
    // Called (outside the directory's lock) when a worker may have become free.
    std::function<void()> on_change;
    // Receives a line per worker joined, gone, resolved, down.
    std::function<void(const std::string&)> log;
  };

  explicit WorkerDirectory(Options options);
  ~WorkerDirectory() override;

  // Re-resolves the dns:/// entries and probes the dialled workers.
  void Refresh();

  // Workers a run could take now.
  int free_count() const;

  // What run `run_id` takes its workers from; it must not outlive the directory.
  std::unique_ptr<WorkerSource> SourceFor(const std::string& run_id);

  std::vector<v1::PoolWorker> List() const;

  // Ends every waiting Join stream (the service stops).
  void Shutdown();

  grpc::Status Offered(std::shared_ptr<JoinStream> stream, const v1::Offer& offer) override;
  void Gone(JoinStream* stream) override;

 private:
  class RunSource;

  struct Entry {
    bool joined = false;
    std::string name;  // the address, or "joined:NAME"
    std::shared_ptr<JoinStream> stream;          // joined
    std::shared_ptr<grpc::Channel> probe;        // dialled
    bool present = true;     // dialled: still among the resolved addresses
    bool seen_ready = false;  // dialled: its probe connected since its last failure
    std::string run_id;                          // busy when not empty
    int slot = -1;
    std::string host, version, peer, cause;
    absl::Time down_until = absl::InfinitePast();  // after a loss
    int failures = 0;                              // losses in a row
  };

  std::optional<Recruit> Take(const std::string& run_id, int slot);
  void Release(int64_t id, const std::string& cause);
  bool FreeLocked(const Entry& entry, absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Changed() const;
  void Log(const std::string& line) const;

  const Options options_;
  mutable absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> dialled_ ABSL_GUARDED_BY(mu_);  // address -> id
  std::map<std::string, std::string> resolve_errors_ ABSL_GUARDED_BY(mu_);  // entry -> error
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_WORKER_DIRECTORY_H_
