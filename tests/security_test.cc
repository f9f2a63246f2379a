// Transport security end to end: real aia and aia_worker processes on loopback,
// certificates made by scripts/make_certs.sh in the test's temporary directory.
// Each failure mode is checked on both sides: the coordinator's error (stderr and
// summary.json) names the worker and the cause, the worker's stderr names the refused
// peer's address. Failing runs use limits.connect_timeout_s=2; every wait is bounded.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::ReadAnnouncedAddress;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = R"pb(
  algorithm {
    name: "echo"
    echo { dimension: 4 }
  }
  problem {
    name: "least_squares"
    synthetic { rows: 9 columns: 2 }
  }
  stop { iteration: 200 }
  save { iteration: 10 }
)pb";

// The certificates of one test: a cluster CA with a coordinator and worker
// certificates, an expired one, one for another name, and another CA.
struct Certs {
  std::string dir;    // ca.pem, coordinator.*, worker.*, expired.*, elsewhere.*, token
  std::string other;  // another CA: ca.pem, intruder.*, token
  std::string Ca() const { return dir + "/ca.pem"; }
  std::string Pem(const std::string& host) const { return dir + "/" + host + ".pem"; }
  std::string Key(const std::string& host) const { return dir + "/" + host + ".key"; }
  std::string Token() const { return dir + "/token"; }
  std::string OtherCa() const { return other + "/ca.pem"; }
};

void MakeCerts(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/bin/bash", Runfile("scripts/make_certs.sh")};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult made = RunProcess(argv, absl::Seconds(60));
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
}

// A running aia_worker with the given flags; its stderr goes to a file.
class Worker {
 public:
  explicit Worker(const std::vector<std::string>& flags, const std::string& listen = "127.0.0.1:0")
      : log_(NewTempDir("worker-log") + "/stderr") {
    std::vector<std::string> argv = {Runfile("worker/aia_worker"), "--listen=" + listen,
                                     "--data_root=/tmp"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::vector<char*> args;
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    const int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    close(err);
    const std::string announced = ReadAnnouncedAddress(out[0], absl::Seconds(10));
    close(out[0]);
    if (announced.empty()) {
      ADD_FAILURE() << "aia_worker did not start; stderr: " << Log();
      return;
    }
    port_ = announced.substr(announced.rfind(':') + 1);
  }
  ~Worker() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  std::string address() const { return "127.0.0.1:" + port_; }
  std::string Log() const { return ReadFileOrDie(log_); }
  // Waits (at most 10 s) until the worker's stderr contains `text`.
  std::string AwaitLog(const std::string& text) const {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    std::string log = Log();
    while (!absl::StrContains(log, text) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      log = Log();
    }
    return log;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  std::string port_;
};

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new Certs;
    certs_->dir = NewTempDir("certs");
    certs_->other = NewTempDir("other-ca");
    MakeCerts({certs_->dir, "coordinator", "worker=localhost,127.0.0.1,::1",
               "elsewhere=worker7.example,10.9.9.9"});
    MakeCerts({"--expired", certs_->dir, "expired=localhost,127.0.0.1"});
    MakeCerts({certs_->other, "intruder=localhost,127.0.0.1"});
  }
  static void TearDownTestSuite() { delete certs_; }

  void SetUp() override {
    config_ = NewTempDir("config") + "/echo.textproto";
    WriteFileOrDie(config_, kConfig);
  }

  std::vector<std::string> TlsWorkerFlags(const std::string& host = "worker") const {
    return {"--tls_cert=" + certs_->Pem(host), "--tls_key=" + certs_->Key(host)};
  }
  std::vector<std::string> MutualTlsWorkerFlags() const {
    std::vector<std::string> flags = TlsWorkerFlags();
    flags.push_back("--tls_ca=" + certs_->Ca());
    return flags;
  }
  std::vector<std::string> ClientCertFlags() const {
    return {"--tls_ca=" + certs_->Ca(), "--tls_cert=" + certs_->Pem("coordinator"),
            "--tls_key=" + certs_->Key("coordinator")};
  }

