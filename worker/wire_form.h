// The wire form of what a worker sends: an answer's payload of kZeroCopyBytes or
// more (base/wire_bytes.h) from its own memory, with protobuf's encoding written
// around it (the buffer keeps the message alive as long as gRPC holds it);
// anything else serialized. Cheap either way, so the session makes it under its
// lock.
#ifndef AIA_WORKER_WIRE_FORM_H_
#define AIA_WORKER_WIRE_FORM_H_

#include "grpcpp/support/byte_buffer.h"
#include "proto/worker.pb.h"

namespace aia {

grpc::ByteBuffer WireForm(v1::FromWorker message);

}  // namespace aia

#endif  // AIA_WORKER_WIRE_FORM_H_
