#include "security/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "security/credentials.h"
#include "security/x509.h"

namespace aia::security {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(Socket&& other) : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::string Seconds(absl::Duration d) { return absl::StrCat(absl::ToDoubleSeconds(d), " s"); }

// Waits for `events` on fd until `deadline`: 1 ready, 0 timed out, -1 error.
int WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return 0;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    if (n > 0) return 1;
    if (n < 0 && errno != EINTR) return -1;
  }
}

// A TCP connection to host:port within `deadline`, or why not.
std::string ConnectTcp(const std::string& host, const std::string& port, const std::string& address,
                       absl::Time deadline, absl::Duration timeout, Socket* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return absl::StrCat("cannot resolve ", host, " (", gai_strerror(error), ")");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
  std::string last_error;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    Socket s(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (s.fd() < 0) continue;
    int error = 0;
    if (connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        error = errno;
      } else {
        const int ready = WaitFor(s.fd(), POLLOUT, deadline);
        if (ready == 0) {
          return absl::StrCat("no answer from ", address, " within ", Seconds(timeout),
                              " (TCP connect timed out: is the host up, the address right, a "
                              "firewall in the way?)");
        }
        socklen_t length = sizeof(error);
        if (ready < 0 || getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
          error = errno;
        }
      }
    }
    if (error == 0) {
      *out = std::move(s);
      return "";
    }
    last_error = error == ECONNREFUSED
                     ? absl::StrCat("nothing listens at ", address, " (connection refused)")
                     : absl::StrCat("cannot connect to ", address, " (", std::strerror(error), ")");
  }
  return last_error.empty() ? absl::StrCat("cannot connect to ", address) : last_error;
}

// One TLS exchange (handshake or read) over a socket, OpenSSL working on memory
// BIOs so that the peer's raw first bytes stay visible (a plaintext HTTP/2 server
// answers a ClientHello with a SETTINGS frame, not a TLS record).
class TlsProbe {
 public:
  TlsProbe(SSL* ssl, int fd, absl::Time deadline) : ssl_(ssl), fd_(fd), deadline_(deadline) {
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_, rbio_, wbio_);  // ssl owns both
  }

  // Runs `step` (SSL_do_handshake, SSL_read) until it succeeds (true) or fails
  // (false: see timed_out, peer_closed, ssl_reason, error_text).
  bool Run(const std::function<int()>& step, absl::Time deadline) {
    while (true) {
      ERR_clear_error();
      const int result = step();
      Flush();
      if (result > 0) return true;
      const int error = SSL_get_error(ssl_, result);
      if (error != SSL_ERROR_WANT_READ || eof_) {
        ssl_reason_ = ERR_GET_REASON(ERR_peek_last_error());
        error_text_ = TakeOpenSslError();
        return false;
      }
      if (!Receive(deadline)) return false;
    }
  }

  bool timed_out() const { return timed_out_; }
  bool peer_closed() const { return eof_; }
  int ssl_reason() const { return ssl_reason_; }
  const std::string& error_text() const { return error_text_; }
  const std::string& received() const { return received_; }
  // Whether the peer's first bytes are a TLS record (handshake, alert, ...).
  bool PeerSpeaksTls() const {
    return !received_.empty() && received_[0] >= 0x14 && received_[0] <= 0x17;
  }

 private:
  void Flush() {
    char buffer[16384];
    int n;
    while ((n = BIO_read(wbio_, buffer, sizeof(buffer))) > 0) {
      int sent = 0;
      while (sent < n) {
        const ssize_t k = send(fd_, buffer + sent, n - sent, MSG_NOSIGNAL);
        if (k > 0) {
          sent += k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
          if (WaitFor(fd_, POLLOUT, deadline_) != 1) return;
        } else {
          return;  // the peer is gone: the next read says so
        }
      }
    }
  }

  bool Receive(absl::Time deadline) {
    const int ready = WaitFor(fd_, POLLIN, std::min(deadline, deadline_));
    if (ready == 0) {
      timed_out_ = true;
      return false;
    }
    char buffer[16384];
    const ssize_t n = ready > 0 ? recv(fd_, buffer, sizeof(buffer), 0) : -1;
    if (n > 0) {
      if (received_.size() < 64) received_.append(buffer, std::min<size_t>(n, 64));
      BIO_write(rbio_, buffer, static_cast<int>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      eof_ = true;
      BIO_set_mem_eof_return(rbio_, 0);
    }
    return true;
  }

  SSL* ssl_;
  int fd_;
  absl::Time deadline_;
  BIO* rbio_;
  BIO* wbio_;
  bool timed_out_ = false;
  bool eof_ = false;
  int ssl_reason_ = 0;
  std::string error_text_;
  std::string received_;
};

