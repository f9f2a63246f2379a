// Why a worker cannot be connected. gRPC reports a failed connect (wrong CA, host
// name mismatch, plaintext against TLS, ...) only as "cannot connect"; this probe
// makes a TCP connection and a TLS handshake of its own (OpenSSL) with the same CA,
// client certificate and expected name, and says what goes wrong:
//
//   nothing listens at 127.0.0.1:7070 (connection refused)
//   no answer from 10.0.0.5:7070 within 3 s (TCP connect timed out: ...)
//   the worker does not speak TLS (plaintext worker; start it with --tls_cert/--tls_key,
//     or drop --tls_ca)
//   the worker requires TLS (give --tls_ca)
//   the worker's certificate is not signed by --tls_ca (...)
//   the worker's certificate is for worker0.example, 10.0.0.5, not 10.0.0.6 (host name
//     mismatch; --tls_server_name?)
//   the worker's certificate expired on 2025-12-01 08:57:20 UTC
//   the worker requires a client certificate (mutual TLS: give --tls_cert/--tls_key)
//   the worker refused our client certificate (...)
//
// Thread safety: DiagnoseConnectFailure may run on several threads at once.
#ifndef AIA_SECURITY_PROBE_H_
#define AIA_SECURITY_PROBE_H_

#include <string>

#include "absl/time/time.h"

namespace aia::security {

struct ProbeOptions {
  // Whether the coordinator dials with TLS (--tls_ca given).
  bool tls = false;
  std::string ca_pem;    // the --tls_ca text
  std::string ca_file;   // its file, for messages
  std::string cert_pem;  // client certificate chain (mutual TLS), may be empty
  std::string key_pem;
  std::string cert_file;
  // The name the worker's certificate must carry; empty: the address's host.
  std::string server_name;
  // Bound of the whole probe (connect and handshake).
  absl::Duration timeout = absl::Seconds(3);
};

// One sentence on why `address` (HOST:PORT) cannot be connected with `options`, without
// a trailing period. Never blocks longer than options.timeout (name resolution
// aside).
std::string DiagnoseConnectFailure(const ProbeOptions& options, const std::string& address);

}  // namespace aia::security

#endif  // AIA_SECURITY_PROBE_H_
