// Link: the coordinator's end of one worker's session, and the EventQueue through
// which every link hands what it receives to the central loop. WorkerLink is the
// gRPC stream; InProcessLink (in_process_link.h) runs the worker in this process.
//
// gRPC's threads run the reactions: they decode each FromWorker message and push
// it as an Event; they never wait for the central loop. The central loop sends
// with Send(), which queues the message and keeps one write in flight.
//
// Lifetime: Start() once; Close() once when the run no longer needs the worker
// (sends Stop-then-half-close if asked); AwaitDone() before destroying the link.
//
// Heartbeats from the worker are not events: they only move last_received().
//
// Thread safety: Send, SendHeartbeat, Close, Cancel, AwaitDone and last_received
// may be called from any thread.
#ifndef AIA_COORDINATOR_WORKER_LINK_H_
#define AIA_COORDINATOR_WORKER_LINK_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/worker.grpc.pb.h"

namespace aia {

struct Event {
  enum class Kind {
    kMessage,  // `message` arrived from the worker
    kClosed,   // the stream ended with `status`
  };
  Kind kind = Kind::kMessage;
  int worker = -1;
  // Which link of the worker sent it (a rejoined worker has a new link; events
  // of the old one are stale).
  int link_id = 0;
  v1::FromWorker message;
  grpc::Status status;
};

// A multi-producer, single-consumer queue of Events.
class EventQueue {
 public:
  void Push(Event event);
  // Pops the oldest event into *event; false if none came before `deadline`.
  bool PopUntil(absl::Time deadline, Event* event);

 private:
  absl::Mutex mu_;
  std::deque<Event> events_ ABSL_GUARDED_BY(mu_);
};

class Link {
 public:
  virtual ~Link() = default;
  // Opens the session and sends `first` (the Setup).
  virtual void Start(std::shared_ptr<const v1::ToWorker> first) = 0;
  // Queues `message`; messages are delivered in order. The message is shared so
  // that one broadcast message can serve every link.
  virtual void Send(std::shared_ptr<const v1::ToWorker> message) = 0;
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
};

class WorkerLink final : public Link, public grpc::ClientBidiReactor<v1::ToWorker, v1::FromWorker> {
 public:
  // `worker` and `link_id` are reported in events; `events` must outlive the link.
  WorkerLink(int worker, int link_id, v1::Worker::Stub* stub, EventQueue* events);

  void Start(std::shared_ptr<const v1::ToWorker> first) override;
  void Send(std::shared_ptr<const v1::ToWorker> message) override;
  void Close() override;
  void Cancel() override;
  bool AwaitDone(absl::Time deadline) override;
  absl::Time last_received() const override;
  // Queues a Heartbeat (proto/worker.proto, rule 5) unless the link is closing.
  void SendHeartbeat();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lets the call end (OnDone) once its operations are done; idempotent.
  void ReleaseHoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int worker_;
  const int link_id_;
  v1::Worker::Stub* const stub_;
  EventQueue* const events_;
  grpc::ClientContext context_;
  v1::FromWorker incoming_;  // the read in flight; touched by reactions only
  // SteadyNow() of the last message received, in nanoseconds since its epoch.
  std::atomic<int64_t> last_received_ns_;

  absl::Mutex mu_;
  std::deque<std::shared_ptr<const v1::ToWorker>> outbox_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the stream exists and has the Setup
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;  // Setup and queries sent
  int64_t replies_ ABSL_GUARDED_BY(mu_) = 0;   // messages received but heartbeats
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_LINK_H_
