#include "security/credentials.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "security/probe.h"
#include "security/token.h"
#include "security/x509.h"

namespace aia::security {
namespace {

// A certificate this close to its end is reported at every start.
constexpr int kExpiryWarningDays = 30;

std::string Flag(absl::string_view flag, const std::string& path) {
  return absl::StrCat("--", flag, "=", path);
}

// The certificate chain and the key in `cert_file` and `key_file`, checked to
// belong together. Warnings (expired, expiring, readable key) go to `warnings`.
struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

absl::StatusOr<KeyPair> LoadKeyPair(const std::string& cert_file, const std::string& key_file,
                                    std::vector<std::string>* warnings) {
  KeyPair pair;
  ASSIGN_OR_RETURN(pair.cert_pem, ReadSmallFile("tls_cert", cert_file));
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                   ParseCertificates(pair.cert_pem, Flag("tls_cert", cert_file)));
  ASSIGN_OR_RETURN(pair.key_pem, ReadSmallFile("tls_key", key_file));
  ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKey(pair.key_pem, Flag("tls_key", key_file)));
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    TakeOpenSslError();
    return absl::InvalidArgumentError(absl::StrCat(Flag("tls_key", key_file),
                                                   " is not the key of the certificate in ",
                                                   Flag("tls_cert", cert_file)));
  }
  struct stat info;
  if (stat(key_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    warnings->push_back(absl::StrFormat(
        "warning: %s: group or others may read this private key (mode %04o); run: chmod 600 %s",
        Flag("tls_key", key_file), info.st_mode & 07777, key_file));
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(leaf);
  const ASN1_TIME* not_before = X509_get0_notBefore(leaf);
  if (X509_cmp_current_time(not_after) < 0) {
    warnings->push_back(absl::StrCat("warning: ", Flag("tls_cert", cert_file), ": expired on ",
                                     FormatTime(not_after),
                                     ": peers will refuse it (make a new one with "
                                     "scripts/make_certs.sh)"));
  } else if (X509_cmp_current_time(not_before) > 0) {
    warnings->push_back(absl::StrCat("warning: ", Flag("tls_cert", cert_file),
                                     ": not valid before ", FormatTime(not_before),
                                     ": peers will refuse it (is the clock right?)"));
  } else {
    time_t soon = time(nullptr) + kExpiryWarningDays * 86400;
    if (X509_cmp_time(not_after, &soon) < 0) {
      warnings->push_back(absl::StrCat("warning: ", Flag("tls_cert", cert_file), ": expires on ",
                                       FormatTime(not_after)));
    }
  }
  return pair;
}

absl::StatusOr<std::string> LoadCa(const std::string& ca_file) {
  ASSIGN_OR_RETURN(std::string pem, ReadSmallFile("tls_ca", ca_file));
  RETURN_IF_ERROR(ParseCertificates(pem, Flag("tls_ca", ca_file)).status());
  return pem;
}

absl::Status CheckPairFlags(const std::string& cert_file, const std::string& key_file) {
  if (!cert_file.empty() && key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag("tls_cert", cert_file), " needs --tls_key (the certificate's key)"));
  }
  if (cert_file.empty() && !key_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag("tls_key", key_file), " needs --tls_cert (the key's certificate)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(absl::string_view address) {
  absl::string_view rest = address;
  for (absl::string_view prefix : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&rest, prefix)) break;
  }
  std::string host;
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("expected [IPV6]:PORT, got '", address, "'"));
    }
    host = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected HOST:PORT, got '", address, "'"));
    }
    host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty() ||
      !std::all_of(port.begin(), port.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return absl::InvalidArgumentError(absl::StrCat("expected HOST:PORT, got '", address, "'"));
  }
  return std::make_pair(host, std::string(port));
}

bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  const std::string text(host);
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::StatusOr<ServerSecurity> MakeServerSecurity(const ServerSecurityOptions& options) {
  RETURN_IF_ERROR(CheckPairFlags(options.cert_file, options.key_file));
  if (!options.ca_file.empty() && options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag("tls_ca", options.ca_file),
                     " (mutual TLS) needs --tls_cert and --tls_key (the worker's certificate)"));
  }
  ServerSecurity security;
  security.tls = !options.cert_file.empty();
  security.mutual_tls = !options.ca_file.empty();
  security.token = !options.token_file.empty();
  if (options.insecure && (security.tls || security.token)) {
    return absl::InvalidArgumentError(
        "--insecure (plaintext without authentication) contradicts --tls_cert and --token_file");
  }
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(options.listen));
  const std::string& host = host_port.first;
  if (!security.tls && !IsLoopbackHost(host)) {
    if (security.token) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen=", options.listen,
          " is not a loopback address: a token without TLS would cross the network in clear "
          "text; add --tls_cert and --tls_key"));
    }
    if (!options.insecure) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", options.listen,
          " (not a loopback address) without TLS: give --tls_cert and --tls_key (with "
          "--token_file or --tls_ca to authenticate clients; see docs/security.md), or "
          "--insecure to serve plaintext without authentication anyway"));
    }
    security.warnings.push_back(
        absl::StrCat("WARNING: --insecure: serving ", options.listen,
                     " in plaintext without authentication: anyone who can reach this port can run "
                     "sessions and read the data under --data_root through their answers"));
  }

  if (security.tls) {
    ASSIGN_OR_RETURN(KeyPair pair,
                     LoadKeyPair(options.cert_file, options.key_file, &security.warnings));
    grpc::SslServerCredentialsOptions ssl(
        security.mutual_tls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (security.mutual_tls) {
      ASSIGN_OR_RETURN(ssl.pem_root_certs, LoadCa(options.ca_file));
    }
    ssl.pem_key_cert_pairs.push_back({pair.key_pem, pair.cert_pem});
    security.credentials = grpc::SslServerCredentials(ssl);
  } else if (security.token) {
    // Local TCP credentials: loopback peers only, and unlike plaintext credentials
    // they can carry an AuthMetadataProcessor.
    security.credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    security.credentials = grpc::InsecureServerCredentials();
  }
  if (security.token) {
    ASSIGN_OR_RETURN(std::string token, ReadTokenFile(options.token_file));
    security.credentials->SetAuthMetadataProcessor(
        std::make_shared<BearerTokenProcessor>(std::move(token), options.on_refused_call));
  }
  std::vector<std::string> parts;
  if (security.tls) parts.push_back(security.mutual_tls ? "mutual TLS" : "TLS");
  if (security.token)
    parts.push_back(security.tls ? "bearer token" : "bearer token (loopback only)");
  if (parts.empty()) parts.push_back("plaintext");
  security.description = absl::StrJoin(parts, ", ");
  return security;
}

absl::StatusOr<ClientSecurity> MakeClientSecurity(const ClientSecurityOptions& options) {
  RETURN_IF_ERROR(CheckPairFlags(options.cert_file, options.key_file));
  if (!options.cert_file.empty() && options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Flag("tls_cert", options.cert_file),
                     " (a client certificate) needs --tls_ca (the CA of the workers' "
                     "certificates)"));
  }
  if (!options.server_name.empty() && options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_server_name=", options.server_name, " needs --tls_ca"));
  }
  ClientSecurity security;
  security.tls = !options.ca_file.empty();
  security.token = !options.token_file.empty();
  security.server_name = options.server_name;

  ProbeOptions probe;
  probe.tls = security.tls;
  probe.ca_file = options.ca_file;
  probe.server_name = options.server_name;
  probe.timeout = options.probe_timeout;
  if (security.tls) {
    grpc::SslCredentialsOptions ssl;
    ASSIGN_OR_RETURN(ssl.pem_root_certs, LoadCa(options.ca_file));
    probe.ca_pem = ssl.pem_root_certs;
    if (!options.cert_file.empty()) {
      std::vector<std::string> warnings;  // a client's own expiry shows in the probe
      ASSIGN_OR_RETURN(KeyPair pair, LoadKeyPair(options.cert_file, options.key_file, &warnings));
      ssl.pem_cert_chain = pair.cert_pem;
      ssl.pem_private_key = pair.key_pem;
      probe.cert_pem = pair.cert_pem;
      probe.key_pem = pair.key_pem;
      probe.cert_file = options.cert_file;
    }
    security.credentials = grpc::SslCredentials(ssl);
  }
  if (security.token) {
    ASSIGN_OR_RETURN(std::string token, ReadTokenFile(options.token_file));
    if (security.tls) {
      security.credentials =
          grpc::CompositeChannelCredentials(security.credentials, BearerTokenCredentials(token));
    } else {
      // gRPC sends call credentials only over secure channels; local credentials are
      // one (loopback only), and the token asks for no more than that.
      security.loopback_only = true;
      security.credentials =
          grpc::CompositeChannelCredentials(grpc::experimental::LocalCredentials(LOCAL_TCP),
                                            BearerTokenCredentials(token, GRPC_SECURITY_NONE));
    }
  }
  std::vector<std::string> parts;
  if (security.tls) parts.push_back(options.cert_file.empty() ? "TLS" : "mutual TLS");
  if (security.token)
    parts.push_back(security.tls ? "bearer token" : "bearer token (loopback only)");
  if (parts.empty()) parts.push_back("plaintext");
  security.description = absl::StrJoin(parts, ", ");
  security.diagnose = [probe](const std::string& address) {
    return DiagnoseConnectFailure(probe, address);
  };
  return security;
}

absl::Status CheckWorkerAddresses(const ClientSecurity& security,
                                  const std::vector<std::string>& addresses) {
  if (!security.loopback_only) return absl::OkStatus();
  for (const std::string& address : addresses) {
    absl::StatusOr<std::pair<std::string, std::string>> host_port = SplitHostPort(address);
    if (host_port.ok() && IsLoopbackHost(host_port->first)) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "worker ", address,
        " is not on loopback: --token_file without --tls_ca would send the token in clear "
        "text; give --tls_ca (and start the worker with --tls_cert/--tls_key)"));
  }
  return absl::OkStatus();
}

}  // namespace aia::security
