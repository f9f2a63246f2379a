// WorkerPool: the coordinator's connections to its workers. One slot per worker
// holds its channel, its current link (the session stream), what its Ready said
// and its connection state; links replaced by a rejoin, or abandoned, are kept
// until their streams end and then freed; a HeartbeatSender keeps every gRPC link
// alive from the coordinator's side, and the slots' last_received times tell
// which workers fell silent.
//
// With a WorkerSource (the coordinator service), slots start vacant and are
// filled from the source: at the start (Fill) and whenever one is free while the
// run goes on (TryFill); a lost worker goes back to the source instead of being
// re-dialled.
//
// The pool knows nothing of the algorithm: it reports what happened (a worker
// that cannot be reached, one gone silent, a rejoin that timed out) and the run
// (engine.cc) decides what a loss means for the run.
//
// Example (the engine's use):
//   WorkerPool pool(options);
//   ASSIGN_OR_RETURN(auto unreachable, pool.Connect());
//   for (auto& [w, cause] : unreachable) Lose(w, cause);
//   for (int w = 0; w < pool.count(); ++w) pool.OpenLink(w, SetupMessage(w));
//   ... pool.events().PopUntil(...) ...
//   pool.Shutdown("iteration", end_time);
//
// Thread safety: one thread (the central loop) uses the pool; the links and the
// heartbeat thread only push into events().
#ifndef AIA_COORDINATOR_WORKER_POOL_H_
#define AIA_COORDINATOR_WORKER_POOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "coordinator/heartbeats.h"
#include "coordinator/worker_link.h"
#include "coordinator/worker_source.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "proto/worker.grpc.pb.h"

namespace aia {

enum class WorkerState {
  kVacant,        // never filled (a source's slot)
  kConnecting,    // before its first Ready
  kRunning,       // set up; answering queries
  kLost,          // out of the run (maybe rejoining)
  kStopped,       // the run ended with it alive
  kUnresponsive,  // the run ended with it not ending its session after Stop
};

struct WorkerSlot;

// Its state as workers.csv says it: "vacant", "connecting", "running", "lost", "left" (lost
// by leaving), "stopped", "unresponsive".
const char* StateName(const WorkerSlot& slot);

// The coordinator's view of one worker.
struct WorkerSlot {
  std::string address;
  WorkerState state = WorkerState::kConnecting;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  std::unique_ptr<Link> link;
  int link_id = 0;
  int64_t rows = 0;
  uint64_t outstanding = 0;  // id of the query it is working on; 0 for none
  absl::Time sent_at;        // when the outstanding query was sent (SteadyNow)
  // The central iteration its latest query was made at (still set during the
  // central step on the answer to it).
  int64_t query_iteration = 0;
  int64_t failures = 0;
  double compute_s = 0;  // sum over its answers
  std::string cause;     // of its last loss
  bool left = false;     // lost because it left (a drain), not because it failed
  // What its last Ready said.
  std::string version, host, shard_digest;
  // Rejoin: when to try next, and whether a new link is setting up since when
  // (a rejoin, or a free slot being filled while the run goes on).
  absl::Time next_rejoin = absl::InfiniteFuture();
  bool rejoining = false;
  absl::Time rejoin_started;
  // With a source: the recruit filling the slot (0: none), and how to open its
  // link when it is not dialled.
  int64_t recruit = 0;
  std::function<std::unique_ptr<Link>(int slot, int link_id, EventQueue* events)> open;
};

class WorkerPool {
 public:
  struct Options {
    // Worker i's HOST:PORT (or, in process, only a name).
    std::vector<std::string> addresses;
    // Instead of `addresses`: `slots` vacant slots filled from `source`.
    WorkerSource* source = nullptr;
    int slots = 0;
    // Whether a lost worker's slot may be filled again (false for algorithms
    // that refuse rejoin: a new worker cannot take over a lost one's past
    // answers); never-filled slots always fill.
    bool refill_lost = true;
    // Workers inside this process (InProcessLink), data under data_root.
    bool in_process = false;
    std::string data_root;
    std::shared_ptr<grpc::ChannelCredentials> credentials;  // null: plaintext
    std::string tls_server_name;
    std::function<std::string(const std::string& address)> diagnose_connect_failure;
    ResolvedLimits limits;
    bool rejoin = false;
    const absl::Notification* cancel = nullptr;
  };

