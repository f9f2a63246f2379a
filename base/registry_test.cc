#include "base/registry.h"

#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

using IntRegistry = Registry<std::function<int()>>;

IntRegistry& TestRegistry() {
  static IntRegistry* registry = new IntRegistry("widget");
  return *registry;
}

AIA_REGISTER(TestRegistry(), "seven", [] { return 7; });
AIA_REGISTER(TestRegistry(), "eight", [] { return 8; });

TEST(Registry, FindsRegisteredFactories) {
  auto seven = TestRegistry().Find("seven");
  ASSERT_TRUE(seven.ok()) << seven.status();
  EXPECT_EQ((*seven)(), 7);
  EXPECT_EQ((*TestRegistry().Find("eight"))(), 8);
  EXPECT_THAT(TestRegistry().Names(), ::testing::ElementsAre("eight", "seven"));
}

TEST(Registry, UnknownNameListsKnownNames) {
  auto missing = TestRegistry().Find("nine");
  ASSERT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("unknown widget 'nine'"));
  EXPECT_THAT(missing.status().message(), HasSubstr("known: eight, seven"));
}

TEST(Registry, RejectsDuplicatesAndEmptyNames) {
  IntRegistry registry("widget");
  ASSERT_TRUE(registry.Register("a", [] { return 1; }).ok());
  EXPECT_EQ(registry.Register("a", [] { return 2; }).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Register("", [] { return 3; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*registry.Find("a"))(), 1);
}

}  // namespace
}  // namespace aia
