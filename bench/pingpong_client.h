// RunPingPong: the raw baseline's client. Opens one bidirectional PingPong
// stream per server address, from this one process, and echoes payloads on
// all of them in one of two modes, the raw counterparts of aia's:
//
//   asynchronous  every stream does strict ping-pong on its own: send a
//                 payload, wait for its echo, send again. One message is
//                 outstanding per stream, as in an asynchronous aia run with
//                 one query per worker.
//   synchronous   rounds: the payload goes out on every stream at once, and the
//                 next round starts when all W echoes are back, as a
//                 synchronous aia round (broadcast, wait for every answer).
//
// The streams use gRPC's callback API (ClientBidiReactor), as the coordinator's
// WorkerLink does, but the next payload is written from the read reaction itself
// (no central thread, no queue) and the same request Frame is reused: this is
// the lower bound of what gRPC costs per round trip on the machine.
//
// Timing: every stream first exchanges one empty frame (as aia's Setup/Ready),
// then the clock runs from the first payload sent to the last echo received.
// Asynchronous: `count` round trips in total, each stream taking the next one as
// it finishes its previous one. Synchronous: `count` rounds of W round trips.
// With a `min_duration`, round trips (rounds) keep being handed out past `count`
// until that long has passed since the first payload: a run bounded in time
// whose count is then known (to give another side the same count).
//
// Example:
//   PingPongOptions options;
//   options.addresses = {"127.0.0.1:7070"};
//   options.payload_bytes = 80;
//   options.count = 20000;
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

enum class PingPongMode { kAsynchronous, kSynchronous };

struct PingPongOptions {
  // PingPong servers (HOST:PORT); one channel and one stream each.
  std::vector<std::string> addresses;
  // Bytes in every payload.
  int64_t payload_bytes = 80;
  PingPongMode mode = PingPongMode::kAsynchronous;
  // Round trips over all streams (asynchronous) or rounds (synchronous); >= 1.
  int64_t count = 1000;
  // Zero: exactly `count`. Else at least `count`, and more until this long has
  // passed since the first payload.
  absl::Duration min_duration = absl::ZeroDuration();
  // Largest message either way, as the coordinator's channels set it.
  int64_t max_message_bytes = int64_t{256} << 20;
  // Bound on connecting, and on the whole exchange.
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration run_timeout = absl::Minutes(10);
};

struct PingPongResult {
  // Echoes received over all streams.
  int64_t round_trips = 0;
  // Synchronous: rounds completed (round_trips / streams); 0 when asynchronous.
  int64_t rounds = 0;
  // From the first payload sent to the last echo received.
  double elapsed_s = 0;
  // Round trips per stream.
  std::vector<int64_t> per_stream;
  // CPU seconds of this whole process (every thread; getrusage RUSAGE_SELF)
  // from the first payload until every stream has ended.
  double cpu_s = 0;
};

// InvalidArgument for bad options, Unavailable when a server cannot be reached
// or a stream fails, DataLoss when an echo differs in size from its payload,
// DeadlineExceeded past `run_timeout`.
absl::StatusOr<PingPongResult> RunPingPong(const PingPongOptions& options);

}  // namespace bench
}  // namespace aia

#endif  // AIA_BENCH_PINGPONG_CLIENT_H_