  // Runs `aia run` against `worker` with `flags`; out_ is the run directory.
  ProcessResult Run(const Worker& worker, const std::vector<std::string>& flags) {
    out_ = NewTempDir("run") + "/out";
    std::vector<std::string> argv = {Runfile("coordinator/aia"),
                                     "run",
                                     config_,
                                     "--workers=" + worker.address(),
                                     "--out=" + out_,
                                     "--quiet",
                                     "--set",
                                     "limits.connect_timeout_s=2"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return RunProcess(argv, absl::Seconds(60));
  }

  // The run failed with `cause` for worker 0 (at its address) in stderr and
  // summary.json.
  void ExpectFailed(const ProcessResult& run, const Worker& worker, const std::string& cause) {
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    const std::string worker_name = absl::StrCat("worker 0 (", worker.address(), ")");
    EXPECT_THAT(run.err, HasSubstr(worker_name));
    EXPECT_THAT(run.err, HasSubstr(cause));
    const std::string summary = ReadFileOrDie(out_ + "/summary.json");
    EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
    EXPECT_THAT(summary, HasSubstr(worker_name));
    EXPECT_THAT(summary, HasSubstr(cause));
  }

  static Certs* certs_;
  std::string config_;
  std::string out_;
};

Certs* SecurityTest::certs_ = nullptr;

TEST_F(SecurityTest, TlsRunCompletes) {
  Worker worker(TlsWorkerFlags());
  EXPECT_THAT(worker.Log(), HasSubstr("transport security: TLS"));
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->Ca()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(ReadFileOrDie(out_ + "/summary.json"), HasSubstr("\"status\": \"completed\""));
}

// The token appears in no file of the run directory and in no log.
TEST_F(SecurityTest, MutualTlsAndTokenRunCompletesAndTheTokenIsNeverWritten) {
  std::vector<std::string> flags = MutualTlsWorkerFlags();
  flags.push_back("--token_file=" + certs_->Token());
  Worker worker(flags);
  EXPECT_THAT(worker.Log(), HasSubstr("transport security: mutual TLS, bearer token"));
  std::vector<std::string> client = ClientCertFlags();
  client.push_back("--token_file=" + certs_->Token());
  const ProcessResult run = Run(worker, client);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;

  std::string token = ReadFileOrDie(certs_->Token());
  while (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_EQ(token.size(), 64);
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(out_)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_THAT(ReadFileOrDie(entry.path()), Not(HasSubstr(token))) << entry.path();
  }
  EXPECT_GE(files, 4);  // config.textproto, history.csv, workers.csv, summary.json
  EXPECT_THAT(run.out + run.err, Not(HasSubstr(token)));
  // A refused call (a wrong token) is logged without either token.
  const std::string wrong = NewTempDir("wrong") + "/token";
  WriteFileOrDie(wrong, "ffffffffffffffffffffffffffffffffff\n");
  chmod(wrong.c_str(), 0600);
  client.back() = "--token_file=" + wrong;
  const ProcessResult refused = Run(worker, client);
  EXPECT_EQ(refused.exit_code, 1);
  const std::string log = worker.AwaitLog("wrong bearer token");
  EXPECT_THAT(log, HasSubstr("wrong bearer token"));
  EXPECT_THAT(log + refused.err, Not(HasSubstr(token)));
  EXPECT_THAT(log + refused.err, Not(HasSubstr("ffffffffffffffff")));
}

TEST_F(SecurityTest, TokenWithoutTlsWorksOnLoopback) {
  Worker worker({"--token_file=" + certs_->Token()});
  EXPECT_THAT(worker.Log(), HasSubstr("bearer token (loopback only)"));
  const ProcessResult run = Run(worker, {"--token_file=" + certs_->Token()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  const ProcessResult missing = Run(worker, {});
  ExpectFailed(missing, worker, "missing bearer token");
  EXPECT_THAT(worker.AwaitLog("missing bearer token"), HasSubstr("refused a call from 127.0.0.1:"));
}

TEST_F(SecurityTest, WrongCa) {
  Worker worker(TlsWorkerFlags());
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->OtherCa()});
  ExpectFailed(run, worker, "the worker's certificate is not signed by --tls_ca");
  EXPECT_THAT(worker.AwaitLog("refused a connection"),
              HasSubstr("refused a connection from 127.0.0.1:"));
}

TEST_F(SecurityTest, HostNameMismatchAndTlsServerName) {
  Worker worker(TlsWorkerFlags("elsewhere"));
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->Ca()});
  ExpectFailed(run, worker,
               "the worker's certificate is for worker7.example, 10.9.9.9, not 127.0.0.1 (host "
               "name mismatch; --tls_server_name?)");
  EXPECT_THAT(worker.AwaitLog("host name mismatch"),
              ::testing::ContainsRegex("a connection from 127\\.0\\.0\\.1:[0-9]+ asks for the "
                                       "name 127\\.0\\.0\\.1, .*host name mismatch"));
  const ProcessResult fixed =
      Run(worker, {"--tls_ca=" + certs_->Ca(), "--tls_server_name=worker7.example"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
}

TEST_F(SecurityTest, ExpiredCertificate) {
  Worker worker(TlsWorkerFlags("expired"));
  EXPECT_THAT(worker.Log(), HasSubstr("expired on"));  // said at start
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->Ca()});
  ExpectFailed(run, worker, "the worker's certificate expired on ");
  EXPECT_THAT(worker.AwaitLog("refused a connection"),
              HasSubstr("refused a connection from 127.0.0.1:"));
}

