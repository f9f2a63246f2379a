// JoinStream: the service's end of one Coordinator.Join stream (the rules:
// proto/coordinator.proto): a worker daemon that dialled the service, waiting in
// the pool after its Offer, and then — once a run takes it for a slot — the run's
// Link to that worker (JoinedLink), exactly like a dialled worker's WorkerLink
// but over the worker's own connection.
//
//   Offer arrives        -> JoinPool::Offered (the worker is free)
//   the stream ends idle -> JoinPool::Gone
//   a run takes it       -> OpenLink(): the Setup goes out; every message then
//                           becomes an Event of the run, the end a kClosed Event
//
// Thread safety: the Link calls may come from any thread; gRPC runs the
// reactions. A JoinStream is shared (std::shared_ptr) by the pool, the run's link
// and itself until its call is done.
#ifndef AIA_COORDINATOR_SERVICE_JOIN_STREAM_H_
#define AIA_COORDINATOR_SERVICE_JOIN_STREAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/write_queue.h"
#include "coordinator/link.h"
#include "grpcpp/grpcpp.h"
#include "proto/coordinator.grpc.pb.h"

namespace aia {

class JoinStream;

// The settings of a server that takes Join streams (aia serve, aia run's ssh
// workers): messages up to `max_message_bytes` both ways, and the HTTP/2
// keepalive of proto/coordinator.proto (joined workers ping every 10 s while they
// wait, one ping per 5 s allowed; the server pings them every 20 s too), so that
// each side finds a connection that is gone.
void ConfigureJoinServer(grpc::ServerBuilder& builder, int64_t max_message_bytes);

// aia.v1.Coordinator with every method a callback and Join raw (ByteBuffers, as
// JoinStream serves it): the base of the services that take Join streams.
using CoordinatorCallbackService = v1::Coordinator::WithCallbackMethod_SubmitRun<
    v1::Coordinator::WithCallbackMethod_WatchRun<v1::Coordinator::WithCallbackMethod_CancelRun<
        v1::Coordinator::WithCallbackMethod_ListRuns<v1::Coordinator::WithCallbackMethod_GetRun<
            v1::Coordinator::WithCallbackMethod_ListWorkers<
                v1::Coordinator::WithRawCallbackMethod_Join<v1::Coordinator::Service>>>>>>>;

// Where joined workers wait (the service's WorkerDirectory).
class JoinPool {
 public:
  virtual ~JoinPool() = default;
  // `stream` offered itself; returns the refusal (non-OK) to end it with.
  virtual grpc::Status Offered(std::shared_ptr<JoinStream> stream, const v1::Offer& offer) = 0;
  // `stream`, offered before, ended before a run took it.
  virtual void Gone(JoinStream* stream) = 0;
};

// The stream is served raw (ByteBuffers; the services derive from
// WithRawCallbackMethod_Join): messages to the worker are written as their
// Outgoing::Bytes(), serialized once for every stream that sends them.
class JoinStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                         public std::enable_shared_from_this<JoinStream> {
 public:
  // A new stream (it owns itself until its call is done), reading the Offer;
  // `pool` must outlive every stream.
  static JoinStream* Create(grpc::CallbackServerContext* context, JoinPool* pool);
  JoinStream(grpc::CallbackServerContext* context, JoinPool* pool);

  // The worker's address as the service sees it ("ipv4:10.0.0.2:51234").
  const std::string& peer() const { return peer_; }

  // A Link to this worker for slot `slot` of a run, reporting into `events`.
  // Sends nothing yet: the link's Start sends the Setup.
  static std::unique_ptr<Link> OpenLink(std::shared_ptr<JoinStream> stream, int slot,
                                        int link_id, EventQueue* events);

  // Ends the call (CANCELLED): a session abandoned, or the service stopping.
  void Cancel();

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  friend class JoinedLink;

  enum class Phase { kOffer, kWaiting, kSession };

  void StartSession(int slot, int link_id, EventQueue* events,
                    std::shared_ptr<const Outgoing> setup);
  void Send(std::shared_ptr<const Outgoing> message);
  void Close();
  bool AwaitDone(absl::Time deadline);
  absl::Time last_received() const;
  void SendHeartbeat();

  void WriteLocked(grpc::ByteBuffer bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends the call with `status` once no write is in flight.
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PushLocked(Event event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  JoinPool* const pool_;
  const std::string peer_;
  grpc::ByteBuffer incoming_bytes_;  // the read in flight; touched by reactions only
  v1::FromWorker incoming_;          // what it held
  std::atomic<int64_t> last_received_ns_;
  std::shared_ptr<JoinStream> self_;  // until OnDone

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kOffer;
  int slot_ ABSL_GUARDED_BY(mu_) = -1;
  int link_id_ ABSL_GUARDED_BY(mu_) = 0;
  EventQueue* events_ ABSL_GUARDED_BY(mu_) = nullptr;
  WriteQueue<grpc::ByteBuffer> outbox_ ABSL_GUARDED_BY(mu_);
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t replies_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;     // the run sent its last message
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;  // the worker half-closed (or broke)
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_JOIN_STREAM_H_