// Set when the worker asked for a client certificate and the probe had none (the
// probe runs on one thread from start to end).
thread_local bool t_certificate_requested = false;

int NoClientCertificate(SSL*, X509**, EVP_PKEY**) {
  t_certificate_requested = true;
  return 0;
}

bool IsIp(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

// The first certificate of the CA file, for messages.
std::string CaSubject(const ProbeOptions& options) {
  absl::StatusOr<std::vector<X509Ptr>> ca = ParseCertificates(options.ca_pem, "--tls_ca");
  return ca.ok() ? SubjectOf(ca->front().get()) : "?";
}

// The worker's TLS alert about our client certificate (or its absence), or "".
std::string ClientCertificateRefusal(const ProbeOptions& options, int reason,
                                     const std::string& text) {
  switch (reason) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      if (options.cert_pem.empty()) {
        return "the worker requires a client certificate (mutual TLS: give --tls_cert/--tls_key)";
      }
      break;
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
      if (!options.cert_pem.empty()) {
        return absl::StrCat("the worker refused our client certificate --tls_cert=",
                            options.cert_file, " (not signed by the worker's --tls_ca?): ", text);
      }
      break;
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return absl::StrCat("the worker refused our client certificate --tls_cert=",
                          options.cert_file, ": it has expired");
    default:
      break;
  }
  return "";
}

}  // namespace

