#include "coordinator/outgoing.h"

#include <string>

#include "base/wire_bytes.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace aia {

grpc::ByteBuffer Outgoing::Bytes() const {
  const v1::Query& query = message_.query();
  if (message_.has_query() && query.payload().size() >= kZeroCopyBytes) {
    // Protobuf's own encoding, written by hand around the payload: fields in
    // number order, proto3 defaults left out (outgoing_test checks the bytes).
    std::string inner;
    if (query.id() != 0) AppendVarintField(v1::Query::kIdFieldNumber, query.id(), inner);
    if (query.iteration() != 0) {
      AppendVarintField(v1::Query::kIterationFieldNumber,
                        static_cast<uint64_t>(query.iteration()), inner);
    }
    AppendLengthDelimitedHeader(v1::Query::kPayloadFieldNumber, query.payload().size(), inner);
    std::string header;
    AppendLengthDelimitedHeader(v1::ToWorker::kQueryFieldNumber,
                                inner.size() + query.payload().size(), header);
    header += inner;
    grpc::Slice slices[2] = {grpc::Slice(header),
                             ZeroCopySlice(query.payload(), shared_from_this())};
    return grpc::ByteBuffer(slices, 2);
  }
  absl::call_once(once_, [this] {
    bool own = false;
    grpc::SerializationTraits<v1::ToWorker>::Serialize(message_, &serialized_, &own);
  });
  return serialized_;
}

}  // namespace aia
