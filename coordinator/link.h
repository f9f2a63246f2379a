// Link: the coordinator's end of one worker's session, whatever carries it, and
// the EventQueue through which every link hands what it receives to the central
// loop. WorkerLink (worker_link.h) is a gRPC stream; InProcessLink
// (in_process_link.h) runs the worker in this process. Messages go out as
// Outgoing (outgoing.h): serialized once, however many links send them.
//
// Lifetime of a link: Start() once; Close() once when the run no longer needs the
// worker; AwaitDone() before destroying it.
#ifndef AIA_COORDINATOR_LINK_H_
#define AIA_COORDINATOR_LINK_H_

#include <deque>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/outgoing.h"
#include "proto/worker.pb.h"

namespace aia {

struct Event {
  enum class Kind {
    kMessage,  // `message` arrived from the worker
    kClosed,   // the stream ended with `status`
    kWake,     // not from a worker: the central loop's own work (BackgroundWork) ended
  };
  Kind kind = Kind::kMessage;
  int worker = -1;
  // Which link of the worker sent it (a rejoined worker has a new link; events
  // of the old one are stale).
  int link_id = 0;
  v1::FromWorker message;
  // kClosed: how the stream ended (a gRPC status code is an absl::StatusCode).
  absl::Status status;
};

// A multi-producer, single-consumer queue of Events. The consumer takes every
// event that has arrived at once, under one lock, and pops them from its own
// batch afterwards.
class EventQueue {
 public:
  void Push(Event event);
  // Pops the oldest event into *event; false if none came before `deadline`.
  // The consumer's thread only.
  bool PopUntil(absl::Time deadline, Event* event);

 private:
  absl::Mutex mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
  std::deque<Event> drained_;  // the consumer's batch
};

class Link {
 public:
  virtual ~Link() = default;
  // Opens the session and sends `first` (the Setup).
  virtual void Start(std::shared_ptr<const Outgoing> first) = 0;
  // Queues `message`; messages are delivered in order. The message is shared so
  // that one broadcast message can serve every link.
  virtual void Send(std::shared_ptr<const Outgoing> message) = 0;
  // No more messages: ends the session after the queued ones.
  virtual void Close() = 0;
  // Abandons the session (a lost or unresponsive worker).
  virtual void Cancel() = 0;
  // Waits for the session to end; false if it did not by `deadline` (a
  // SteadyNow() time). A link may be destroyed only after this returned true.
  virtual bool AwaitDone(absl::Time deadline) = 0;
  // When the last message of any kind (heartbeats included) arrived, as a
  // SteadyNow() time; InfiniteFuture for a link that cannot fall silent.
  virtual absl::Time last_received() const = 0;
  // Queues a Heartbeat (proto/worker.proto, rule 5) unless the link is closing;
  // nothing for a link that cannot fall silent.
  virtual void SendHeartbeat() {}
};

}  // namespace aia

#endif  // AIA_COORDINATOR_LINK_H_
