// WorkerSession: the worker's side of one run, independent of the transport. The
// gRPC server (worker_server.cc) feeds it the messages of a Session stream; the
// coordinator's in-process mode (--in_process) feeds it directly.
//
//   Setup  -> builds (or takes from the cache) the problem and the plugin -> Ready
//   Query  -> the plugin's worker step                                    -> Answer
//   Stop   -> nothing; the session is over
//   Heartbeat -> nothing (liveness is the server's business)
//   anything else, or any failure                                       -> Error; over
//
// Example:
//   WorkerSession session(data_root, &cache);
//   std::optional<WorkerReply> reply = session.Handle(message);
//   if (reply) Send(WireForm(reply->message, reply->answer_payload));
//   if (session.done()) Close();
//
// Thread safety: not thread-safe; one thread handles a session's messages in order.
#ifndef AIA_WORKER_SESSION_H_
#define AIA_WORKER_SESSION_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "algorithms/algorithm.h"
#include "problems/problem.h"
#include "proto/worker.pb.h"
#include "worker/problem_cache.h"

namespace aia {

// A reply to the coordinator. An Answer's payload is `answer_payload` (the
// step's own bytes, sent without a copy: worker/wire_form.h), not in the message.
struct WorkerReply {
  v1::FromWorker message;
  Payload answer_payload;

  // The message with the payload in it (a copy), for a coordinator in the same
  // process.
  v1::FromWorker Whole() const;
};

class WorkerSession {
 public:
  // `cache` must outlive the session; the session returns its problem to it.
  WorkerSession(std::string data_root, ProblemCache* cache);
  ~WorkerSession();

  // The reply to `message`, if any. After an Error reply or a Stop the session is
  // done and answers nothing more.
  std::optional<WorkerReply> Handle(const v1::ToWorker& message);
  bool done() const { return done_; }
  // The full text of the error that ended the session, for the worker's own log
  // (the Error sent on the wire has the data root and line contents left out).
  const std::string& error() const { return error_; }

 private:
  absl::Status HandleSetup(const v1::Setup& setup, v1::FromWorker& reply);
  absl::Status HandleQuery(const v1::Query& query, WorkerReply& reply);

  // The simulated straggler delay after an answer (0 without a model).
  double StragglerDelay();

  const std::string data_root_;
  ProblemCache* const cache_;
  int64_t max_message_bytes_ = 0;  // the Setup's; 0: no bound but the daemon's
  v1::Stragglers stragglers_;
  uint64_t straggler_state_ = 0;
  std::unique_ptr<Algorithm> algorithm_;
  std::unique_ptr<Problem> problem_;
  std::string cache_key_;
  bool done_ = false;
  std::string error_;
};

// An error text fit for a client: `data_root` replaced by "<data_root>", invalid
// UTF-8 replaced by '?', at most 4096 bytes.
std::string WireReason(absl::string_view reason, absl::string_view data_root);

// A delay drawn from the Lomax (Pareto II) distribution, P(delay > t) =
// (1 + t / scale_s)^-shape, advancing the generator `state`; 0 if shape or scale_s
// is not positive. The straggler model of RunConfig.stragglers.
double LomaxDelay(uint64_t& state, double shape, double scale_s);

}  // namespace aia

#endif  // AIA_WORKER_SESSION_H_