  explicit WorkerPool(Options options);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int count() const { return static_cast<int>(slots_.size()); }
  WorkerSlot& operator[](int w) { return slots_[w]; }
  const WorkerSlot& operator[](int w) const { return slots_[w]; }
  // "worker 2 (10.0.0.7:7070)".
  std::string Name(int w) const;
  // Where every link reports what it receives.
  EventQueue& events() { return events_; }

  // Connects every worker, within limits.connect_timeout_s; a connection that
  // fails (refused, TLS handshake failed) fails at once. Returns the workers that
  // cannot be reached and why (diagnosed in parallel); Cancelled if the run's
  // cancellation fires meanwhile (checked every 50 ms). In process: nothing to do.
  absl::StatusOr<std::vector<std::pair<int, std::string>>> Connect();

  // Opens a new link to worker w and sends `setup` first.
  void OpenLink(int w, std::shared_ptr<const Outgoing> setup);

  bool has_source() const { return options_.source != nullptr; }
  // Source: fills every vacant slot the source has a worker for now, and opens
  // their links (state kConnecting). Returns how many it filled.
  int Fill(const std::function<std::shared_ptr<const Outgoing>(int w)>& setup);
  // Source, while the run goes on: for a free slot w (vacant, or lost), takes a
  // worker when one is free (at most every 100 ms for the slot) and opens its
  // link; the slot then sets up like a rejoin (rejoining, until its Ready).
  // Returns the cause when a fill under way got no Ready within
  // limits.setup_timeout_s (the caller loses it, which frees the slot again).
  std::optional<std::string> TryFill(
      int w, absl::Time now, const std::function<std::shared_ptr<const Outgoing>()>& setup);

  struct Loss {
    bool was_running = false;    // it was answering queries
    bool rejoin_failed = false;  // it was already lost, and a rejoin attempt failed
  };
  // Worker w is out: its link is retired, the cause kept, a rejoin scheduled (if
  // enabled). `left`: it left of its own accord (Leave), which is not a failure.
  // Empty if it was already lost with no rejoin under way (nothing new).
  std::optional<Loss> MarkLost(int w, const std::string& cause, bool left = false);

  // Why worker w counts as gone if it sent nothing for limits.keepalive_s while
  // the run expects to hear from it; empty otherwise.
  std::string Silence(int w, absl::Time now) const;

  // Frees the retired links whose streams have ended.
  void SweepRetired();

  // For lost worker w (rejoin enabled): tries again when due, opening a link
  // with `setup()` once its address answers. Returns the cause when an attempt
  // under way got no Ready within limits.setup_timeout_s (the caller loses it
  // again, which schedules the next attempt).
  std::optional<std::string> TryRejoin(
      int w, absl::Time now, const std::function<std::shared_ptr<const Outgoing>()>& setup);

  // The earliest deadline the pool keeps (silence, rejoin), as a SteadyNow() time.
  absl::Time NextWakeup() const;

  // Stop (with `reason`) to every worker set up, cancellation for the others;
  // waits at most limits.shutdown_timeout_s for the streams to end, then cancels.
  // A worker set up whose stream did not end is kUnresponsive, with a cause
  // that says how long it had been silent at `end_time`.
  void Shutdown(const std::string& reason, absl::Time end_time);

 private:
  // A link replaced or abandoned, kept until its stream has ended.
  struct RetiredLink {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
    std::unique_ptr<Link> link;
  };

  std::shared_ptr<grpc::Channel> NewChannel(int w) const;
  std::string ConnectFailure(int w, bool timed_out) const;
  void RetireLink(int w);
  // Stops heartbeats on `link` (before it is destroyed).
  void ForgetLink(Link* link);
  // Whether the run expects to hear from the worker: set up or setting up.
  static bool Listening(const WorkerSlot& slot);
  // Gives slot w's recruit back to the source (`cause` empty: it is fine).
  void Release(int w, const std::string& cause);

  const Options options_;
  EventQueue events_;
  std::vector<WorkerSlot> slots_;
  std::vector<RetiredLink> retired_;
  // Declared after the links, so that it stops before they are destroyed.
  HeartbeatSender heartbeats_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_POOL_H_
