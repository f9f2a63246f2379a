// Outgoing's wire form is protobuf's own, for every kind of message and on both
// sides of the zero-copy size; every copy shares one serialization, and a large
// payload is sent from its own memory (a step's vector, not a copy of it).
#include "coordinator/outgoing.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/wire_bytes.h"
#include "gtest/gtest.h"
#include "grpcpp/support/slice.h"

namespace aia {
namespace {

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

// An Outgoing of `whole`: its query's payload taken out into a Payload.
std::shared_ptr<const Outgoing> Split(const v1::ToWorker& whole) {
  if (!whole.has_query()) return std::make_shared<const Outgoing>(whole);
  v1::ToWorker head = whole;
  head.mutable_query()->clear_payload();
  return std::make_shared<const Outgoing>(std::move(head), Payload(whole.query().payload()));
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
    std::shared_ptr<const Outgoing> outgoing = Split(message);
    EXPECT_EQ(outgoing->WholeMessage().SerializeAsString(), expected);
    const std::string flat = Flatten(outgoing->Bytes());
    ASSERT_EQ(flat.size(), expected.size()) << message.ShortDebugString().substr(0, 80);
    ASSERT_TRUE(flat == expected) << message.ShortDebugString().substr(0, 80);
    v1::ToWorker parsed;
    ASSERT_TRUE(parsed.ParseFromString(flat));
    EXPECT_EQ(parsed.query().payload(), message.query().payload());
  }
}

TEST(Outgoing, ALargePayloadIsSentFromItsOwnMemoryAndKeepsItAlive) {
  // A step's vector, adopted by its Payload: the wire form points into it.
  Vector q = Vector::LinSpaced(size_t{1} << 17, 0.0, 1.0);
  const char* payload = reinterpret_cast<const char*>(q.data());
  v1::ToWorker head;
  head.mutable_query()->set_id(1);
  auto outgoing = std::make_shared<const Outgoing>(head, Payload::FromVector(std::move(q)));
  grpc::ByteBuffer bytes = outgoing->Bytes();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(bytes.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[1].begin()), payload);  // not a copy
  EXPECT_EQ(slices[1].size(), (size_t{1} << 17) * sizeof(double));
  // The buffer holds the payload: it outlives the Outgoing.
  std::weak_ptr<const void> weak = outgoing->query_payload().owner();
  outgoing.reset();
  slices.clear();
  EXPECT_FALSE(weak.expired());
  bytes.Clear();
  EXPECT_TRUE(weak.expired());
}

TEST(Outgoing, CopiesFromManyThreadsShareOneSerialization) {
  v1::ToWorker message = Query(5, 2, 100);
  std::shared_ptr<const Outgoing> outgoing = Split(message);
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
