// InProcessLink: a worker run inside the coordinator's process, without gRPC, for
// debugging (`aia run --in_process`, Julia's pids=[1]).
//
// Each message is handled at once, on the sending thread (the central loop), and
// the reply is queued as an Event exactly as a gRPC worker's would be. A run is
// therefore deterministic and single-threaded, easy to step through in a
// debugger; a stop.time_s limit is checked between steps, not during one.
//
// Thread safety: the owner's thread only.
#ifndef AIA_COORDINATOR_IN_PROCESS_LINK_H_
#define AIA_COORDINATOR_IN_PROCESS_LINK_H_

#include <memory>
#include <string>

#include "coordinator/link.h"
#include "worker/problem_cache.h"
#include "worker/session.h"

namespace aia {

class InProcessLink final : public Link {
 public:
  // Data paths resolve under `data_root`; `events` must outlive the link.
  InProcessLink(int worker, int link_id, const std::string& data_root, EventQueue* events);

  void Start(std::shared_ptr<const Outgoing> first) override { Send(std::move(first)); }
  void Send(std::shared_ptr<const Outgoing> message) override;
  void Close() override;
  void Cancel() override { Close(); }
  bool AwaitDone(absl::Time) override { return true; }
  absl::Time last_received() const override { return absl::InfiniteFuture(); }

 private:
  const int worker_;
  const int link_id_;
  EventQueue* const events_;
  ProblemCache cache_{0};
  WorkerSession session_;
  bool closed_ = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_IN_PROCESS_LINK_H_
