// Joiner: the worker daemon dialling a coordinator service (aia_worker --join):
// instead of waiting for coordinators to connect, the worker keeps `sessions`
// Coordinator.Join streams open to one coordinator (proto/coordinator.proto), each
// offering the worker for one session. A stream begins with an Offer{version,
// host, name} and waits in the service's pool, with no Setup deadline; when a run
// takes it, the service sends the Setup and the stream is a session like those of
// the worker's server (the same SessionReactor, worker/session_reactor.h), except
// that the worker ends it by half-closing the stream and the service then ends
// the call.
//
// After a session that ended normally (the service ends the call with OK), the
// next stream opens at once. A stream that cannot connect, is refused (any end
// before a Setup arrived) or breaks (any status but OK after one) opens again
// after a backoff: 0.5 s doubling to 30 s, jittered, per stream, reset when a
// Setup arrives. Each such end is logged in one line with its cause, the first
// and then at most one per backoff step.
//
// The streams share one channel: messages up to max_message_bytes, and HTTP/2
// keepalive pings every 10 s (10 s timeout, also without calls) so that a
// connection that is gone is found while a stream waits in the pool.
//
// Example:
//   Joiner::Options options;
//   options.target = "coordinator.example:7071";
//   options.credentials = security.credentials;  // TLS, a token (security/)
//   options.data_root = "/srv/data";
//   ASSIGN_OR_RETURN(std::unique_ptr<Joiner> joiner, Joiner::Start(options));
//   ...
//   joiner->Shutdown();  // the drain
//
// Thread safety: Start and Shutdown may be called from any thread.
#ifndef AIA_WORKER_JOINER_H_
#define AIA_WORKER_JOINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "metrics/worker_observer.h"
#include "worker/problem_cache.h"

namespace aia {

class Joiner {
 public:
  struct Options {
    // HOST:PORT (or any gRPC target) of the coordinator service.
    std::string target;
    // Join streams kept open at once, each waiting for (or carrying) a session.
    int sessions = 1;
    // The Offer's name (at most 256 bytes); empty: HOST:PID.
    std::string name;
    // Transport security of the channel (TLS, mutual TLS, a token's call
    // credentials); null means plaintext.
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    // The name the coordinator's certificate must carry, if not the target's host.
    std::string tls_server_name;

    // As WorkerServer::Options: data paths are resolved under data_root; the
    // largest message received or sent; the problem cache (shared with the
    // daemon's server, or null: one of the capacity and bytes given).
    std::string data_root = ".";
    int64_t max_message_bytes = int64_t{256} << 20;
    std::shared_ptr<ProblemCache> cache;
    int problem_cache_capacity = 8;
    int64_t problem_cache_bytes = int64_t{1} << 30;

    // The backoff after a failed stream: initial, doubled up to max, jittered.
    absl::Duration initial_backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Seconds(30);

    // Receives the lines about failed streams and ended sessions; null prints
    // "aia_worker: LINE" on stderr.
    std::function<void(const std::string&)> log;
    // Told of sessions (from their Setup on), answers and bytes; null: off.
    std::shared_ptr<WorkerObserver> observer;
  };

  // Validates `options` (InvalidArgument naming the field) and opens the streams.
  static absl::StatusOr<std::unique_ptr<Joiner>> Start(const Options& options);

  ~Joiner();
  Joiner(const Joiner&) = delete;
  Joiner& operator=(const Joiner&) = delete;

  // Drains: no stream opens any more and streams waiting in the pool are
  // cancelled; sessions under way finish their step, send its Answer and Leave,
  // and half-close; after `grace` they get an in-band Error ("the worker is
  // shutting down") and are cancelled a second later; then waits for their
  // worker steps to finish.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  class Impl;

 private:
  explicit Joiner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aia

#endif  // AIA_WORKER_JOINER_H_
