#include "base/utf8.h"

#include "gtest/gtest.h"

namespace aia {
namespace {

TEST(ValidUtf8, KeepsValidText) {
  EXPECT_EQ(ValidUtf8("plain"), "plain");
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(ValidUtf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(ValidUtf8("a\xff" "b"), "a?b");
  EXPECT_EQ(ValidUtf8("\xc3"), "?");                 // cut short
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "??");            // overlong '/'
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "???");       // a surrogate
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80"), "????");  // past U+10FFFF
  EXPECT_EQ(ValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace aia
