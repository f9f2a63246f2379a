// SessionReactor: one session of the worker daemon over one gRPC stream, whichever
// side opened it. The session rules (proto/worker.proto: Setup first, Ready, one
// outstanding query, answers in order, heartbeats, liveness, limits, how a
// session ends, the drain's Leave) are kept here once, for two transports:
//
//   - the server stream of Worker.Session (worker_server.cc): a coordinator dialled
//     the worker; the session ends with Finish(status);
//   - the client stream of Coordinator.Join (joiner.cc): the worker dialled the
//     coordinator and offered itself; the session ends by half-closing the stream
//     (StartWritesDone), then the service ends the call.
//
// A transport derives from its gRPC reactor and from SessionReactor, forwards the
// reactions (OnReadDone, OnWriteDone, OnCancel, OnDone) to ReadDone, WriteDone,
// Cancelled and Done, and implements the four stream operations (StartReadOp,
// StartWriteOp, EndStreamOp, CancelStreamOp) on raw bytes: the session parses what
// it reads and writes each message's wire form, an answer's large payload from its
// own memory (base/wire_bytes.h), never serialized under the session's lock by
// gRPC. gRPC's reactions only move messages
// between the stream and a bounded inbox/outbox; once the Setup arrives a thread of
// the session's own handles the inbox, so a long worker step never blocks gRPC.
//
// SessionHost: what the sessions of one front end (the server, or the joiner)
// share: the problem cache, the observer, the log, the set of sessions, and one
// ticker thread that sends heartbeats and enforces the Setup deadline, the
// coordinator's liveness and the write stall bound; plus the drain (LeaveAll,
// EndAll, CancelAll, AwaitNoSessions).
//
// Example (a transport):
//   class MyReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
//                     public SessionReactor {
//     void OnReadDone(bool ok) override { ReadDone(ok); }
//     ...
//     void StartReadOp(grpc::ByteBuffer* bytes) override { StartRead(bytes); }
//   };
//
// Thread safety: SessionHost's methods may be called from any thread. A
// SessionReactor's state is guarded by its mutex; the stream operations are
// called with it held (gRPC's Start* calls never run a reaction inline: the
// callback API's reactions are not inlineable). The object deletes itself once
// gRPC (Done), its thread and any ticker pass are finished with it.
#ifndef AIA_WORKER_SESSION_REACTOR_H_
#define AIA_WORKER_SESSION_REACTOR_H_

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "algorithms/payload.h"
#include "base/write_queue.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "metrics/worker_observer.h"
#include "proto/worker.pb.h"
#include "worker/problem_cache.h"

namespace aia {

class SessionReactor;

class SessionHost {
 public:
  struct Options {
    // Data file paths in Setups are resolved under this directory.
    std::string data_root = ".";
    // Built problems kept for later runs; never null (shared by the front ends
    // of one daemon).
    std::shared_ptr<ProblemCache> cache;
    // Sessions open at once; one more is refused with RESOURCE_EXHAUSTED. 0: no
    // bound (the joiner bounds its streams itself).
    int max_sessions = 0;
    // The time a stream has to send its Setup (infinite: none).
    absl::Duration setup_deadline = absl::InfiniteDuration();
    // Receives a line per refused or ended session; null prints "aia_worker: LINE"
    // on stderr.
    std::function<void(const std::string&)> log;
    // Told of sessions, answers and bytes; null: off.
    std::shared_ptr<WorkerObserver> observer;
  };

  explicit SessionHost(Options options);
  ~SessionHost();  // stops the ticker; the sessions must be gone
  SessionHost(const SessionHost&) = delete;
  SessionHost& operator=(const SessionHost&) = delete;

  const Options& options() const { return options_; }
  ProblemCache& cache() { return *options_.cache; }
  WorkerObserver* observer() const { return options_.observer.get(); }
  void ReportCache();
  void Log(const std::string& line) const;

  // Registers `session`; false with the status to refuse it with when the host is
  // full or draining (the refusal is reported to the observer).
  bool Admit(SessionReactor* session, grpc::Status* refusal);
  // Forgets `session` (about to be deleted).
  void Unregister(SessionReactor* session);
  // A registered session's object is gone.
  void SessionGone();

  void StartTicker();
  void StopTicker();
  // From now on, sessions are refused.
  void BeginDrain();
  // Asks every session to leave after its step in progress.
  void LeaveAll();
  // Ends every session with an in-band Error carrying `status`, then `status`.
  void EndAll(const grpc::Status& status);
  // Cancels every session's stream.
  void CancelAll();
  // Waits until every session's object and thread are gone; false on timeout.
  bool AwaitNoSessions(absl::Duration timeout);