TEST_F(SecurityTest, PlaintextCoordinatorAgainstTlsWorker) {
  Worker worker(TlsWorkerFlags());
  const ProcessResult run = Run(worker, {});
  ExpectFailed(run, worker, "the worker requires TLS (give --tls_ca)");
  EXPECT_THAT(worker.AwaitLog("does not speak TLS"),
              HasSubstr("refused a connection from 127.0.0.1:"));
}

TEST_F(SecurityTest, TlsCoordinatorAgainstPlaintextWorker) {
  Worker worker({});
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->Ca()});
  ExpectFailed(run, worker,
               "the worker does not speak TLS (plaintext worker; start it with "
               "--tls_cert/--tls_key, or drop --tls_ca)");
  // A plaintext worker has nothing to refuse with: it says it is plaintext.
  EXPECT_THAT(worker.Log(), HasSubstr("transport security: plaintext"));
}

TEST_F(SecurityTest, MissingClientCertificateUnderMutualTls) {
  Worker worker(MutualTlsWorkerFlags());
  const ProcessResult run = Run(worker, {"--tls_ca=" + certs_->Ca()});
  ExpectFailed(run, worker,
               "the worker requires a client certificate (mutual TLS: give --tls_cert/--tls_key)");
  const std::string log = worker.AwaitLog("no client certificate");
  EXPECT_THAT(log, HasSubstr("refused a connection from 127.0.0.1:"));
  EXPECT_THAT(log, HasSubstr("no client certificate"));
}

TEST_F(SecurityTest, ClientCertificateFromAnotherCa) {
  Worker worker(MutualTlsWorkerFlags());
  const ProcessResult run =
      Run(worker, {"--tls_ca=" + certs_->Ca(), "--tls_cert=" + certs_->other + "/intruder.pem",
                   "--tls_key=" + certs_->other + "/intruder.key"});
  ExpectFailed(run, worker, "the worker refused our client certificate");
  EXPECT_THAT(worker.AwaitLog("does not verify"),
              HasSubstr("its client certificate does not verify against this worker's --tls_ca"));
}

TEST_F(SecurityTest, MissingAndWrongToken) {
  std::vector<std::string> flags = MutualTlsWorkerFlags();
  flags.push_back("--token_file=" + certs_->Token());
  Worker worker(flags);
  const ProcessResult missing = Run(worker, ClientCertFlags());
  ExpectFailed(missing, worker, "missing bearer token");
  EXPECT_THAT(worker.AwaitLog("missing bearer token"), HasSubstr("refused a call from 127.0.0.1:"));

  std::vector<std::string> client = ClientCertFlags();
  client.push_back("--token_file=" + certs_->other + "/token");
  const ProcessResult wrong = Run(worker, client);
  ExpectFailed(wrong, worker, "wrong bearer token");
  const std::string log = worker.AwaitLog("wrong bearer token");
  EXPECT_THAT(log, ::testing::ContainsRegex("refused a call from 127\\.0\\.0\\.1:[0-9]+: wrong "
                                            "bearer token"));
}

