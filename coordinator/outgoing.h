// Outgoing: a message for workers and its wire form, serialized at most once
// however many streams send it (a synchronous round's query goes to every
// worker; a heartbeat to all of them).
//
// A query's payload is not in the message: it is the Payload the algorithm's step
// returned, and its bytes are never copied into a protobuf string. Bytes() gives
// the gRPC form, built once outside any stream's lock, whose slices every copy
// shares: for a query, protobuf's encoding of the Query's other fields written by
// hand, then the payload — copied into the one slice when small, and for
// kZeroCopyBytes or more a slice that points at the payload's own memory and
// keeps it alive for as long as gRPC holds it. So a broadcast of an 8 MB query
// costs no copy of it on the coordinator, whatever the number of workers.
//
// Example:
//   auto query = std::make_shared<const Outgoing>(std::move(to_worker), std::move(payload));
//   for (Link* link : links) link->Send(query);
//
// Thread safety: const methods may be called from any thread.
#ifndef AIA_COORDINATOR_OUTGOING_H_
#define AIA_COORDINATOR_OUTGOING_H_

#include <memory>

#include "absl/base/call_once.h"
#include "absl/strings/string_view.h"
#include "algorithms/payload.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/worker.pb.h"

namespace aia {

class Outgoing {
 public:
  // Any message but a query.
  explicit Outgoing(v1::ToWorker message) : message_(std::move(message)) {}
  // A query: `message` has its Query's id and iteration, and no payload.
  Outgoing(v1::ToWorker message, Payload query_payload)
      : message_(std::move(message)), query_payload_(std::move(query_payload)) {}
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  // The message; a query's payload is query_payload(), not in it.
  const v1::ToWorker& message() const { return message_; }
  const Payload& query_payload() const { return query_payload_; }
  // The whole message with the payload in it (a copy of the payload), for a
  // worker in the same process.
  v1::ToWorker WholeMessage() const;
  // The wire form (a ToWorker as protobuf serializes it), for one write.
  grpc::ByteBuffer Bytes() const;

 private:
  const v1::ToWorker message_;
  const Payload query_payload_;
  mutable absl::once_flag once_;
  mutable grpc::ByteBuffer serialized_;  // set once, then only copied
};

}  // namespace aia

#endif  // AIA_COORDINATOR_OUTGOING_H_
