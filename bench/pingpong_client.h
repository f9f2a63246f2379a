// RunPingPong: the raw baseline's client. Opens one bidirectional PingPong
// stream per server address, from this one process, and runs strict ping-pong
// on every stream at once: send a payload, wait for its echo, send again. Each
// stream has one message outstanding, the same concurrency as an asynchronous
// aia run with one query per worker.
//
// The streams use gRPC's callback API (ClientBidiReactor), as the coordinator's
// WorkerLink does, but the next payload is written from the read reaction itself
// (no central thread, no queue) and the same request Frame is reused: this is
// the lower bound of what gRPC costs per round trip on the machine.
//
// Timing: every stream first exchanges one empty frame (as aia's Setup/Ready),
// then the clock runs from the first payload sent to the last echo received.
// Exactly `round_trips` payloads are echoed in total, each stream taking the
// next one as it finishes its previous one.
//
// Example:
//   PingPongOptions options;
//   options.addresses = {"127.0.0.1:7070"};
//   options.payload_bytes = 80;
//   options.round_trips = 20000;
//   ASSIGN_OR_RETURN(PingPongResult result, RunPingPong(options));
//   double per_second = result.round_trips / result.elapsed_s;
//
// Thread safety: RunPingPong may run on several threads at once.
#ifndef AIA_BENCH_PINGPONG_CLIENT_H_
#define AIA_BENCH_PINGPONG_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aia {
namespace bench {

struct PingPongOptions {
  // PingPong servers (HOST:PORT); one channel and one stream each.
  std::vector<std::string> addresses;
  // Bytes in every payload.
  int64_t payload_bytes = 80;
  // Round trips in total over all streams (>= 1).
  int64_t round_trips = 1000;
  // Largest message either way, as the coordinator's channels set it.
  int64_t max_message_bytes = int64_t{256} << 20;
  // Bound on connecting, and on the whole exchange.
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration run_timeout = absl::Minutes(10);
};

struct PingPongResult {
  int64_t round_trips = 0;
  // From the first payload sent to the last echo received.
  double elapsed_s = 0;
  // Round trips per stream.
  std::vector<int64_t> per_stream;
};

// InvalidArgument for bad options, Unavailable when a server cannot be reached
// or a stream fails, DataLoss when an echo differs in size from its payload,
// DeadlineExceeded past `run_timeout`.
absl::StatusOr<PingPongResult> RunPingPong(const PingPongOptions& options);

}  // namespace bench
}  // namespace aia

#endif  // AIA_BENCH_PINGPONG_CLIENT_H_