std::string DiagnoseConnectFailure(const ProbeOptions& options, const std::string& address) {
  absl::StatusOr<std::pair<std::string, std::string>> host_port = SplitHostPort(address);
  if (!host_port.ok()) return std::string(host_port.status().message());
  const std::string& host = host_port->first;
  const absl::Time deadline = absl::Now() + options.timeout;
  Socket socket;
  if (std::string error =
          ConnectTcp(host, host_port->second, address, deadline, options.timeout, &socket);
      !error.empty()) {
    return error;
  }

  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::StrCat("cannot set up a TLS probe (", TakeOpenSslError(), ")");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Verification is not enforced in the handshake, so that it completes and its
  // result can be explained afterwards.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (options.tls) {
    absl::StatusOr<std::vector<X509Ptr>> ca = ParseCertificates(options.ca_pem, "--tls_ca");
    if (!ca.ok()) return std::string(ca.status().message());
    for (const X509Ptr& certificate : *ca) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), certificate.get());
    }
    if (!options.cert_pem.empty()) {
      absl::StatusOr<std::vector<X509Ptr>> chain =
          ParseCertificates(options.cert_pem, "--tls_cert");
      absl::StatusOr<EvpPkeyPtr> key = ParsePrivateKey(options.key_pem, "--tls_key");
      if (!chain.ok()) return std::string(chain.status().message());
      if (!key.ok()) return std::string(key.status().message());
      SSL_CTX_use_certificate(ctx.get(), chain->front().get());
      for (size_t i = 1; i < chain->size(); ++i) {
        SSL_CTX_add1_chain_cert(ctx.get(), (*chain)[i].get());
      }
      SSL_CTX_use_PrivateKey(ctx.get(), key->get());
    }
  }
  t_certificate_requested = false;
  if (options.cert_pem.empty()) SSL_CTX_set_client_cert_cb(ctx.get(), &NoClientCertificate);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof(kAlpn));
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  SSL_set_connect_state(ssl.get());
  const std::string expected = options.server_name.empty() ? host : options.server_name;
  if (!IsIp(expected)) SSL_set_tlsext_host_name(ssl.get(), expected.c_str());

  TlsProbe probe(ssl.get(), socket.fd(), deadline);
  const bool handshake = probe.Run([&] { return SSL_do_handshake(ssl.get()); }, deadline);
  if (!handshake) {
    if (!probe.received().empty() && !probe.PeerSpeaksTls()) {
      return options.tls ? "the worker does not speak TLS (plaintext worker; start it with "
                           "--tls_cert/--tls_key, or drop --tls_ca)"
                         : absl::StrCat("the worker at ", address,
                                        " answers in plaintext, so TLS is not the cause");
    }
    if (!options.tls && probe.PeerSpeaksTls()) return "the worker requires TLS (give --tls_ca)";
    if (probe.timed_out()) {
      return absl::StrCat("the worker at ", address,
                          " accepts TCP connections but does not answer a TLS handshake within ",
                          Seconds(options.timeout), " (frozen or overloaded?)");
    }
    if (std::string refusal =
            ClientCertificateRefusal(options, probe.ssl_reason(), probe.error_text());
        !refusal.empty()) {
      return refusal;
    }
    if (t_certificate_requested) {
      return "the worker requires a client certificate (mutual TLS: give --tls_cert/--tls_key)";
    }
    if (probe.peer_closed() && probe.received().empty()) {
      return absl::StrCat("the worker at ", address,
                          " closed the connection without a word (not an aia worker?)");
    }
    return absl::StrCat("the TLS handshake with the worker failed (", probe.error_text(), ")");
  }
  if (!options.tls) return "the worker requires TLS (give --tls_ca)";

  X509* peer = SSL_get0_peer_certificate(ssl.get());
  if (peer == nullptr) return "the worker sent no certificate";
  const long verify = SSL_get_verify_result(ssl.get());
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat("the worker's certificate expired on ",
                          FormatTime(X509_get0_notAfter(peer)),
                          " (make a new one: scripts/make_certs.sh)");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat("the worker's certificate is not valid before ",
                          FormatTime(X509_get0_notBefore(peer)), " (is a clock wrong?)");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return absl::StrCat("the worker's certificate is not signed by --tls_ca (it is issued by '",
                          IssuerOf(peer), "'; --tls_ca=", options.ca_file, " is '",
                          CaSubject(options), "')");
    default:
      return absl::StrCat("the worker's certificate does not verify against --tls_ca (",
                          X509_verify_cert_error_string(verify), ")");
  }
  if (!CertificateMatches(peer, expected)) {
    return absl::StrCat("the worker's certificate is for ",
                        absl::StrJoin(CertificateNames(peer), ", "), ", not ", expected,
                        " (host name mismatch; --tls_server_name?)");
  }
  // In TLS 1.3 the worker checks our certificate after the handshake is complete on
  // this side: its verdict is the next thing it sends (an alert, or HTTP/2 data).
  char byte;
  const absl::Time read_deadline = std::min(deadline, absl::Now() + absl::Seconds(1));
  if (!probe.Run([&] { return SSL_read(ssl.get(), &byte, 1); }, read_deadline)) {
    if (std::string refusal =
            ClientCertificateRefusal(options, probe.ssl_reason(), probe.error_text());
        !refusal.empty()) {
      return refusal;
    }
    // gRPC's server closes the connection without an alert.
    if (t_certificate_requested) {
      return "the worker requires a client certificate (mutual TLS: give --tls_cert/--tls_key)";
    }
    if (probe.peer_closed() && !options.cert_pem.empty()) {
      return absl::StrCat("the worker refused our client certificate --tls_cert=",
                          options.cert_file, " (not signed by the worker's --tls_ca, or expired?)");
    }
    if (!probe.timed_out() && !probe.error_text().empty()) {
      return absl::StrCat("the worker ended the TLS session (", probe.error_text(), ")");
    }
  }
  return absl::StrCat("a TLS handshake with ", address,
                      " succeeds with these credentials (certificate signed by --tls_ca, for ",
                      expected, ", valid until ", FormatTime(X509_get0_notAfter(peer)),
                      "), so the cause is elsewhere");
}

}  // namespace aia::security
