#include "security/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aia::security {
namespace {

constexpr char kAuthorization[] = "authorization";
constexpr char kBearer[] = "Bearer ";

absl::Status TokenError(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--token_file=", path, ": ", what));
}

class BearerTokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit BearerTokenPlugin(const std::string& token) : value_(absl::StrCat(kBearer, token)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "aia.bearer_token"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    metadata->emplace(kAuthorization, value_);
    return grpc::Status::OK;
  }
  // gRPC may print this: never the token.
  grpc::string DebugString() override { return "aia bearer token"; }

 private:
  const std::string value_;
};

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("--token_file: empty file name");
  // Checks are made on the open file, so that they hold for what is read.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return TokenError(path, std::strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0) {
    const int error = errno;
    close(fd);
    return TokenError(path, std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return TokenError(path, "not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    close(fd);
    return TokenError(path, absl::StrFormat("group or others may access it (mode %04o); run: "
                                            "chmod 600 %s",
                                            info.st_mode & 07777, path));
  }
  std::string text(kMaxTokenBytes + 2, '\0');
  size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return TokenError(path, std::strerror(error));
    }
    if (n == 0) break;
    size += n;
  }
  close(fd);
  text.resize(size);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.size() > kMaxTokenBytes) {
    return TokenError(path, absl::StrCat("longer than ", kMaxTokenBytes, " bytes"));
  }
  if (text.empty()) return TokenError(path, "empty");
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = text[i];
    if (c == '\n' || c == '\r') {
      return TokenError(path, "more than one line (a token is one line)");
    }
    if (c < 0x21 || c > 0x7e) {
      return TokenError(path, absl::StrCat("byte ", i + 1,
                                           " is not printable ASCII (a token may not contain "
                                           "spaces or control characters)"));
    }
  }
  if (text.size() < kMinTokenBytes) {
    return TokenError(path, absl::StrCat("shorter than ", kMinTokenBytes,
                                         " characters (make one with: openssl rand -hex 32)"));
  }
  return text;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Every byte of b is visited whatever a holds; the accumulator is volatile so that
  // the compiler cannot stop at the first difference.
  volatile unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    difference = difference | (x ^ static_cast<unsigned char>(b[i]));
  }
  return difference == 0;
}

BearerTokenProcessor::BearerTokenProcessor(std::string token,
                                           std::function<void(const std::string&)> on_refused)
    : token_(std::move(token)), on_refused_(std::move(on_refused)) {}

grpc::Status BearerTokenProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext*,
                                           OutputMetadata* consumed_auth_metadata,
                                           OutputMetadata*) {
  auto refuse = [&](const std::string& reason, const std::string& hint) {
    if (on_refused_) on_refused_(reason);
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, absl::StrCat(reason, " (", hint, ")"));
  };
  const auto [begin, end] = auth_metadata.equal_range(kAuthorization);
  if (begin == end) {
    return refuse("missing bearer token",
                  "this server requires one: give the client --token_file=FILE with the "
                  "server's token");
  }
  if (std::next(begin) != end) {
    return refuse("malformed authorization metadata", "more than one authorization entry");
  }
  const absl::string_view value(begin->second.data(), begin->second.size());
  if (!absl::StartsWith(value, kBearer)) {
    return refuse("malformed authorization metadata", "expected 'Bearer <token>'");
  }
  if (!ConstantTimeEquals(value.substr(sizeof(kBearer) - 1), token_)) {
    return refuse("wrong bearer token",
                  "the client's --token_file must hold the same token as the server's "
                  "--token_file");
  }
  consumed_auth_metadata->emplace(kAuthorization, std::string(value));
  return grpc::Status::OK;
}

std::shared_ptr<grpc::CallCredentials> BearerTokenCredentials(
    const std::string& token, grpc_security_level min_security_level) {
  return grpc::experimental::MetadataCredentialsFromPlugin(
      std::make_unique<BearerTokenPlugin>(token), min_security_level);
}

}  // namespace aia::security
