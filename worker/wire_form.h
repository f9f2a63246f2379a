// The wire form of what a worker sends. An answer's payload is kept out of its
// message (the step's own bytes, never copied into a protobuf string): protobuf's
// encoding of the Answer's other fields is written by hand around it; a payload
// under kZeroCopyBytes (base/wire_bytes.h) is copied into the one slice, a larger
// one is lent to gRPC from its own memory (the slice keeps it alive). Anything
// else is serialized. Cheap either way, so the session makes it under its lock.
#ifndef AIA_WORKER_WIRE_FORM_H_
#define AIA_WORKER_WIRE_FORM_H_

#include "algorithms/payload.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/worker.pb.h"

namespace aia {

// `message` as protobuf serializes it, its answer's payload being
// `answer_payload` (the message's own answer payload must be empty).
grpc::ByteBuffer WireForm(const v1::FromWorker& message, const Payload& answer_payload = {});

}  // namespace aia

#endif  // AIA_WORKER_WIRE_FORM_H_
