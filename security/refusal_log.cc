#include "security/refusal_log.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"

namespace {

// The socket this thread read last (see the header).
thread_local int t_last_read_fd = -1;
// The peer of a handshake failure gRPC is about to describe.
thread_local char t_pending_peer[INET6_ADDRSTRLEN + 8] = "";

using RecvmsgFunction = ssize_t (*)(int, msghdr*, int);

}  // namespace

// Replaces the C library's recvmsg for the whole process (gRPC's TCP endpoint reads
// with it): remembers the socket, then reads as the C library would.
extern "C" ssize_t recvmsg(int fd, msghdr* message, int flags) {
  static const RecvmsgFunction real =
      reinterpret_cast<RecvmsgFunction>(dlsym(RTLD_NEXT, "recvmsg"));
  t_last_read_fd = fd;
  return real(fd, message, flags);
}

namespace aia::security {
namespace {

absl::Mutex sink_mu;
std::function<void(const std::string&)>* sink ABSL_GUARDED_BY(sink_mu) = nullptr;
gpr_log_severity print_threshold = GPR_LOG_SEVERITY_ERROR;

void Emit(const std::string& line) {
  absl::MutexLock lock(&sink_mu);
  if (sink != nullptr) {
    (*sink)(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

// The value of `key:"..."` in a gRPC error text, or "".
std::string ErrorField(absl::string_view text, absl::string_view key) {
  const std::string marker = absl::StrCat(key, ":\"");
  const size_t at = text.find(marker);
  if (at == absl::string_view::npos) return "";
  const size_t begin = at + marker.size();
  const size_t end = text.find('"', begin);
  return end == absl::string_view::npos ? "" : std::string(text.substr(begin, end - begin));
}

void PrintAsGrpc(const gpr_log_func_args* args) {
  if (args->severity < print_threshold) return;
  const char* file = std::strrchr(args->file, '/');
  std::fprintf(stderr, "%s%s %s:%d] %s\n", gpr_log_severity_string(args->severity),
               absl::FormatTime("%m%d %H:%M:%E6S", absl::Now(), absl::LocalTimeZone()).c_str(),
               file != nullptr ? file + 1 : args->file, args->line, args->message);
}

void LogHook(gpr_log_func_args* args) {
  const absl::string_view message(args->message);
  const char* slash = std::strrchr(args->file, '/');
  const absl::string_view file = slash != nullptr ? slash + 1 : args->file;
  if (file == "ssl_transport_security.cc" && absl::StartsWith(message, "Handshake failed")) {
    // gRPC's description follows (from chttp2_server.cc); the socket is still open now.
    const std::string peer = CurrentPeer();
    std::snprintf(t_pending_peer, sizeof(t_pending_peer), "%s", peer.c_str());
    return;
  }
  // The client's server name indication is a name the certificate lacks: the
  // client will refuse this worker once the handshake is done.
  if (file == "ssl_transport_security.cc" &&
      absl::StartsWith(message, "No match found for server name: ")) {
    absl::string_view name = message.substr(std::strlen("No match found for server name: "));
    absl::ConsumeSuffix(&name, ".");
    const std::string peer = CurrentPeer();
    Emit(absl::StrCat("a connection from ", peer.empty() ? "an unknown peer" : peer,
                      " asks for the name ", name,
                      ", which this worker's certificate does not carry (host name mismatch: the "
                      "coordinator will refuse this worker; it needs --tls_server_name=NAME of "
                      "the certificate, or the worker a certificate for ",
                      name, ")"));
    return;
  }
  if (file == "chttp2_server.cc" && absl::StartsWith(message, "Handshaking failed")) {
    const std::string text(message);
    const std::string cause = HandshakeFailureCause(text);
    if (!cause.empty()) {
      const std::string target = ErrorField(text, "target_address");
      absl::string_view address = target;
      absl::ConsumePrefix(&address, "ipv4:") || absl::ConsumePrefix(&address, "ipv6:");
      std::string peer(address);
      if (peer.empty()) peer = t_pending_peer;
      if (peer.empty()) peer = CurrentPeer();
      Emit(absl::StrCat("refused a connection from ", peer.empty() ? "an unknown peer" : peer, ": ",
                        cause));
    }
    t_pending_peer[0] = '\0';
    return;
  }
  PrintAsGrpc(args);
}

}  // namespace

std::string CurrentPeer() {
  const int fd = t_last_read_fd;
  if (fd < 0) return "";
  sockaddr_storage address;
  socklen_t length = sizeof(address);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "";
  char host[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(v4->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {  // a dual-stack socket's IPv4 peer
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], host, sizeof(host));
      return absl::StrCat(host, ":", ntohs(v6->sin6_port));
    }
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(v6->sin6_port));
  }
  return "";
}

std::string HandshakeFailureCause(const std::string& grpc_message) {
  const absl::string_view m = grpc_message;
  if (absl::StrContains(m, "Handshaker shutdown") || absl::StrContains(m, "Server shutdown")) {
    return "";
  }
  if (absl::StrContains(m, "peer did not return a certificate")) {
    return "no client certificate (this worker requires mutual TLS: the coordinator needs "
           "--tls_cert/--tls_key from this worker's --tls_ca)";
  }
  if (absl::StrContains(m, "certificate verify failed")) {
    return "its client certificate does not verify against this worker's --tls_ca (another CA, "
           "or expired)";
  }
  for (absl::string_view not_tls : {"wrong version number", "http request", "unknown protocol",
                                    "packet length too long", "record layer failure"}) {
    if (absl::StrContains(m, not_tls)) {
      return "it does not speak TLS (a plaintext coordinator: it needs --tls_ca)";
    }
  }
  if (absl::StrContains(m, "alert")) {
    const size_t at = m.find("routines::");
    const absl::string_view alert = at == absl::string_view::npos ? m : m.substr(at + 10);
    return absl::StrCat("it refused this worker's certificate (",
                        alert.substr(0, alert.find_first_of("{\n")), ")");
  }
  if (absl::StrContains(m, "Socket closed") || absl::StrContains(m, "Connection reset") ||
      absl::StrContains(m, "Handshake read failed") ||
      absl::StrContains(m, "Handshake write failed")) {
    return "it closed the connection during the TLS handshake (it does not accept this worker's "
           "certificate: wrong CA, host name or expired; the coordinator's error says which)";
  }
  absl::string_view rest = m;
  absl::ConsumePrefix(&rest, "Handshaking failed: ");
  return absl::StrCat("TLS handshake failed: ",
                      absl::StripTrailingAsciiWhitespace(rest.substr(0, rest.find('{'))));
}

void InstallRefusalLog(std::function<void(const std::string&)> new_sink) {
  {
    absl::MutexLock lock(&sink_mu);
    delete sink;
    sink = new std::function<void(const std::string&)>(std::move(new_sink));
  }
  // Keep gRPC's own verbosity for everything else.
  if (const char* verbosity = std::getenv("GRPC_VERBOSITY"); verbosity != nullptr) {
    if (absl::EqualsIgnoreCase(verbosity, "debug")) print_threshold = GPR_LOG_SEVERITY_DEBUG;
    if (absl::EqualsIgnoreCase(verbosity, "info")) print_threshold = GPR_LOG_SEVERITY_INFO;
    if (absl::EqualsIgnoreCase(verbosity, "none")) {
      print_threshold = static_cast<gpr_log_severity>(GPR_LOG_SEVERITY_ERROR + 1);
    }
  }
  gpr_set_log_function(&LogHook);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_DEBUG);
}

void LogRefusedCall(const std::string& reason) {
  const std::string peer = CurrentPeer();
  Emit(absl::StrCat("refused a call from ", peer.empty() ? "an unknown peer" : peer, ": ", reason));
}

}  // namespace aia::security
