#include "security/credentials.h"

#include <sys/stat.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "security/probe.h"
#include "security/refusal_log.h"

namespace aia::security {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Certificates made once by scripts/make_certs.sh: a CA, "server" for localhost and
// 127.0.0.1, "client", and a token.
class CredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir() + "/certs");
    const std::string script =
        absl::StrCat(std::getenv("TEST_SRCDIR"), "/aia/scripts/make_certs.sh");
    const std::string command = absl::StrCat("/bin/bash ", script, " ", *dir_,
                                             " server=localhost,127.0.0.1 client > /dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static std::string File(const std::string& name) { return *dir_ + "/" + name; }
  static std::string Write(const std::string& name, const std::string& text) {
    const std::string path = TempDir() + "/" + name;
    std::ofstream(path, std::ios::trunc) << text;
    chmod(path.c_str(), 0600);
    return path;
  }

  ServerSecurityOptions TlsServer() const {
    ServerSecurityOptions options;
    options.listen = "127.0.0.1:0";
    options.cert_file = File("server.pem");
    options.key_file = File("server.key");
    return options;
  }

  static std::string* dir_;
};

std::string* CredentialsTest::dir_ = nullptr;

TEST(SplitHostPort, Forms) {
  EXPECT_EQ(SplitHostPort("10.0.0.5:7070")->first, "10.0.0.5");
  EXPECT_EQ(SplitHostPort("10.0.0.5:7070")->second, "7070");
  EXPECT_EQ(SplitHostPort("[::1]:7070")->first, "::1");
  EXPECT_EQ(SplitHostPort("ipv4:127.0.0.1:1")->first, "127.0.0.1");
  EXPECT_EQ(SplitHostPort("dns:///worker0.example:1")->first, "worker0.example");
  EXPECT_FALSE(SplitHostPort("nohost").ok());
  EXPECT_FALSE(SplitHostPort("host:").ok());
  EXPECT_FALSE(SplitHostPort("host:12a").ok());
  EXPECT_FALSE(SplitHostPort("[::1:7070").ok());
}

TEST(IsLoopbackHost, OnlyLoopback) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "worker0", "localhost.evil",
                           "::ffff:10.0.0.1", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST_F(CredentialsTest, ServerFlagCombinations) {
  ServerSecurityOptions options = TlsServer();
  absl::StatusOr<ServerSecurity> tls = MakeServerSecurity(options);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->description, "TLS");
  EXPECT_TRUE(tls->warnings.empty());

  options.ca_file = File("ca.pem");
  options.token_file = File("token");
  options.listen = "0.0.0.0:7070";
  absl::StatusOr<ServerSecurity> full = MakeServerSecurity(options);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->description, "mutual TLS, bearer token");

  ServerSecurityOptions no_key = TlsServer();
  no_key.key_file = "";
  EXPECT_THAT(MakeServerSecurity(no_key).status().message(), HasSubstr("needs --tls_key"));

  ServerSecurityOptions ca_only;
  ca_only.listen = "127.0.0.1:0";
  ca_only.ca_file = File("ca.pem");
  EXPECT_THAT(MakeServerSecurity(ca_only).status().message(),
              HasSubstr("(mutual TLS) needs --tls_cert and --tls_key"));

  ServerSecurityOptions mismatch = TlsServer();
  mismatch.key_file = File("client.key");
  EXPECT_THAT(MakeServerSecurity(mismatch).status().message(),
              HasSubstr(absl::StrCat("--tls_key=", File("client.key"),
                                     " is not the key of the certificate in --tls_cert=")));

  ServerSecurityOptions not_pem = TlsServer();
  not_pem.cert_file = Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nxx\n");
  EXPECT_THAT(MakeServerSecurity(not_pem).status().message(),
              HasSubstr(absl::StrCat("--tls_cert=", not_pem.cert_file, ": not a PEM")));

  ServerSecurityOptions plain;
  plain.listen = "[::]:7070";
  EXPECT_EQ(MakeServerSecurity(plain).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MakeServerSecurity(plain).status().message(), HasSubstr("refusing to listen"));
  plain.insecure = true;
  absl::StatusOr<ServerSecurity> insecure = MakeServerSecurity(plain);
  ASSERT_TRUE(insecure.ok());
  ASSERT_EQ(insecure->warnings.size(), 1);
  EXPECT_THAT(insecure->warnings[0], HasSubstr("WARNING: --insecure"));
  plain.token_file = File("token");
  EXPECT_THAT(MakeServerSecurity(plain).status().message(), HasSubstr("contradicts"));
}

