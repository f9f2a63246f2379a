#include "coordinator/outgoing.h"

#include <string>

#include "base/wire_bytes.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace aia {
namespace {

// A query as protobuf serializes it (fields in number order, proto3 defaults
// left out; outgoing_test checks the bytes), its payload lent, not copied, when
// it is large.
grpc::ByteBuffer QueryBytes(const v1::Query& query, const Payload& payload) {
  std::string inner;
  if (query.id() != 0) AppendVarintField(v1::Query::kIdFieldNumber, query.id(), inner);
  if (query.iteration() != 0) {
    AppendVarintField(v1::Query::kIterationFieldNumber, static_cast<uint64_t>(query.iteration()),
                      inner);
  }
  if (!payload.empty()) {
    AppendLengthDelimitedHeader(v1::Query::kPayloadFieldNumber, payload.size(), inner);
  }
  std::string header;
  AppendLengthDelimitedHeader(v1::ToWorker::kQueryFieldNumber, inner.size() + payload.size(),
                              header);
  header += inner;
  return FramedBytes(std::move(header), payload.view(), payload.owner());
}

}  // namespace

v1::ToWorker Outgoing::WholeMessage() const {
  v1::ToWorker whole = message_;
  if (whole.has_query()) whole.mutable_query()->set_payload(query_payload_.ToString());
  return whole;
}

grpc::ByteBuffer Outgoing::Bytes() const {
  absl::call_once(once_, [this] {
    if (message_.has_query()) {
      serialized_ = QueryBytes(message_.query(), query_payload_);
      return;
    }
    bool own = false;
    grpc::SerializationTraits<v1::ToWorker>::Serialize(message_, &serialized_, &own);
  });
  return serialized_;
}

}  // namespace aia
