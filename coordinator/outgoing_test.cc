// Outgoing's wire form is protobuf's own, for every kind of message and on both
// sides of the zero-copy size; every copy shares one serialization, and a large
// payload is sent from its own memory.
#include "coordinator/outgoing.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "grpcpp/support/slice.h"

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

v1::ToWorker Query(uint64_t id, int64_t iteration, size_t payload_bytes) {
  v1::ToWorker message;
  v1::Query* query = message.mutable_query();
  query->set_id(id);
  query->set_iteration(iteration);
  std::string payload(payload_bytes, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + 3);
  query->set_payload(std::move(payload));
  return message;
}

TEST(Outgoing, BytesAreWhatProtobufSerializes) {
  std::vector<v1::ToWorker> messages;
  for (size_t bytes : {size_t{0}, size_t{80}, kZeroCopyBytes - 1,
                       kZeroCopyBytes, size_t{8} << 20}) {
    messages.push_back(Query(7, 3, bytes));
    messages.push_back(Query(0, 0, bytes));                    // defaults left out
    messages.push_back(Query(~uint64_t{0}, -1, bytes));        // ten-byte varints
  }
  v1::ToWorker setup;
  setup.mutable_setup()->set_run_id("runs/x");
  messages.push_back(setup);
  v1::ToWorker stop;
  stop.mutable_stop()->set_reason("done");
  messages.push_back(stop);
  for (const v1::ToWorker& message : messages) {
    const std::string expected = message.SerializeAsString();
    auto outgoing = std::make_shared<const Outgoing>(message);
    const std::string flat = Flatten(outgoing->Bytes());
    ASSERT_EQ(flat.size(), expected.size()) << message.ShortDebugString().substr(0, 80);
    ASSERT_TRUE(flat == expected) << message.ShortDebugString().substr(0, 80);
    v1::ToWorker parsed;
    ASSERT_TRUE(parsed.ParseFromString(flat));
    EXPECT_EQ(parsed.query().payload(), message.query().payload());
  }
}

TEST(Outgoing, ALargePayloadIsSentFromItsOwnMemoryAndKeepsItAlive) {
  auto outgoing = std::make_shared<const Outgoing>(Query(1, 1, size_t{1} << 20));
  const char* payload = outgoing->message().query().payload().data();
  grpc::ByteBuffer bytes = outgoing->Bytes();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(bytes.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[1].begin()), payload);  // not a copy
  // The buffer holds the message: it outlives the last shared_ptr the caller had.
  std::weak_ptr<const Outgoing> weak = outgoing;
  outgoing.reset();
  slices.clear();
  EXPECT_FALSE(weak.expired());
  bytes.Clear();
  EXPECT_TRUE(weak.expired());
}

TEST(Outgoing, CopiesFromManyThreadsShareOneSerialization) {
  v1::ToWorker message = Query(5, 2, 100);
  auto outgoing = std::make_shared<const Outgoing>(message);
  std::vector<std::string> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] { seen[t] = Flatten(outgoing->Bytes()); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& flat : seen) EXPECT_EQ(flat, message.SerializeAsString());
  std::vector<grpc::Slice> first, second;
  ASSERT_TRUE(outgoing->Bytes().Dump(&first).ok());
  ASSERT_TRUE(outgoing->Bytes().Dump(&second).ok());
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(first[0].begin(), second[0].begin());  // the same slice memory
}

}  // namespace
}  // namespace aia