 private:
  void TickerLoop();
  // The registered sessions, each with a reference taken (release with Unref).
  std::vector<SessionReactor*> Snapshot();

  const Options options_;
  absl::Mutex mu_;
  std::set<SessionReactor*> sessions_ ABSL_GUARDED_BY(mu_);
  int objects_ ABSL_GUARDED_BY(mu_) = 0;  // registered session objects not yet deleted
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ticker_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

class SessionReactor {
 public:
  virtual ~SessionReactor() = default;
  SessionReactor(const SessionReactor&) = delete;
  SessionReactor& operator=(const SessionReactor&) = delete;

  // Adds a reference unless the object is already on its way out.
  bool TryRef();
  // Releases a reference; the last one deletes the object.
  void Unref();

  // The ticker's visit: a heartbeat when one is due; the end of a session whose
  // Setup or coordinator is overdue, or whose write stalls.
  void Tick(absl::Time now);
  // A drain starts: the session leaves once the step in progress, or the query it
  // has received, is answered (at once if there is none), with Leave and an OK
  // end. A stream still waiting for its Setup ends at once.
  void Leave();
  // Ends the session from outside (a drain's grace is over): an in-band Error,
  // then `status`.
  void End(const grpc::Status& status);
  // Cancels the stream (the drain's last resort).
  void Cancel();

 protected:
  enum class Transport {
    kServer,  // Worker.Session: Finish(status); a Setup deadline; counted from the start
    kJoin,    // Coordinator.Join: half-close; a session from its Setup on
  };

  // `peer` names the other side in the log.
  SessionReactor(SessionHost* host, Transport transport, std::string peer);

  // Called once by the transport's constructor, before the call starts (a client)
  // or returns to gRPC (a server): admits the session or ends the stream with the
  // refusal, sends `first` if any, and starts reading.
  void Begin(std::optional<v1::FromWorker> first = std::nullopt);

  // Reactions, forwarded by the transport.
  void ReadDone(bool ok);
  void WriteDone(bool ok);
  void Cancelled();  // the call was cancelled (a server's OnCancel)
  void Done();       // gRPC is done with the stream (OnDone); may delete the object

  // True once a Setup arrived (the stream carries a session).
  bool setup_received();

  // The stream operations, called with mu_ held.
  virtual void StartReadOp(grpc::ByteBuffer* bytes) = 0;
  virtual void StartWriteOp(const grpc::ByteBuffer* bytes) = 0;
  // Ends the stream: no operation is in flight but perhaps a read. `status` is
  // the session's end (a server finishes with it).
  virtual void EndStreamOp(const grpc::Status& status) = 0;
  virtual void CancelStreamOp() = 0;

  SessionHost* const host_;
  const Transport transport_;
  const std::string peer_;

 private:
  std::string TickLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The session thread: handles messages in order until the session is done, the
  // stream ends or the session is stopped.
  void Run();
  // `answer_payload`: an answer's payload, kept out of the message.
  void SendLocked(const v1::FromWorker& message, const Payload& answer_payload = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records why the session ends, for the observer; the first cause stands.
  void NoteEndLocked(SessionEnd cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The session is one for the observer from now on.
  void ReportStartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopWorkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LeaveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndLocked(const grpc::Status& status, bool send_error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool CanTakeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Time created_;  // SteadyNow()
  const absl::Duration setup_deadline_;
  bool admitted_ = false;
  absl::Notification interrupt_;

  absl::Mutex mu_;
  grpc::ByteBuffer incoming_bytes_;  // the read in flight
  v1::ToWorker incoming_;            // what it held
  std::deque<v1::ToWorker> inbox_ ABSL_GUARDED_BY(mu_);
  WriteQueue<grpc::ByteBuffer> outbox_ ABSL_GUARDED_BY(mu_);
  absl::Duration heartbeat_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Duration liveness_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time last_received_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);  // of the write in flight
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  std::optional<SessionEnd> end_cause_ ABSL_GUARDED_BY(mu_);  // for the observer
  bool reported_ ABSL_GUARDED_BY(mu_) = false;                // SessionStarted was told
  bool read_paused_ ABSL_GUARDED_BY(mu_) = false;
  bool input_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool thread_started_ ABSL_GUARDED_BY(mu_) = false;
  bool step_in_progress_ ABSL_GUARDED_BY(mu_) = false;  // the thread handles a message
  bool leaving_ ABSL_GUARDED_BY(mu_) = false;           // a drain asked it to leave
  bool thread_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // EndStreamOp was called
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's, until Done; +1 for the thread
};

}  // namespace aia

#endif  // AIA_WORKER_SESSION_REACTOR_H_
