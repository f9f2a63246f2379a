// A worker's wire form is protobuf's own encoding, on both sides of the zero-copy
// size, and a large answer is sent from its own memory.
#include "worker/wire_form.h"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "base/wire_bytes.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

std::string Flatten(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(bytes.Dump(&slices).ok());
  std::string flat;
  for (const grpc::Slice& slice : slices) {
    flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return flat;
}

v1::FromWorker Answer(uint64_t query_id, double compute_s, size_t payload_bytes) {
  v1::FromWorker message;
  v1::Answer* answer = message.mutable_answer();
  answer->set_query_id(query_id);
  answer->set_compute_s(compute_s);
  std::string payload(payload_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 13 + 1);
  answer->set_payload(std::move(payload));
  return message;
}

TEST(WireForm, IsWhatProtobufSerializes) {
  std::vector<v1::FromWorker> messages;
  for (size_t bytes : {size_t{0}, size_t{80}, kZeroCopyBytes - 1, kZeroCopyBytes,
                       size_t{8} << 20}) {
    messages.push_back(Answer(9, 0.25, bytes));
    messages.push_back(Answer(0, 0.0, bytes));  // defaults left out
    messages.push_back(Answer(std::numeric_limits<uint64_t>::max(), -0.0, bytes));
    messages.push_back(Answer(3, std::numeric_limits<double>::infinity(), bytes));
  }
  v1::FromWorker ready;
  ready.mutable_ready()->set_rows(12);
  messages.push_back(ready);
  for (const v1::FromWorker& message : messages) {
    const std::string expected = message.SerializeAsString();
    const std::string flat = Flatten(WireForm(message));
    ASSERT_EQ(flat.size(), expected.size()) << message.answer().query_id();
    ASSERT_TRUE(flat == expected) << message.answer().query_id();
  }
}

TEST(WireForm, ALargeAnswerIsSentFromItsOwnMemory) {
  const grpc::ByteBuffer bytes = WireForm(Answer(1, 0.5, size_t{1} << 20));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(bytes.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 3u);  // header, the payload itself, compute_s
  EXPECT_EQ(slices[1].size(), size_t{1} << 20);
  EXPECT_EQ(slices[1].begin()[5], static_cast<uint8_t>(5 * 13 + 1));
}

}  // namespace
}  // namespace aia
