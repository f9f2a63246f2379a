#include "coordinator/worker_addresses.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace aia {
namespace {

constexpr char kDnsScheme[] = "dns:///";

// Every address of `name`, as text, sorted and without duplicates.
absl::StatusOr<std::set<std::string>> Resolve(const std::string& entry, const std::string& name,
                                              int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int error = getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (error != 0) {
    return absl::NotFoundError(
        absl::StrCat(entry, ": cannot resolve '", name, "': ", gai_strerror(error)));
  }
  std::set<std::string> addresses;
  for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (info->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(info->ai_addr)->sin_addr, text,
                sizeof(text));
      addresses.insert(absl::StrCat(text, ":", port));
    } else if (info->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(info->ai_addr)->sin6_addr, text,
                sizeof(text));
      addresses.insert(absl::StrCat("[", text, "]:", port));
    }
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::NotFoundError(absl::StrCat(entry, ": '", name, "' has no address"));
  }
  return addresses;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ExpandWorkerAddresses(
    const std::vector<std::string>& entries) {
  std::vector<std::string> workers;
  for (const std::string& entry : entries) {
    if (!absl::StartsWith(entry, kDnsScheme)) {
      workers.push_back(entry);
      continue;
    }
    const std::string target = entry.substr(sizeof(kDnsScheme) - 1);
    const size_t colon = target.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(target.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", entry, "': expected dns:///NAME:PORT with a port in 1..65535"));
    }
    auto resolved = Resolve(entry, target.substr(0, colon), port);
    if (!resolved.ok()) return resolved.status();
    workers.insert(workers.end(), resolved->begin(), resolved->end());
  }
  return workers;
}

}  // namespace aia
