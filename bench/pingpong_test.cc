#include <memory>
#include <numeric>
#include <vector>

#include "bench/pingpong_client.h"
#include "bench/pingpong_service.h"
#include "gtest/gtest.h"

namespace aia {
namespace bench {
namespace {

std::unique_ptr<PingPongServer> StartServer() {
  PingPongServer::Options options;
  options.listen = "localhost:0";
  absl::StatusOr<std::unique_ptr<PingPongServer>> server = PingPongServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(server).value() : nullptr;
}

TEST(RunPingPong, CountsExactlyTheRoundTripsOverAllStreams) {
  std::unique_ptr<PingPongServer> a = StartServer();
  std::unique_ptr<PingPongServer> b = StartServer();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  PingPongOptions options;
  options.addresses = {"localhost:" + std::to_string(a->port()),
                       "localhost:" + std::to_string(b->port())};
  options.payload_bytes = 8000;
  options.count = 101;
  absl::StatusOr<PingPongResult> result = RunPingPong(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->round_trips, 101);
  ASSERT_EQ(result->per_stream.size(), 2u);
  EXPECT_EQ(std::accumulate(result->per_stream.begin(), result->per_stream.end(), int64_t{0}), 101);
  EXPECT_GT(result->elapsed_s, 0.0);
}

TEST(RunPingPong, FewerRoundTripsThanStreams) {
  std::unique_ptr<PingPongServer> a = StartServer();
  std::unique_ptr<PingPongServer> b = StartServer();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  PingPongOptions options;
  options.addresses = {"localhost:" + std::to_string(a->port()),
                       "localhost:" + std::to_string(b->port())};
  options.count = 1;
  absl::StatusOr<PingPongResult> result = RunPingPong(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->round_trips, 1);
}

TEST(RunPingPong, SynchronousRoundsEchoOnEveryStream) {
  std::unique_ptr<PingPongServer> a = StartServer();
  std::unique_ptr<PingPongServer> b = StartServer();
  std::unique_ptr<PingPongServer> c = StartServer();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  PingPongOptions options;
  options.addresses = {"localhost:" + std::to_string(a->port()),
                       "localhost:" + std::to_string(b->port()),
                       "localhost:" + std::to_string(c->port())};
  options.mode = PingPongMode::kSynchronous;
  options.payload_bytes = 8000;
  options.count = 17;
  absl::StatusOr<PingPongResult> result = RunPingPong(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rounds, 17);
  EXPECT_EQ(result->round_trips, 3 * 17);
  EXPECT_EQ(result->per_stream, std::vector<int64_t>({17, 17, 17}));
  EXPECT_GT(result->elapsed_s, 0.0);
}

TEST(RunPingPong, MinDurationKeepsGoingPastTheCount) {
  std::unique_ptr<PingPongServer> a = StartServer();
  ASSERT_NE(a, nullptr);
  for (PingPongMode mode : {PingPongMode::kAsynchronous, PingPongMode::kSynchronous}) {
    PingPongOptions options;
    options.addresses = {"localhost:" + std::to_string(a->port())};
    options.mode = mode;
    options.count = 2;
    options.min_duration = absl::Milliseconds(200);
    absl::StatusOr<PingPongResult> result = RunPingPong(options);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_GT(result->round_trips, 2);
    EXPECT_GE(result->elapsed_s, 0.2);
    EXPECT_LT(result->elapsed_s, 5.0);
    EXPECT_EQ(result->rounds, mode == PingPongMode::kSynchronous ? result->round_trips : 0);
  }
}

TEST(RunPingPong, RejectsAPayloadAboveTheMessageLimit) {
  PingPongOptions options;
  options.addresses = {"localhost:1"};
  options.payload_bytes = 2000;
  options.max_message_bytes = 1024;
  absl::StatusOr<PingPongResult> result = RunPingPong(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("max_message_bytes"), std::string::npos);
}

TEST(RunPingPong, UnreachableServerIsUnavailable) {
  std::unique_ptr<PingPongServer> a = StartServer();
  ASSERT_NE(a, nullptr);
  const int port = a->port();
  a.reset();  // nothing listens there now
  PingPongOptions options;
  options.addresses = {"localhost:" + std::to_string(port)};
  options.connect_timeout = absl::Milliseconds(300);
  absl::StatusOr<PingPongResult> result = RunPingPong(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace bench
}  // namespace aia
