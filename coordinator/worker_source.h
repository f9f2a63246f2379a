// WorkerSource: where a run finds workers for its free slots when it does not
// dial a fixed list (the coordinator service's pool, coordinator/service/).
//
// A run has W slots; slot i always holds shard i of W. A slot is free until a
// worker fills it, and again once its worker is lost or leaves. While the run
// goes on, its pool asks the source for a worker for each free slot (at most
// every 100 ms); a Recruit either names an address for the pool to dial or
// opens the session link itself (a worker that joined the service over its own
// connection). When the run no longer uses a worker — it is lost, it left, or
// the run ended — the pool gives it back with Release.
//
// Thread safety: implementations are called from the run's central loop; one
// source may serve several runs at once (each through its own instance).
#ifndef AIA_COORDINATOR_WORKER_SOURCE_H_
#define AIA_COORDINATOR_WORKER_SOURCE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "coordinator/link.h"

namespace aia {

struct Recruit {
  // The source's handle, given back to Release.
  int64_t id = 0;
  // What logs and workers.csv call the worker: HOST:PORT, or "joined:NAME".
  std::string address;
  // Opens the session over the worker's own connection, reporting into `events`
  // as worker `slot`, link `link_id`; null: the pool dials `address`.
  std::function<std::unique_ptr<Link>(int slot, int link_id, EventQueue* events)> open;
};

class WorkerSource {
 public:
  virtual ~WorkerSource() = default;
  // A free worker for slot `slot`, if there is one now.
  virtual std::optional<Recruit> Take(int slot) = 0;
  // The run is done with recruit `id`. `cause` is empty when the worker is fine
  // (the run ended, it left), and says why otherwise (it was lost).
  virtual void Release(int64_t id, const std::string& cause) = 0;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_SOURCE_H_
