// Pieces for sending a protobuf message whose large bytes field is not copied:
// protobuf's encoding of the fields around it, written by hand, and a gRPC slice
// that points at the field's own memory (coordinator/outgoing.h for queries,
// worker/wire_form.h for answers).
#ifndef AIA_BASE_WIRE_BYTES_H_
#define AIA_BASE_WIRE_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace aia {

// Payloads from this size on are sent from their own memory, not copied.
inline constexpr size_t kZeroCopyBytes = size_t{64} << 10;

// Append protobuf's encoding of a field (its tag, then the value) to `out`.
void AppendVarintField(int field, uint64_t value, std::string& out);
void AppendFixed64Field(int field, uint64_t bits, std::string& out);
// The tag and length of a length-delimited field, without its bytes.
void AppendLengthDelimitedHeader(int field, uint64_t length, std::string& out);

// A slice over `bytes` that gRPC sends without copying; `owner` (which holds the
// memory) lives as long as gRPC holds the slice.
grpc::Slice ZeroCopySlice(absl::string_view bytes, std::shared_ptr<const void> owner);

// `head`, then `payload`, then `tail`, as one buffer: a payload under
// kZeroCopyBytes copied into a single slice, a larger one lent from its own memory
// (held by `owner`) between the head's and the tail's slices.
grpc::ByteBuffer FramedBytes(std::string head, absl::string_view payload,
                             std::shared_ptr<const void> owner, absl::string_view tail = {});

// The bytes of `buffer` in one string (a copy): what the wire carries.
std::string Flatten(const grpc::ByteBuffer& buffer);

}  // namespace aia

#endif  // AIA_BASE_WIRE_BYTES_H_
