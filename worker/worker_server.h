// WorkerServer: the worker daemon's gRPC server (service aia.v1.Worker).
//
// Each run opens one bidirectional Session stream (the rules: proto/worker.proto).
// The first message is a Setup:
// the server builds (or takes from its cache) the problem for this worker's shard
// and the algorithm plugin, and answers Ready; then it answers each Query with the
// plugin's worker step, in order, until Stop or the stream ends. Every failure of
// a session (bad Setup, missing data, a failing step, a message out of order) is
// sent to the coordinator as an Error with the reason, and ends that session only;
// the daemon serves run after run.
//
// Example:
//   WorkerServer::Options options;
//   options.listen = "127.0.0.1:0";
//   options.data_root = "/srv/data";
//   ASSIGN_OR_RETURN(std::unique_ptr<WorkerServer> server, WorkerServer::Start(options));
//   printf("port %d\n", server->port());
//   ...
//   server->Shutdown();
//
// The sessions themselves (worker/session_reactor.h) are the same as those the
// worker opens by joining a coordinator (worker/joiner.h).
//
// Threads: a session has a thread of its own once its Setup arrived (worker steps
// never run on gRPC's threads); one ticker thread sends every session's
// heartbeats and enforces the Setup deadline and the coordinator's liveness.
//
// Thread safety: Start, port and Shutdown may be called from any thread.
#ifndef AIA_WORKER_WORKER_SERVER_H_
#define AIA_WORKER_WORKER_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"
#include "metrics/worker_observer.h"
#include "worker/problem_cache.h"

namespace aia {

class WorkerServer {
 public:
  struct Options {
    // HOST:PORT to listen on; port 0 picks a free port.
    std::string listen = "127.0.0.1:0";
    // Data file paths in Setups are resolved under this directory.
    std::string data_root = ".";
    // Largest message received or sent.
    int64_t max_message_bytes = int64_t{256} << 20;
    // Built problems kept for later runs, and the memory they may hold.
    int problem_cache_capacity = 8;
    int64_t problem_cache_bytes = int64_t{1} << 30;
    // A cache shared with the daemon's other front end (a Joiner); null: one of
    // the capacity and bytes above.
    std::shared_ptr<ProblemCache> cache;
    // Transport security of the listening port (TLS, mutual TLS, a token processor);
    // null means plaintext.
    std::shared_ptr<grpc::ServerCredentials> credentials;

    // Bounds on what a client can cost the daemon (a hostile or broken one
    // included): sessions open at once (one more is refused with
    // RESOURCE_EXHAUSTED; each running session has one thread), the time a new
    // stream has to send its Setup, the time a connection has to finish its TLS
    // and HTTP/2 handshake, and how long a connection without a call is kept.
    int max_sessions = 32;
    absl::Duration setup_deadline = absl::Seconds(10);
    absl::Duration handshake_timeout = absl::Seconds(10);
    absl::Duration idle_timeout = absl::Seconds(120);

    // Receives a line per refused or ended session (peer address and why); null
    // prints "aia_worker: LINE" on stderr.
    std::function<void(const std::string&)> log;

    // Told of sessions, answers and bytes (metrics/worker_observer.h); null: off.
    std::shared_ptr<WorkerObserver> observer;
  };

  static absl::StatusOr<std::unique_ptr<WorkerServer>> Start(const Options& options);

  ~WorkerServer();
  WorkerServer(const WorkerServer&) = delete;
  WorkerServer& operator=(const WorkerServer&) = delete;

  // The port bound.
  int port() const;
  // Drains: health turns NOT_SERVING and new sessions are refused; running
  // sessions get `grace` to end, then an in-band Error ("the worker is shutting
  // down") before they are cancelled; then waits for their worker steps to finish.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  class Impl;

 private:
  explicit WorkerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aia

#endif  // AIA_WORKER_WORKER_SERVER_H_
