// OpenSSL helpers shared by the credential builder and the connection probe: reading
// and parsing PEM files with errors that name the flag and the file, and describing
// certificates (names, issuer, validity) for error messages.
//
// Thread safety: every function is thread-compatible (OpenSSL 3 needs no set-up).
#ifndef AIA_SECURITY_X509_H_
#define AIA_SECURITY_X509_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aia::security {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// Largest PEM file read (a certificate chain or a key is a few KiB).
inline constexpr size_t kMaxPemBytes = 1 << 20;

// The contents of `path`, given as `--flag=path`; InvalidArgument naming both if it
// cannot be read, is not a regular file, is empty or is larger than `max_bytes`.
absl::StatusOr<std::string> ReadSmallFile(absl::string_view flag, const std::string& path,
                                          size_t max_bytes = kMaxPemBytes);

// The certificates of a PEM text (at least one); `what` ("--tls_cert=F") names it in
// errors.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const std::string& pem,
                                                       absl::string_view what);

// The unencrypted private key of a PEM text (an encrypted key is refused: a daemon
// cannot ask for a passphrase).
absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(const std::string& pem, absl::string_view what);

// The last OpenSSL error of this thread as text ("" if none); clears the queue.
std::string TakeOpenSslError();

// "2025-12-01 08:57:20 UTC".
std::string FormatTime(const ASN1_TIME* time);

// The names a certificate is for: its DNS and IP subject alternative names, or its
// common name when it has none.
std::vector<std::string> CertificateNames(X509* certificate);

// The subject and issuer as one line ("O=aia, CN=worker0").
std::string SubjectOf(X509* certificate);
std::string IssuerOf(X509* certificate);

// Whether `certificate` is for `name`: an IP address is compared with the IP names,
// anything else with the DNS names (wildcards allowed).
bool CertificateMatches(X509* certificate, const std::string& name);

}  // namespace aia::security

#endif  // AIA_SECURITY_X509_H_
