// Outgoing: a message for workers and its wire form, serialized at most once
// however many streams send it (a synchronous round's query goes to every
// worker; a heartbeat to all of them).
//
// Bytes() gives the gRPC form, built outside any stream's lock: a copy of one
// serialization made at the first call, whose slices every copy shares; for a
// query with a payload of kZeroCopyBytes or more, no serialization at all — a few header bytes and
// a slice that points at the payload itself, which keeps this message alive for
// as long as gRPC holds it. So a broadcast of an 8 MB query costs no copy of it
// on the coordinator, whatever the number of workers.
//
// Example:
//   auto query = std::make_shared<const Outgoing>(std::move(to_worker));
//   for (Link* link : links) link->Send(query);
//
// Thread safety: const methods may be called from any thread; create it with
// std::make_shared (Bytes() of a large query refers to the owning shared_ptr).
#ifndef AIA_COORDINATOR_OUTGOING_H_
#define AIA_COORDINATOR_OUTGOING_H_

#include <cstddef>
#include <memory>

#include "absl/base/call_once.h"
#include "base/wire_bytes.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/worker.pb.h"

namespace aia {

class Outgoing : public std::enable_shared_from_this<Outgoing> {
 public:
  explicit Outgoing(v1::ToWorker message) : message_(std::move(message)) {}
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  const v1::ToWorker& message() const { return message_; }
  // The wire form (a ToWorker as protobuf serializes it), for one write.
  grpc::ByteBuffer Bytes() const;

 private:
  const v1::ToWorker message_;
  mutable absl::once_flag once_;
  mutable grpc::ByteBuffer serialized_;  // set once, then only copied
};

}  // namespace aia

#endif  // AIA_COORDINATOR_OUTGOING_H_
