#include "metrics/http_get.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace aia::testing {
namespace {

// Waits until `fd` is ready for `events`, at most until `deadline`.
bool AwaitFd(int fd, short events, absl::Time deadline) {
  while (true) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return false;
    pollfd entry{fd, events, 0};
    const int ready = poll(&entry, 1, static_cast<int>(left));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not a numeric IPv4 address: ", host));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  const std::string where = absl::StrCat(host, ":", port, path);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(absl::StrCat(where, ": ", std::strerror(errno)));
    }
    if (!AwaitFd(fd, POLLOUT, deadline)) {
      return absl::UnavailableError(absl::StrCat(where, ": connect timed out"));
    }
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return absl::UnavailableError(absl::StrCat(where, ": ", std::strerror(error)));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", host, ":", port,
                                           "\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    if (!AwaitFd(fd, POLLOUT, deadline)) return absl::UnavailableError(where + ": send timed out");
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(where, ": ", std::strerror(errno)));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buffer[16384];
  while (true) {
    if (!AwaitFd(fd, POLLIN, deadline)) return absl::UnavailableError(where + ": read timed out");
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat(where, ": ", std::strerror(errno)));
    }
    reply.append(buffer, static_cast<size_t>(n));
  }
  // "HTTP/1.x 200 OK\r\n" headers "\r\n\r\n" body
  HttpResponse response;
  const size_t space = reply.find(' ');
  const size_t end = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/", 0) != 0 || space == std::string::npos || end == std::string::npos ||
      !absl::SimpleAtoi(reply.substr(space + 1, 3), &response.status)) {
    return absl::UnavailableError(
        absl::StrCat(where, ": not an HTTP reply: ", reply.substr(0, 80)));
  }
  response.body = reply.substr(end + 4);
  return response;
}

}  // namespace aia::testing
