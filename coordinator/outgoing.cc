#include "coordinator/outgoing.h"

#include <cstdint>
#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/slice.h"

namespace aia {
namespace {

using ::google::protobuf::io::CodedOutputStream;
using ::google::protobuf::internal::WireFormatLite;

// Appends a field's tag, then `value` as a varint.
void PutVarintField(int field, uint64_t value, std::string& out) {
  uint8_t buffer[2 * 10];
  uint8_t* end = CodedOutputStream::WriteVarint32ToArray(
      WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_VARINT), buffer);
  end = CodedOutputStream::WriteVarint64ToArray(value, end);
  out.append(reinterpret_cast<const char*>(buffer), end - buffer);
}

// Appends a length-delimited field's tag and length.
void PutLengthDelimited(int field, uint64_t length, std::string& out) {
  uint8_t buffer[2 * 10];
  uint8_t* end = CodedOutputStream::WriteVarint32ToArray(
      WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), buffer);
  end = CodedOutputStream::WriteVarint64ToArray(length, end);
  out.append(reinterpret_cast<const char*>(buffer), end - buffer);
}

void ReleaseOwner(void* owner) { delete static_cast<std::shared_ptr<const Outgoing>*>(owner); }

}  // namespace

grpc::ByteBuffer Outgoing::Bytes() const {
  const v1::Query& query = message_.query();
  if (message_.has_query() && query.payload().size() >= kZeroCopyBytes) {
    // Protobuf's own encoding, written by hand around the payload: fields in
    // number order, proto3 defaults left out (outgoing_test checks the bytes).
    std::string inner;
    if (query.id() != 0) PutVarintField(v1::Query::kIdFieldNumber, query.id(), inner);
    if (query.iteration() != 0) {
      PutVarintField(v1::Query::kIterationFieldNumber, static_cast<uint64_t>(query.iteration()),
                     inner);
    }
    PutLengthDelimited(v1::Query::kPayloadFieldNumber, query.payload().size(), inner);
    std::string header;
    PutLengthDelimited(v1::ToWorker::kQueryFieldNumber, inner.size() + query.payload().size(),
                       header);
    header += inner;
    grpc::Slice slices[2] = {
        grpc::Slice(header),
        grpc::Slice(const_cast<char*>(query.payload().data()), query.payload().size(),
                    ReleaseOwner, new std::shared_ptr<const Outgoing>(shared_from_this()))};
    return grpc::ByteBuffer(slices, 2);
  }
  absl::call_once(once_, [this] {
    bool own = false;
    grpc::SerializationTraits<v1::ToWorker>::Serialize(message_, &serialized_, &own);
  });
  return serialized_;
}

}  // namespace aia
