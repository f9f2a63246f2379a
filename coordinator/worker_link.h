// WorkerLink: the coordinator's end of one worker's Session stream, and the
// EventQueue through which every link hands what it receives to the central loop.
//
// gRPC's threads run the reactions: they decode each FromWorker message and push
// it as an Event; they never wait for the central loop. The central loop sends
// with Send(), which queues the message and keeps one write in flight.
//
// Lifetime: Start() once; Close() once when the run no longer needs the worker
// (sends Stop-then-half-close if asked); AwaitDone() before destroying the link.
//
// Thread safety: Send, Close, Cancel and AwaitDone may be called from any thread.
#ifndef AIA_COORDINATOR_WORKER_LINK_H_
#define AIA_COORDINATOR_WORKER_LINK_H_

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

class WorkerLink final : public grpc::ClientBidiReactor<v1::ToWorker, v1::FromWorker> {
 public:
  // `worker` is the index reported in events; `events` must outlive the link.
  WorkerLink(int worker, v1::Worker::Stub* stub, EventQueue* events);

  // Opens the stream and sends `first` (the Setup).
  void Start(std::shared_ptr<const v1::ToWorker> first);
  // Queues `message`; messages are written in order, one at a time. The message
  // is shared so that one broadcast message serves every link.
  void Send(std::shared_ptr<const v1::ToWorker> message);
  // No more messages: half-closes the stream after the queued ones.
  void Close();
  // Cancels the stream (a lost or unresponsive worker).
  void Cancel();
  // Waits for the stream to end; false if it did not by `deadline`.
  bool AwaitDone(absl::Time deadline);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int worker_;
  v1::Worker::Stub* const stub_;
  EventQueue* const events_;
  grpc::ClientContext context_;
  v1::FromWorker incoming_;  // the read in flight; touched by reactions only

  absl::Mutex mu_;
  std::deque<std::shared_ptr<const v1::ToWorker>> outbox_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_LINK_H_
