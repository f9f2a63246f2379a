#include "security/token.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia::security {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

std::string WriteFile(const std::string& name, const std::string& text, mode_t mode = 0600) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::ofstream(path, std::ios::trunc) << text;
  chmod(path.c_str(), mode);
  return path;
}

TEST(ReadTokenFile, ReadsOneLineAndDropsOneNewline) {
  EXPECT_EQ(*ReadTokenFile(WriteFile("t1", absl::StrCat(kToken, "\n"))), kToken);
  EXPECT_EQ(*ReadTokenFile(WriteFile("t2", kToken)), kToken);
}

TEST(ReadTokenFile, RefusesBadFilesNamingFlagAndFile) {
  struct Case {
    std::string text;
    mode_t mode;
    std::string error;
  } cases[] = {
      {"", 0600, "empty"},
      {"\n", 0600, "empty"},
      {absl::StrCat(kToken, "\n\n"), 0600, "more than one line"},
      {absl::StrCat(kToken, "\nsecond"), 0600, "more than one line"},
      {absl::StrCat(kToken, " x"), 0600, "not printable ASCII"},
      {"short", 0600, "shorter than 16"},
      {std::string(kMaxTokenBytes + 1, 'a'), 0600, "longer than 4096"},
      {kToken, 0644, "group or others may access it (mode 0644)"},
      {kToken, 0640, "chmod 600"},
  };
  int i = 0;
  for (const Case& c : cases) {
    const std::string path = WriteFile(absl::StrCat("bad", i++), c.text, c.mode);
    absl::StatusOr<std::string> token = ReadTokenFile(path);
    ASSERT_FALSE(token.ok()) << path;
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(token.status().message(), HasSubstr(absl::StrCat("--token_file=", path, ": ")));
    EXPECT_THAT(token.status().message(), HasSubstr(c.error));
    EXPECT_THAT(token.status().message(), Not(HasSubstr(kToken)));
  }
  absl::StatusOr<std::string> missing = ReadTokenFile("/nonexistent/token");
  EXPECT_THAT(missing.status().message(), HasSubstr("--token_file=/nonexistent/token: No such"));
  EXPECT_THAT(ReadTokenFile("/").status().message(), HasSubstr("not a regular file"));
}

TEST(ConstantTimeEquals, ComparesExactly) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals(kToken, kToken));
  EXPECT_FALSE(ConstantTimeEquals("", kToken));
  EXPECT_FALSE(ConstantTimeEquals(kToken, ""));
  const std::string token = kToken;
  EXPECT_FALSE(ConstantTimeEquals(token.substr(0, 31), token));  // a prefix
  EXPECT_FALSE(ConstantTimeEquals(token + "x", token));          // longer
  for (size_t i = 0; i < token.size(); ++i) {
    std::string other = token;
    other[i] ^= 1;
    EXPECT_FALSE(ConstantTimeEquals(other, token)) << i;
  }
  // Embedded zero bytes count.
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
}

class ProcessorTest : public ::testing::Test {
 protected:
  grpc::Status Process(const std::multimap<std::string, std::string>& metadata) {
    // The processor sees string_refs into the call's metadata.
    grpc::AuthMetadataProcessor::InputMetadata input;
    for (const auto& [key, value] : metadata) input.emplace(key, value);
    consumed_.clear();
    grpc::AuthMetadataProcessor::OutputMetadata response;
    return processor_.Process(input, nullptr, &consumed_, &response);
  }

  std::vector<std::string> refused_;
  BearerTokenProcessor processor_{
      kToken, [this](const std::string& reason) { refused_.push_back(reason); }};
  grpc::AuthMetadataProcessor::OutputMetadata consumed_;
};

TEST_F(ProcessorTest, AcceptsTheTokenAndConsumesIt) {
  const grpc::Status status =
      Process({{"authorization", absl::StrCat("Bearer ", kToken)}, {"user-agent", "x"}});
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(consumed_.count("authorization"), 1);
  EXPECT_TRUE(refused_.empty());
}

TEST_F(ProcessorTest, RefusesAMissingToken) {
  const grpc::Status status = Process({{"user-agent", "x"}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("missing bearer token"));
  EXPECT_THAT(refused_, ::testing::ElementsAre("missing bearer token"));
}

TEST_F(ProcessorTest, RefusesAWrongTokenWithoutEchoingIt) {
  for (const std::string& wrong :
       {std::string("Bearer ") + "0123456789abcdef0123456789abcdeX", std::string("Bearer "),
        absl::StrCat("Bearer ", kToken, "0"), absl::StrCat("Bearer  ", kToken)}) {
    const grpc::Status status = Process({{"authorization", wrong}});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << wrong;
    EXPECT_THAT(status.error_message(), HasSubstr("wrong bearer token"));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("0123456789")));
    EXPECT_TRUE(consumed_.empty());
  }
  EXPECT_EQ(refused_.size(), 4);
}

TEST_F(ProcessorTest, RefusesMalformedAuthorization) {
  grpc::Status status = Process({{"authorization", kToken}});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("malformed authorization metadata"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr(kToken)));
  status = Process({{"authorization", absl::StrCat("Bearer ", kToken)},
                    {"authorization", absl::StrCat("Bearer ", kToken)}});
  EXPECT_THAT(status.error_message(), HasSubstr("more than one"));
}

}  // namespace
}  // namespace aia::security
