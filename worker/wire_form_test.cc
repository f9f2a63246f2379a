// A worker's wire form is protobuf's own encoding, on both sides of the zero-copy
// size, and a large answer is sent from its own memory.
#include "worker/wire_form.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "base/wire_bytes.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

// An answer and its payload, which the wire form takes apart from the message.
struct Reply {
  v1::FromWorker head;
  Payload payload;
  v1::FromWorker whole;
};

Reply Answer(uint64_t query_id, double compute_s, size_t payload_bytes) {
  v1::FromWorker message;
  v1::Answer* answer = message.mutable_answer();
  answer->set_query_id(query_id);
  answer->set_compute_s(compute_s);
  std::string payload(payload_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 13 + 1);
  Reply reply{message, Payload(payload), message};
  reply.whole.mutable_answer()->set_payload(std::move(payload));
  return reply;
}

TEST(WireForm, IsWhatProtobufSerializes) {
  std::vector<Reply> messages;
  for (size_t bytes : {size_t{0}, size_t{80}, kZeroCopyBytes - 1, kZeroCopyBytes,
                       size_t{8} << 20}) {
    messages.push_back(Answer(9, 0.25, bytes));
    messages.push_back(Answer(0, 0.0, bytes));  // defaults left out
    messages.push_back(Answer(std::numeric_limits<uint64_t>::max(), -0.0, bytes));
    messages.push_back(Answer(3, std::numeric_limits<double>::infinity(), bytes));
  }
  v1::FromWorker ready;
  ready.mutable_ready()->set_rows(12);
  messages.push_back({ready, Payload(), ready});
  for (const Reply& reply : messages) {
    const std::string expected = reply.whole.SerializeAsString();
    const std::string flat = Flatten(WireForm(reply.head, reply.payload));
    ASSERT_EQ(flat.size(), expected.size()) << reply.head.answer().query_id();
    ASSERT_TRUE(flat == expected) << reply.head.answer().query_id();
  }
}

TEST(WireForm, ALargeAnswerIsSentFromItsOwnMemoryAndKeepsItAlive) {
  // A step's vector, adopted by its Payload: the wire form points into it.
  Vector a = Vector::LinSpaced(size_t{1} << 17, -1.0, 1.0);
  const char* memory = reinterpret_cast<const char*>(a.data());
  Payload payload = Payload::FromVector(std::move(a));
  const std::weak_ptr<const void> weak = payload.owner();
  v1::FromWorker head;
  head.mutable_answer()->set_query_id(1);
  head.mutable_answer()->set_compute_s(0.5);
  grpc::ByteBuffer bytes = WireForm(head, payload);
  payload = Payload();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(bytes.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 3u);  // header, the payload itself, compute_s
  EXPECT_EQ(reinterpret_cast<const char*>(slices[1].begin()), memory);  // not a copy
  EXPECT_EQ(slices[1].size(), (size_t{1} << 17) * sizeof(double));
  slices.clear();
  EXPECT_FALSE(weak.expired());  // the buffer holds it
  bytes.Clear();
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace aia
