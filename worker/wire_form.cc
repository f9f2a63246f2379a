#include "worker/wire_form.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "base/wire_bytes.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace aia {

grpc::ByteBuffer WireForm(const v1::FromWorker& message, const Payload& answer_payload) {
  if (!message.has_answer()) {
    grpc::ByteBuffer bytes;
    bool own = false;
    grpc::SerializationTraits<v1::FromWorker>::Serialize(message, &bytes, &own);
    return bytes;
  }
  // Fields in number order, proto3 defaults left out (wire_form_test checks the bytes).
  const v1::Answer& answer = message.answer();
  std::string before, after;
  if (answer.query_id() != 0) {
    AppendVarintField(v1::Answer::kQueryIdFieldNumber, answer.query_id(), before);
  }
  if (!answer_payload.empty()) {
    AppendLengthDelimitedHeader(v1::Answer::kPayloadFieldNumber, answer_payload.size(), before);
  }
  const double compute_s = answer.compute_s();
  uint64_t bits = 0;
  std::memcpy(&bits, &compute_s, sizeof(bits));
  if (bits != 0) AppendFixed64Field(v1::Answer::kComputeSFieldNumber, bits, after);
  std::string header;
  AppendLengthDelimitedHeader(v1::FromWorker::kAnswerFieldNumber,
                              before.size() + answer_payload.size() + after.size(), header);
  header += before;
  return FramedBytes(std::move(header), answer_payload.view(), answer_payload.owner(), after);
}

}  // namespace aia
