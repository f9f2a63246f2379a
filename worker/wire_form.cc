#include "worker/wire_form.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "base/wire_bytes.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace aia {

grpc::ByteBuffer WireForm(v1::FromWorker message) {
  if (message.has_answer() && message.answer().payload().size() >= kZeroCopyBytes) {
    auto owner = std::make_shared<const v1::FromWorker>(std::move(message));
    const v1::Answer& answer = owner->answer();
    std::string before, after;
    if (answer.query_id() != 0) {
      AppendVarintField(v1::Answer::kQueryIdFieldNumber, answer.query_id(), before);
    }
    AppendLengthDelimitedHeader(v1::Answer::kPayloadFieldNumber, answer.payload().size(), before);
    const double compute_s = answer.compute_s();
    uint64_t bits = 0;
    std::memcpy(&bits, &compute_s, sizeof(bits));
    if (bits != 0) AppendFixed64Field(v1::Answer::kComputeSFieldNumber, bits, after);
    std::string header;
    AppendLengthDelimitedHeader(v1::FromWorker::kAnswerFieldNumber,
                                before.size() + answer.payload().size() + after.size(), header);
    header += before;
    grpc::Slice slices[3] = {grpc::Slice(header), ZeroCopySlice(answer.payload(), owner),
                             grpc::Slice(after)};
    return grpc::ByteBuffer(slices, after.empty() ? 2 : 3);
  }
  grpc::ByteBuffer bytes;
  bool own = false;
  grpc::SerializationTraits<v1::FromWorker>::Serialize(message, &bytes, &own);
  return bytes;
}

}  // namespace aia
