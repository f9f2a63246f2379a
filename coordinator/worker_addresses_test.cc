#include "coordinator/worker_addresses.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ExpandWorkerAddresses, KeepsPlainAddressesInOrder) {
  absl::StatusOr<std::vector<std::string>> workers =
      ExpandWorkerAddresses({"10.0.0.9:7070", "host.example:7071"});
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_THAT(*workers, ElementsAre("10.0.0.9:7070", "host.example:7071"));
}

TEST(ExpandWorkerAddresses, ResolvesADnsNameToEveryAddress) {
  // "localhost" is in every hosts file; an IPv4 literal resolves to itself.
  absl::StatusOr<std::vector<std::string>> workers =
      ExpandWorkerAddresses({"dns:///localhost:7070", "dns:///127.0.0.7:7071", "a:1"});
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_THAT(*workers, Contains("127.0.0.1:7070"));
  EXPECT_EQ(workers->back(), "a:1");
  EXPECT_THAT(*workers, Contains("127.0.0.7:7071"));
}

TEST(ExpandWorkerAddresses, RefusesBadEntries) {
  for (const char* bad : {"dns:///nameonly", "dns:///:7070", "dns:///host:0", "dns:///host:x"}) {
    absl::StatusOr<std::vector<std::string>> workers = ExpandWorkerAddresses({bad});
    EXPECT_EQ(workers.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(workers.status().message(), HasSubstr(bad));
  }
  absl::StatusOr<std::vector<std::string>> unknown =
      ExpandWorkerAddresses({"dns:///no-such-host.invalid:7070"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("cannot resolve 'no-such-host.invalid'"));
}

}  // namespace
}  // namespace aia
