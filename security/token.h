// Bearer tokens: reading a token file, comparing tokens in constant time, the
// server's check of every call (a grpc::AuthMetadataProcessor) and the client's
// per-call metadata (a grpc::MetadataCredentialsPlugin).
//
// On the wire a call carries the metadata `authorization: Bearer <token>`. The token
// itself is never logged and never part of an error message.
//
// Example (server):
//   ASSIGN_OR_RETURN(std::string token, ReadTokenFile("/etc/aia/token"));
//   credentials->SetAuthMetadataProcessor(std::make_shared<BearerTokenProcessor>(token));
// Example (client):
//   std::shared_ptr<grpc::CallCredentials> call = BearerTokenCredentials(token);
//
// Thread safety: BearerTokenProcessor and the plugin are immutable after construction;
// gRPC may call them from any thread at once.
#ifndef AIA_SECURITY_TOKEN_H_
#define AIA_SECURITY_TOKEN_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/security/credentials.h"

namespace aia::security {

// Bounds of a token, in bytes (after the one trailing newline is removed).
inline constexpr size_t kMinTokenBytes = 16;
inline constexpr size_t kMaxTokenBytes = 4096;

// Reads the token in `path` (the value of --token_file). The file must be a regular
// file that neither group nor others may access (mode 0600 or stricter: it is refused
// otherwise), hold kMinTokenBytes..kMaxTokenBytes of printable ASCII without spaces
// (what an HTTP/2 header value can carry), optionally followed by one newline.
// InvalidArgument naming --token_file and the file otherwise; the message never
// contains the file's contents.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Whether a == b, in time that depends only on b's length (b is the secret: the
// expected token). Unequal lengths compare unequal.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Checks `authorization: Bearer <token>` on every call. A call without it fails with
// UNAUTHENTICATED "missing bearer token ...", one with another token with
// UNAUTHENTICATED "wrong bearer token ...". The authorization metadata is consumed
// (the service never sees it).
class BearerTokenProcessor : public grpc::AuthMetadataProcessor {
 public:
  // `on_refused`, if set, is called with the reason of each refused call ("missing
  // bearer token", "wrong bearer token", "malformed authorization metadata"), on
  // the gRPC thread that read the call.
  explicit BearerTokenProcessor(std::string token,
                                std::function<void(const std::string& reason)> on_refused = {});

  // The check is a comparison: done inline on gRPC's thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  const std::string token_;
  const std::function<void(const std::string&)> on_refused_;
};

// Call credentials that add `authorization: Bearer <token>` to every call, sent only
// over channels of at least `min_security_level` (gRPC's default: TLS).
std::shared_ptr<grpc::CallCredentials> BearerTokenCredentials(
    const std::string& token, grpc_security_level min_security_level = GRPC_PRIVACY_AND_INTEGRITY);

}  // namespace aia::security

#endif  // AIA_SECURITY_TOKEN_H_
