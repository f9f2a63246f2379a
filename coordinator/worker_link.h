// WorkerLink: the coordinator's end of one worker's session over a gRPC stream (a
// Link, coordinator/link.h).
//
// gRPC's threads run the reactions: they decode each FromWorker message and push
// it as an Event; they never wait for the central loop. The central loop sends
// with Send(), which queues the message's wire form (Outgoing::Bytes(), made
// before the lock: one serialization for every link that sends it) and keeps one
// write in flight. The stream is aia.v1.Worker/Session through a generic stub, so
// that what is written is those bytes, not a message gRPC serializes again.
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
#include "base/write_queue.h"
#include "coordinator/link.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "proto/worker.grpc.pb.h"

namespace aia {

class WorkerLink final : public Link,
                         public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // `worker` and `link_id` are reported in events; `stub` (on the worker's
  // channel) and `events` must outlive the link.
  WorkerLink(int worker, int link_id, grpc::GenericStub* stub, EventQueue* events);

  void Start(std::shared_ptr<const Outgoing> first) override;
  void Send(std::shared_ptr<const Outgoing> message) override;
  void Close() override;
  void Cancel() override;
  bool AwaitDone(absl::Time deadline) override;
  absl::Time last_received() const override;
  void SendHeartbeat() override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  // Queues `message`, writing it at once if no write is in flight.
  void WriteLocked(grpc::ByteBuffer bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Half-closes once closing and nothing is left to write.
  void MaybeWritesDoneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Lets the call end (OnDone) once its operations are done; idempotent.
  void ReleaseHoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int worker_;
  const int link_id_;
  grpc::GenericStub* const stub_;
  EventQueue* const events_;
  grpc::ClientContext context_;
  grpc::ByteBuffer incoming_;  // the read in flight; touched by reactions only
  // SteadyNow() of the last message received, in nanoseconds since its epoch.
  std::atomic<int64_t> last_received_ns_;

  absl::Mutex mu_;
  WriteQueue<grpc::ByteBuffer> outbox_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // the stream exists and has the Setup
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;  // Setup and queries sent
  int64_t replies_ ABSL_GUARDED_BY(mu_) = 0;   // messages received but heartbeats
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool writes_done_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_LINK_H_
