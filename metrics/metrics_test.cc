#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/http_get.h"
#include "prometheus/counter.h"

namespace aia {
namespace {

using ::aia::testing::HttpGet;
using ::aia::testing::HttpResponse;
using ::testing::HasSubstr;

TEST(Metrics, ServesTheRegistryOnLoopback) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Listen("127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_GT((*metrics)->port(), 0);
  prometheus::BuildCounter()
      .Name("aia_test_events_total")
      .Help("Events.")
      .Register((*metrics)->registry())
      .Add({})
      .Increment(3);
  EXPECT_THAT((*metrics)->Text(), HasSubstr("aia_test_events_total 3"));
  absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", (*metrics)->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("# TYPE aia_test_events_total counter"));
  EXPECT_THAT(response->body, HasSubstr("aia_test_events_total 3"));
}

TEST(Metrics, WithoutAnEndpointHasNoPort) {
  Metrics metrics;
  EXPECT_EQ(metrics.port(), 0);
  EXPECT_EQ(metrics.Text(), "");
}

TEST(Metrics, RejectsWhatIsNotOneHostAndPort) {
  for (const char* bad : {"", "9464", ":9464", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:70000",
                          "127.0.0.1:9464,0.0.0.0:9465", "127.0.0.1:9464s"}) {
    absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Listen(bad);
    ASSERT_FALSE(metrics.ok()) << bad;
    EXPECT_EQ(metrics.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(metrics.status().message(), HasSubstr("HOST:PORT")) << bad;
  }
}

TEST(Metrics, APortInUseIsUnavailable) {
  // Hold a listening loopback port, then ask for it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string taken = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Listen(taken);
  close(fd);
  ASSERT_FALSE(metrics.ok());
  EXPECT_EQ(metrics.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(metrics.status().message(), HasSubstr(taken));
}

}  // namespace
}  // namespace aia