TEST_F(CredentialsTest, ClientFlagCombinations) {
  ClientSecurityOptions options;
  absl::StatusOr<ClientSecurity> plain = MakeClientSecurity(options);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->credentials, nullptr);
  EXPECT_EQ(plain->description, "plaintext");

  options.token_file = File("token");
  absl::StatusOr<ClientSecurity> token_only = MakeClientSecurity(options);
  ASSERT_TRUE(token_only.ok());
  EXPECT_TRUE(token_only->loopback_only);
  EXPECT_TRUE(CheckWorkerAddresses(*token_only, {"127.0.0.1:1", "localhost:2"}).ok());
  EXPECT_THAT(CheckWorkerAddresses(*token_only, {"127.0.0.1:1", "10.0.0.5:7070"}).message(),
              HasSubstr("worker 10.0.0.5:7070 is not on loopback"));

  ClientSecurityOptions cert_without_ca;
  cert_without_ca.cert_file = File("client.pem");
  cert_without_ca.key_file = File("client.key");
  EXPECT_THAT(MakeClientSecurity(cert_without_ca).status().message(), HasSubstr("needs --tls_ca"));
  ClientSecurityOptions name_without_ca;
  name_without_ca.server_name = "worker0";
  EXPECT_THAT(MakeClientSecurity(name_without_ca).status().message(),
              HasSubstr("--tls_server_name=worker0 needs --tls_ca"));
  ClientSecurityOptions full;
  full.ca_file = File("ca.pem");
  full.cert_file = File("client.pem");
  full.key_file = File("client.key");
  full.token_file = File("token");
  absl::StatusOr<ClientSecurity> secure = MakeClientSecurity(full);
  ASSERT_TRUE(secure.ok()) << secure.status();
  EXPECT_EQ(secure->description, "mutual TLS, bearer token");
  EXPECT_TRUE(CheckWorkerAddresses(*secure, {"10.0.0.5:7070"}).ok());
}

// A gRPC server with no methods, secured by MakeServerSecurity.
class HealthServer {
 public:
  explicit HealthServer(const ServerSecurityOptions& options) {
    absl::StatusOr<ServerSecurity> security = MakeServerSecurity(options);
    EXPECT_TRUE(security.ok()) << security.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(options.listen, security->credentials, &port_);
    // Unknown methods answer UNIMPLEMENTED: a call that passed the token check.
    builder.RegisterCallbackGenericService(&generic_);
    server_ = builder.BuildAndStart();
  }
  ~HealthServer() { server_->Shutdown(); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int port_ = 0;
  grpc::CallbackGenericService generic_;
  std::unique_ptr<grpc::Server> server_;
};

grpc::Status Check(const std::string& address, const ClientSecurityOptions& options) {
  absl::StatusOr<ClientSecurity> security = MakeClientSecurity(options);
  EXPECT_TRUE(security.ok()) << security.status();
  grpc::ChannelArguments args;
  if (!security->server_name.empty()) args.SetSslTargetNameOverride(security->server_name);
  auto channel = grpc::CreateCustomChannel(
      address,
      security->credentials != nullptr ? security->credentials : grpc::InsecureChannelCredentials(),
      args);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  // Any message will do: the generic service does not read it.
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::GenericStub stub(channel);
  grpc::Status status;
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  stub.UnaryCall(&context, "/aia.test.Any/Call", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = s;
                   done = true;
                   done_cv.notify_all();
                 });
  std::unique_lock<std::mutex> lock(mu);
  done_cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; });
  return status;
}

// Whether a call got past the transport security and the token check.
bool Authorized(const grpc::Status& status) {
  return status.ok() || status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
}

