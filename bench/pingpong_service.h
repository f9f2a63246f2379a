// PingPongServer: the raw baseline's server. A gRPC callback-API service that
// echoes every Frame of a PingPong.Stream back to the client, with nothing of
// aia's around it (no session thread, no algorithm, no inbox or outbox).
//
// Each stream alternates: read a Frame, write it back, read the next. The client
// does strict ping-pong (one frame outstanding), so alternating costs it nothing;
// a reaction only starts the next operation and never blocks.
//
// Example:
//   PingPongServer::Options options;
//   options.listen = "127.0.0.1:0";
//   ASSIGN_OR_RETURN(std::unique_ptr<PingPongServer> server,
//                    PingPongServer::Start(options));
//   ... connect to 127.0.0.1:server->port() ...
//
// Thread safety: Shutdown may be called from any thread, once.
#ifndef AIA_BENCH_PINGPONG_SERVICE_H_
#define AIA_BENCH_PINGPONG_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aia {
namespace bench {

class PingPongServer {
 public:
  struct Options {
    // HOST:PORT; port 0 picks a free one (see port()).
    std::string listen = "127.0.0.1:0";
    // Largest message either way; the worker daemon's default (256 MiB).
    int64_t max_message_bytes = int64_t{256} << 20;
  };

  static absl::StatusOr<std::unique_ptr<PingPongServer>> Start(const Options& options);

  ~PingPongServer();

  // The port the server listens on.
  int port() const;

  // Stops accepting streams, cancels the open ones after `grace`, and waits
  // until every stream is gone.
  void Shutdown(absl::Duration grace = absl::Seconds(1));

 private:
  class Impl;
  explicit PingPongServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bench
}  // namespace aia

#endif  // AIA_BENCH_PINGPONG_SERVICE_H_