TEST_F(SecurityTest, NonLoopbackListenNeedsTlsOrInsecure) {
  const std::string worker = Runfile("worker/aia_worker");
  const ProcessResult refused =
      RunProcess({worker, "--listen=0.0.0.0:0", "--data_root=/tmp"}, absl::Seconds(20));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("refusing to listen on 0.0.0.0:0 (not a loopback address) "
                                     "without TLS"));
  const ProcessResult token_only = RunProcess(
      {worker, "--listen=0.0.0.0:0", "--data_root=/tmp", "--token_file=" + certs_->Token()},
      absl::Seconds(20));
  EXPECT_EQ(token_only.exit_code, 2);
  EXPECT_THAT(token_only.err, HasSubstr("a token without TLS would cross the network"));

  Worker insecure({"--insecure"}, "0.0.0.0:0");
  EXPECT_THAT(insecure.Log(), HasSubstr("WARNING: --insecure: serving 0.0.0.0:0 in plaintext "
                                        "without authentication"));
  // It serves (on loopback too, since 0.0.0.0 is every address).
  const ProcessResult run = Run(insecure, {});
  EXPECT_EQ(run.exit_code, 0) << run.err;

  Worker tls(TlsWorkerFlags(), "0.0.0.0:0");
  EXPECT_THAT(tls.Log(), Not(HasSubstr("WARNING")));
}

TEST_F(SecurityTest, BadCredentialFilesAreUsageErrors) {
  const std::string dir = NewTempDir("bad");
  const std::string not_pem = dir + "/not.pem";
  WriteFileOrDie(not_pem, "hello\n");
  const std::string readable_token = dir + "/token";
  WriteFileOrDie(readable_token, "0123456789abcdef0123456789abcdef\n");
  chmod(readable_token.c_str(), 0644);
  Worker worker(TlsWorkerFlags());
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  } cases[] = {
      {{"--tls_ca=" + dir + "/missing.pem"}, "--tls_ca=" + dir + "/missing.pem: No such file"},
      {{"--tls_ca=" + not_pem}, "--tls_ca=" + not_pem + ": no PEM certificate"},
      {{"--tls_ca=" + certs_->Ca(), "--tls_cert=" + certs_->Pem("coordinator")},
       "--tls_cert=" + certs_->Pem("coordinator") + " needs --tls_key"},
      {{"--tls_ca=" + certs_->Ca(), "--tls_cert=" + certs_->Pem("coordinator"),
        "--tls_key=" + certs_->Key("worker")},
       "--tls_key=" + certs_->Key("worker") + " is not the key of the certificate in --tls_cert="},
      {{"--tls_ca=" + certs_->Ca(), "--tls_cert=" + certs_->Pem("coordinator"),
        "--tls_key=" + not_pem},
       "--tls_key=" + not_pem + ": not a PEM private key"},
      {{"--tls_cert=" + certs_->Pem("coordinator"), "--tls_key=" + certs_->Key("coordinator")},
       "needs --tls_ca"},
      {{"--tls_ca=" + certs_->Ca(), "--token_file=" + readable_token},
       "--token_file=" + readable_token + ": group or others may access it (mode 0644)"},
  };
  for (const Case& c : cases) {
    const ProcessResult run = Run(worker, c.flags);
    EXPECT_EQ(run.exit_code, 2) << c.error << "\n" << run.err;
    EXPECT_THAT(run.err, HasSubstr(c.error));
    EXPECT_FALSE(std::filesystem::exists(out_)) << "nothing runs on bad input";
  }
  // The worker: exit status 2 naming the flag and the file.
  const ProcessResult bad_worker =
      RunProcess({Runfile("worker/aia_worker"), "--listen=127.0.0.1:0", "--data_root=/tmp",
                  "--tls_cert=" + certs_->Pem("worker"), "--tls_key=" + certs_->Key("coordinator")},
                 absl::Seconds(20));
  EXPECT_EQ(bad_worker.exit_code, 2);
  EXPECT_THAT(bad_worker.err, HasSubstr("--tls_key=" + certs_->Key("coordinator") +
                                        " is not the key of the certificate in --tls_cert="));
}

}  // namespace
}  // namespace aia