TEST_F(CredentialsTest, TokenIsCheckedOnEveryCallOverTlsAndOnLoopback) {
  ServerSecurityOptions tls = TlsServer();
  tls.token_file = File("token");
  HealthServer server(tls);
  ClientSecurityOptions client;
  client.ca_file = File("ca.pem");
  client.token_file = File("token");
  EXPECT_TRUE(Authorized(Check(server.address(), client)));
  ClientSecurityOptions no_token;
  no_token.ca_file = File("ca.pem");
  const grpc::Status missing = Check(server.address(), no_token);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("missing bearer token"));
  client.token_file = Write("other-token", "abcdefabcdefabcdefabcdef\n");
  const grpc::Status wrong = Check(server.address(), client);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), HasSubstr("wrong bearer token"));

  ServerSecurityOptions local;
  local.listen = "127.0.0.1:0";
  local.token_file = File("token");
  HealthServer loopback(local);
  ClientSecurityOptions local_client;
  local_client.token_file = File("token");
  EXPECT_TRUE(Authorized(Check(loopback.address(), local_client)));
  EXPECT_EQ(Check(loopback.address(), {}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CredentialsTest, ProbeExplainsFailures) {
  ProbeOptions tls;
  tls.tls = true;
  std::ifstream ca(File("ca.pem"));
  tls.ca_pem.assign(std::istreambuf_iterator<char>(ca), {});
  tls.ca_file = File("ca.pem");
  tls.timeout = absl::Seconds(3);

  // A port nothing listens on: a server that started and stopped.
  std::string closed;
  {
    ServerSecurityOptions plain;
    plain.listen = "127.0.0.1:0";
    HealthServer gone(plain);
    closed = gone.address();
  }
  EXPECT_EQ(DiagnoseConnectFailure(tls, closed),
            absl::StrCat("nothing listens at ", closed, " (connection refused)"));

  ServerSecurityOptions plain;
  plain.listen = "127.0.0.1:0";
  HealthServer plaintext(plain);
  EXPECT_THAT(DiagnoseConnectFailure(tls, plaintext.address()),
              HasSubstr("the worker does not speak TLS"));

  HealthServer secure(TlsServer());
  EXPECT_THAT(DiagnoseConnectFailure(ProbeOptions{}, secure.address()),
              HasSubstr("the worker requires TLS (give --tls_ca)"));
  EXPECT_THAT(DiagnoseConnectFailure(tls, secure.address()),
              HasSubstr("succeeds with these credentials"));
  ProbeOptions renamed = tls;
  renamed.server_name = "worker9.example";
  EXPECT_THAT(DiagnoseConnectFailure(renamed, secure.address()),
              HasSubstr("is for localhost, 127.0.0.1, not worker9.example (host name mismatch"));

  ServerSecurityOptions mutual = TlsServer();
  mutual.ca_file = File("ca.pem");
  HealthServer mtls(mutual);
  EXPECT_THAT(DiagnoseConnectFailure(tls, mtls.address()),
              HasSubstr("the worker requires a client certificate"));
}

TEST(HandshakeFailureCause, NamesTheCause) {
  EXPECT_THAT(HandshakeFailureCause("Handshaking failed: UNKNOWN:Ssl handshake failed: "
                                    "SSL_ERROR_SSL: error:0A0000C7:SSL routines::peer did not "
                                    "return a certificate {tsi_code:10}"),
              HasSubstr("no client certificate"));
  EXPECT_THAT(HandshakeFailureCause("Handshaking failed: ... wrong version number {x}"),
              HasSubstr("does not speak TLS"));
  EXPECT_THAT(HandshakeFailureCause("Handshaking failed: UNKNOWN:Handshake read failed {children:"
                                    "[INTERNAL:Socket closed {fd:7}]}"),
              HasSubstr("closed the connection during the TLS handshake"));
  EXPECT_EQ(HandshakeFailureCause("Handshaking failed: UNKNOWN:Handshaker shutdown"), "");
}

}  // namespace
}  // namespace aia::security
