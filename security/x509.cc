#include "security/x509.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aia::security {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string NameLine(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size);
}

bool IsIpAddress(const std::string& name) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

}  // namespace

absl::StatusOr<std::string> ReadSmallFile(absl::string_view flag, const std::string& path,
                                          size_t max_bytes) {
  const std::string what = absl::StrCat("--", flag, "=", path);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::strerror(errno)));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a regular file"));
  }
  std::string text(max_bytes + 1, '\0');
  size_t size = 0;
  while (size < text.size()) {
    const ssize_t n = read(fd, text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    size += n;
  }
  close(fd);
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": larger than ", max_bytes, " bytes"));
  }
  if (size == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": empty"));
  text.resize(size);
  return text;
}

absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const std::string& pem,
                                                       absl::string_view what) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  std::vector<X509Ptr> certificates;
  while (true) {
    X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (certificate == nullptr) break;
    certificates.emplace_back(certificate);
  }
  // The loop ends at the end of the text (PEM_R_NO_START_LINE) or at a bad block.
  const unsigned long error = ERR_peek_last_error();
  const bool at_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  if (error != 0 && !at_end) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a PEM certificate (", TakeOpenSslError(), ")"));
  }
  ERR_clear_error();
  if (certificates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"));
  }
  return certificates;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKey(const std::string& pem, absl::string_view what) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  // A passphrase callback that has none: OpenSSL must not prompt on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return -1; };
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (key == nullptr) {
    const bool encrypted = pem.find("ENCRYPTED") != std::string::npos;
    const std::string detail = TakeOpenSslError();
    return absl::InvalidArgumentError(
        absl::StrCat(what, encrypted ? ": an encrypted private key (give one without a passphrase)"
                                     : absl::StrCat(": not a PEM private key (", detail, ")")));
  }
  ERR_clear_error();
  return EvpPkeyPtr(key);
}

std::string TakeOpenSslError() {
  unsigned long error = 0;
  unsigned long last = 0;
  while ((error = ERR_get_error()) != 0) last = error;
  if (last == 0) return "";
  char text[256];
  ERR_error_string_n(last, text, sizeof(text));
  // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : text;
}

std::string FormatTime(const ASN1_TIME* time) {
  struct tm parts;
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return "an unknown date";
  char text[64];
  strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &parts);
  return text;
}

std::vector<std::string> CertificateNames(X509* certificate) {
  std::vector<std::string> names;
  auto* alt_names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (alt_names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(alt_names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(alt_names, i);
      if (name->type == GEN_DNS) {
        const ASN1_IA5STRING* dns = name->d.dNSName;
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                           ASN1_STRING_length(dns));
      } else if (name->type == GEN_IPADD) {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = "";
        const int length = ASN1_STRING_length(ip);
        if (length == 4 || length == 16) {
          inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text,
                    sizeof(text));
          names.emplace_back(text);
        }
      }
    }
    GENERAL_NAMES_free(alt_names);
  }
  if (names.empty()) {
    char common_name[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, common_name,
                                  sizeof(common_name)) > 0) {
      names.emplace_back(common_name);
    }
  }
  return names;
}

std::string SubjectOf(X509* certificate) { return NameLine(X509_get_subject_name(certificate)); }
std::string IssuerOf(X509* certificate) { return NameLine(X509_get_issuer_name(certificate)); }

bool CertificateMatches(X509* certificate, const std::string& name) {
  if (IsIpAddress(name)) return X509_check_ip_asc(certificate, name.c_str(), 0) == 1;
  return X509_check_host(certificate, name.data(), name.size(), 0, nullptr) == 1;
}

}  // namespace aia::security
