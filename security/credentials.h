// Transport security of every endpoint aia serves or dials: TLS with server
// certificates, mutual TLS, and a bearer token checked on every call. One
// implementation for the worker daemon (server side) and the coordinator (client
// side); see docs/security.md for the threat model and the flags.
//
// Server (aia_worker --tls_cert --tls_key [--tls_ca] [--token_file] [--insecure]):
//   - --tls_cert/--tls_key: TLS with that certificate chain and key.
//   - --tls_ca: mutual TLS; every client must present a certificate signed by this CA
//     (checked in the TLS handshake).
//   - --token_file: every call must carry `authorization: Bearer <token>`
//     (BearerTokenProcessor). Without TLS the token is accepted on loopback only: the
//     server then uses gRPC's local credentials, which refuse peers that are not on
//     this machine (gRPC cannot attach a token check to plaintext credentials, and a
//     token sent in clear text over a network protects nothing).
//   - A non-loopback listen address (anything but 127.0.0.0/8, ::1, localhost) needs
//     TLS; without it the server is refused unless --insecure, which serves plaintext
//     without authentication and returns a warning to print on every start.
//
// Client (aia run --tls_ca [--tls_cert --tls_key] [--token_file] [--tls_server_name]):
//   - --tls_ca: TLS; the workers' certificates must be signed by this CA and carry the
//     worker's host name (or --tls_server_name) as a subject alternative name.
//   - --tls_cert/--tls_key: the client certificate for mutual TLS.
//   - --token_file: the token sent with every call. Without --tls_ca the channel uses
//     gRPC's local credentials: loopback workers only (CheckWorkerAddresses).
//
// Every bad file (missing, unreadable, not PEM, a key that does not match its
// certificate, a certificate without its key, a token file others can read) is an
// InvalidArgument that names the flag and the file. The token never appears in a
// message.
//
// Example:
//   ServerSecurityOptions options;
//   options.listen = "0.0.0.0:7070";
//   options.cert_file = "certs/worker0.pem";
//   options.key_file = "certs/worker0.key";
//   options.token_file = "certs/token";
//   ASSIGN_OR_RETURN(ServerSecurity security, MakeServerSecurity(options));
//   for (const std::string& warning : security.warnings) fprintf(stderr, "%s\n", ...);
//   worker_options.credentials = security.credentials;
//
// Thread safety: the functions are thread-safe; the credentials they return are
// shared by gRPC's threads.
#ifndef AIA_SECURITY_CREDENTIALS_H_
#define AIA_SECURITY_CREDENTIALS_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace aia::security {

struct ServerSecurityOptions {
  // The HOST:PORT the server will listen on (decides what plaintext is allowed).
  std::string listen;
  std::string cert_file;   // --tls_cert: PEM certificate chain, the server's first
  std::string key_file;    // --tls_key: its PEM private key
  std::string ca_file;     // --tls_ca: mutual TLS, clients' certificates checked with it
  std::string token_file;  // --token_file
  bool insecure = false;   // --insecure: allow plaintext on a non-loopback address
  // Called with the reason of each call refused for its token; may be null.
  std::function<void(const std::string& reason)> on_refused_call;
};

struct ServerSecurity {
  // Never null: TLS, local (loopback token), or plaintext credentials.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool tls = false;
  bool mutual_tls = false;
  bool token = false;
  // "mutual TLS, bearer token", "TLS", "bearer token (loopback only)", "plaintext".
  std::string description;
  // Lines to print on stderr at every start (--insecure, a certificate expired or
  // about to, a key file others may read).
  std::vector<std::string> warnings;
};

absl::StatusOr<ServerSecurity> MakeServerSecurity(const ServerSecurityOptions& options);

struct ClientSecurityOptions {
  std::string ca_file;      // --tls_ca
  std::string cert_file;    // --tls_cert
  std::string key_file;     // --tls_key
  std::string token_file;   // --token_file
  std::string server_name;  // --tls_server_name
  // Bound of one diagnose() call (TCP connect and TLS handshake together).
  absl::Duration probe_timeout = absl::Seconds(3);
};

struct ClientSecurity {
  // Null means plaintext (no flag given).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name;
  bool tls = false;
  bool token = false;
  // The token is sent without TLS: loopback workers only.
  bool loopback_only = false;
  std::string description;
  // Why a worker at `address` cannot be connected (see probe.h): a TCP connect and a
  // TLS handshake with the same CA, client certificate and expected name. For
  // RunOptions::diagnose_connect_failure.
  std::function<std::string(const std::string& address)> diagnose;
};

absl::StatusOr<ClientSecurity> MakeClientSecurity(const ClientSecurityOptions& options);

// InvalidArgument if `security` may not be used with one of `addresses` (a token
// without TLS to a worker that is not on loopback).
absl::Status CheckWorkerAddresses(const ClientSecurity& security,
                                  const std::vector<std::string>& addresses);

// "HOST:PORT", "[V6]:PORT" (and gRPC's "ipv4:", "ipv6:", "dns:///" prefixes) split
// into host (without brackets) and port; InvalidArgument otherwise.
absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(absl::string_view address);

// 127.0.0.0/8, ::1 (also IPv4-mapped loopback) and "localhost".
bool IsLoopbackHost(absl::string_view host);

}  // namespace aia::security

#endif  // AIA_SECURITY_CREDENTIALS_H_
