// Runs the aia_worker binary as a separate process: startup line, health check,
// one session, and a clean exit on SIGTERM; bad flags end it with a message.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/coordinator.grpc.pb.h"
#include "proto/worker.grpc.pb.h"
#include "tests/grpc_health.h"

namespace aia {
namespace {

using ::aia::testing::HealthCheck;
using ::testing::HasSubstr;

std::string WorkerPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir != nullptr ? srcdir : ".", "/aia/worker/aia_worker");
}

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/aia_worker_test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  return pattern;
}

// The aia_worker process, with its stdout and stderr on pipes. Killed (SIGKILL) if
// still running when destroyed, so a failing test leaves no daemon behind.
class WorkerProcess {
 public:
  explicit WorkerProcess(const std::vector<std::string>& args) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    const std::string path = WorkerPath();
    std::vector<std::string> argv_strings = {path};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      close(out[0]);
      close(err[0]);
      return;
    }
    stdout_fd_ = out[0];
    stderr_fd_ = err[0];
  }

  ~WorkerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
    if (stderr_fd_ >= 0) close(stderr_fd_);
  }

  // The first line on stdout, or "" if none came before `timeout`.
  std::string ReadStdoutLine(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const size_t newline = stdout_.find('\n');
      if (newline != std::string::npos) return stdout_.substr(0, newline);
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return "";
      if (!ReadSome(stdout_fd_, stdout_, left)) return "";
    }
  }

  // Waits at most `timeout` for the process to exit; its wait status, or -1.
  int WaitForExit(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      int status;
      const pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exited_ = true;
        return status;
      }
      if (done < 0) return -1;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

  // Everything the process wrote to stderr until it closed it (bounded).
  std::string Stderr(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration() || !ReadSome(stderr_fd_, stderr_, left)) break;
    }
    return stderr_;
  }

  bool Signal(int signal_number) { return kill(pid_, signal_number) == 0; }
  pid_t pid() const { return pid_; }

 private:
  // Appends what `fd` has within `timeout`; false at end of file, error or timeout.
  static bool ReadSome(int fd, std::string& buffer, absl::Duration timeout) {
    if (fd < 0) return false;
    pollfd poll_fd = {fd, POLLIN, 0};
    const int ready = poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)) + 1);
    if (ready <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_;
  std::string stderr_;
};

TEST(AiaWorker, ServesASessionAndExitsCleanlyOnSigterm) {
  const std::string data_root = MakeTempDir();
  WorkerProcess worker({"--listen=127.0.0.1:0", "--data_root=" + data_root});
  const std::string line = worker.ReadStdoutLine(absl::Seconds(30));
  const std::string prefix = "aia_worker listening on 127.0.0.1:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u)
      << "stdout line: '" << line << "', stderr: " << worker.Stderr(absl::Seconds(1));
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line.substr(prefix.size()), &port)) << line;
  ASSERT_GT(port, 0);

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());

  grpc::Status health_status;
  const std::string health = HealthCheck(channel, health_status);
  ASSERT_TRUE(health_status.ok()) << health_status.error_code() << ": "
                                  << health_status.error_message();
  // HealthCheckResponse{status: SERVING (1)}: field 1, varint 1.
  EXPECT_EQ(health, std::string("\x08\x01", 2));
  EXPECT_EQ(HealthCheck(channel, health_status, "aia.v1.Worker"), std::string("\x08\x01", 2));

  {
    auto stub = v1::Worker::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto stream = stub->Session(&context);
    v1::ToWorker setup;
    setup.mutable_setup()->mutable_algorithm()->set_name("sgd");
    v1::ProblemSpec* problem = setup.mutable_setup()->mutable_problem();
    problem->set_name("least_squares");
    problem->mutable_synthetic()->set_rows(8);
    problem->mutable_synthetic()->set_columns(2);
    setup.mutable_setup()->set_worker_index(0);
    setup.mutable_setup()->set_worker_count(2);
    setup.mutable_setup()->set_query_type("f64le");
    setup.mutable_setup()->set_answer_type("f64le");
    setup.mutable_setup()->set_algorithm_version(
        "sgd/1: the answer is stepsize times a row gradient at the query");
    ASSERT_TRUE(stream->Write(setup));
    v1::FromWorker reply;
    ASSERT_TRUE(stream->Read(&reply));
    ASSERT_TRUE(reply.has_ready()) << reply.ShortDebugString();
    EXPECT_EQ(reply.ready().dimension(), 2);
    EXPECT_EQ(reply.ready().rows(), 4);

    v1::ToWorker query;
    query.mutable_query()->set_id(3);
    const double x[2] = {0.5, -1.0};
    query.mutable_query()->set_payload(std::string(reinterpret_cast<const char*>(x), sizeof x));
    ASSERT_TRUE(stream->Write(query));
    ASSERT_TRUE(stream->Read(&reply));
    ASSERT_TRUE(reply.has_answer()) << reply.ShortDebugString();
    EXPECT_EQ(reply.answer().query_id(), 3u);
    EXPECT_EQ(reply.answer().payload().size(), 2 * sizeof(double));

    v1::ToWorker stop;
    stop.mutable_stop();
    ASSERT_TRUE(stream->Write(stop));
    EXPECT_FALSE(stream->Read(&reply)) << reply.ShortDebugString();
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }

  ASSERT_TRUE(worker.Signal(SIGTERM));
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit within 10 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << worker.Stderr(absl::Seconds(1));
  EXPECT_THAT(worker.Stderr(absl::Seconds(1)), HasSubstr("shutting down"));
}

TEST(AiaWorker, ExitsOnSigtermWithASessionOpen) {
  WorkerProcess worker(
      {"--listen=127.0.0.1:0", "--data_root=" + MakeTempDir(), "--shutdown_grace_s=2"});
  const std::string line = worker.ReadStdoutLine(absl::Seconds(30));
  const std::string prefix = "aia_worker listening on 127.0.0.1:";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line.substr(prefix.size()), &port)) << line;

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = v1::Worker::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->Session(&context);
  v1::ToWorker setup;
  setup.mutable_setup()->mutable_algorithm()->set_name("echo");
  setup.mutable_setup()->mutable_algorithm()->mutable_echo()->set_dimension(2);
  setup.mutable_setup()->mutable_algorithm()->mutable_echo()->set_delay_s(20);
  setup.mutable_setup()->mutable_problem()->set_name("least_squares");
  setup.mutable_setup()->mutable_problem()->mutable_synthetic()->set_rows(4);
  setup.mutable_setup()->mutable_problem()->mutable_synthetic()->set_columns(2);
  setup.mutable_setup()->set_worker_count(1);
  setup.mutable_setup()->set_query_type("f64le");
  setup.mutable_setup()->set_answer_type("f64le");
  setup.mutable_setup()->set_algorithm_version(
      "echo/1: the answer is the query (after the configured delay)");
  ASSERT_TRUE(stream->Write(setup));
  v1::FromWorker reply;
  ASSERT_TRUE(stream->Read(&reply));
  ASSERT_TRUE(reply.has_ready()) << reply.ShortDebugString();
  // A 20 s step, longer than the 2 s drain grace, keeps the session busy.
  v1::ToWorker query;
  query.mutable_query()->set_id(1);
  query.mutable_query()->mutable_payload()->assign(16, '\0');
  ASSERT_TRUE(stream->Write(query));

  // The session stays busy; SIGTERM must still end the daemon, cancelling it.
  ASSERT_TRUE(worker.Signal(SIGTERM));
  // The drain: health turns NOT_SERVING (2), for the worker's service and for the
  // server as a whole, while the session still runs its step. (Had the query not
  // been read yet, the session leaves at once and the daemon may be gone before a
  // check: that case is told by its Leave below.)
  const std::string not_serving("\x08\x02", 2);
  grpc::Status worker_status, server_status;
  std::string worker_health, server_health;
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  while (absl::Now() < deadline) {
    worker_health = HealthCheck(channel, worker_status, "aia.v1.Worker");
    server_health = HealthCheck(channel, server_status);
    if (worker_health == not_serving && server_health == not_serving) break;
    if (!worker_status.ok() && !server_status.ok()) break;  // the daemon is gone
    absl::SleepFor(absl::Milliseconds(20));
  }
  const bool saw_drain = worker_health == not_serving && server_health == not_serving;
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit within 10 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The session hears why, in-band, before the stream ends: its step outlasted the
  // grace (or, had the query not been read yet, it left at once).
  ASSERT_TRUE(stream->Read(&reply));
  EXPECT_FALSE(stream->Read(&reply));
  const grpc::Status finished = stream->Finish();
  if (reply.has_leave()) {
    EXPECT_TRUE(finished.ok()) << finished.error_message();
  } else {
    EXPECT_TRUE(saw_drain) << "health during the drain: " << worker_status.error_message()
                           << "; " << server_status.error_message();
    EXPECT_EQ(reply.error().reason(), "the worker is shutting down");
    EXPECT_EQ(finished.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
}

TEST(AiaWorker, RejectsAMissingDataRoot) {
  WorkerProcess worker({"--listen=127.0.0.1:0", "--data_root=/nonexistent/aia_data"});
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_THAT(worker.Stderr(absl::Seconds(5)),
              HasSubstr("--data_root=/nonexistent/aia_data: No such file or directory"));
}

TEST(AiaWorker, RejectsAPositionalArgument) {
  WorkerProcess worker({"--listen=127.0.0.1:0", "serve"});
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_THAT(worker.Stderr(absl::Seconds(5)), HasSubstr("unexpected argument 'serve'"));
}

TEST(AiaWorker, RejectsBoundsOutOfRange) {
  const std::string data_root = "--data_root=" + MakeTempDir();
  for (const auto& [flag, message] : std::vector<std::pair<std::string, std::string>>{
           {"--max_sessions=0", "max_sessions must be in [1, 100000], got 0"},
           {"--setup_deadline_s=0", "--setup_deadline_s must be in [0.01, 86400], got 0"},
           {"--handshake_timeout_s=nan", "--handshake_timeout_s must be in [0.01, 86400]"},
           {"--idle_timeout_s=1e9", "--idle_timeout_s must be in [0.01, 86400]"},
           {"--problem_cache_mib=-1", "--problem_cache_mib must be in [0, 2^30], got -1"},
           {"--metrics_listen=nonsense", "--metrics_listen"}}) {
    WorkerProcess worker({"--listen=127.0.0.1:0", data_root, flag});
    const int status = worker.WaitForExit(absl::Seconds(10));
    ASSERT_NE(status, -1) << flag << ": aia_worker did not exit";
    ASSERT_TRUE(WIFEXITED(status)) << flag;
    EXPECT_NE(WEXITSTATUS(status), 0) << flag;
    EXPECT_THAT(worker.Stderr(absl::Seconds(5)), HasSubstr(message)) << flag;
  }
}

TEST(AiaWorker, ReportsAnAddressItCannotListenOn) {
  WorkerProcess worker({"--listen=256.1.1.1:0", "--insecure", "--data_root=" + MakeTempDir()});
  const int status = worker.WaitForExit(absl::Seconds(20));
  ASSERT_NE(status, -1) << "aia_worker did not exit";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_THAT(worker.Stderr(absl::Seconds(5)), HasSubstr("cannot listen on 256.1.1.1:0"));
}

// TCP sockets of process `pid` in state LISTEN: the socket inodes among its file
// descriptors, looked up in /proc/net/tcp and tcp6 (state 0A).
int ListeningSockets(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  for (int fd = 0; fd < 4096; ++fd) {
    char target[256];
    const std::string link = absl::StrCat(fd_dir, "/", fd);
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    const std::string text(target, static_cast<size_t>(n));
    if (text.rfind("socket:[", 0) == 0) inodes.insert(text.substr(8, text.size() - 9));
  }
  EXPECT_FALSE(inodes.empty()) << "no sockets in " << fd_dir;
  int listening = 0;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream file(absl::StrCat("/proc/", pid, "/net/", table));
    std::string line;
    std::getline(file, line);  // the header
    while (std::getline(file, line)) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() > 9 && fields[3] == "0A" && inodes.count(fields[9]) > 0) ++listening;
    }
  }
  return listening;
}

// A Coordinator service that takes Join streams only: it records each Offer and
// keeps the stream until the worker ends it.
class OfferRecorder final : public v1::Coordinator::Service {
 public:
  grpc::Status Join(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<v1::ToWorker, v1::FromWorker>* stream) override {
    v1::FromWorker offer;
    if (stream->Read(&offer)) {
      absl::MutexLock lock(&mu_);
      offers_.push_back(offer.offer());
      auto authorization = context->client_metadata().find("authorization");
      if (authorization != context->client_metadata().end()) {
        authorization_ = std::string(authorization->second.data(), authorization->second.size());
      }
      peer_certificate_ = !context->auth_context()->GetPeerIdentity().empty();
    }
    while (!context->IsCancelled()) absl::SleepFor(absl::Milliseconds(10));
    return grpc::Status::CANCELLED;
  }

  // The first Offer, or nullopt if none came within `timeout`.
  std::optional<v1::Offer> AwaitOffer(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !offers_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&any), timeout)) return std::nullopt;
    return offers_.front();
  }

  // The first call's "authorization" metadata, and whether it came with a client
  // certificate.
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }
  bool peer_certificate() {
    absl::MutexLock lock(&mu_);
    return peer_certificate_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::Offer> offers_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
  bool peer_certificate_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(AiaWorker, JoinWithoutListenOpensNoPort) {
  OfferRecorder service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> coordinator = builder.BuildAndStart();
  ASSERT_GT(port, 0);
  const std::string join = absl::StrCat("--join=127.0.0.1:", port);

  WorkerProcess worker({join, "--join_name=joined-worker", "--data_root=" + MakeTempDir()});
  const std::optional<v1::Offer> offer = service.AwaitOffer(absl::Seconds(30));
  ASSERT_TRUE(offer.has_value()) << worker.Stderr(absl::Seconds(1));
  EXPECT_EQ(offer->name(), "joined-worker");
  EXPECT_FALSE(offer->version().empty());
  EXPECT_EQ(ListeningSockets(worker.pid()), 0);
  EXPECT_EQ(worker.ReadStdoutLine(absl::Milliseconds(100)), "");  // no "listening on"

  ASSERT_TRUE(worker.Signal(SIGTERM));
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit within 10 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(worker.Stderr(absl::Seconds(1)),
              HasSubstr(absl::StrCat("aia_worker: joining 127.0.0.1:", port, " (1 session)")));

  // With --listen as well, the worker does both.
  WorkerProcess both({join, "--listen=127.0.0.1:0", "--data_root=" + MakeTempDir()});
  const std::string line = both.ReadStdoutLine(absl::Seconds(30));
  EXPECT_EQ(line.rfind("aia_worker listening on 127.0.0.1:", 0), 0u) << line;
  EXPECT_EQ(ListeningSockets(both.pid()), 1);
  coordinator->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(AiaWorker, JoinsOverMutualTlsWithAToken) {
  // A CA, the coordinator's certificate for a name that is not the address dialled
  // (so --tls_server_name is needed), the worker's, and a token.
  const std::string certs = MakeTempDir() + "/certs";
  const std::string script = absl::StrCat(std::getenv("TEST_SRCDIR"), "/aia/scripts/make_certs.sh");
  const std::string command = absl::StrCat("/bin/bash ", script, " ", certs,
                                           " coordinator=coordinator.example worker0 > /dev/null");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = ReadFile(certs + "/ca.pem");
  ssl.pem_key_cert_pairs.push_back(
      {ReadFile(certs + "/coordinator.key"), ReadFile(certs + "/coordinator.pem")});
  OfferRecorder service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> coordinator = builder.BuildAndStart();
  ASSERT_GT(port, 0);

  WorkerProcess worker({absl::StrCat("--join=127.0.0.1:", port), "--tls_ca=" + certs + "/ca.pem",
                        "--tls_cert=" + certs + "/worker0.pem",
                        "--tls_key=" + certs + "/worker0.key", "--token_file=" + certs + "/token",
                        "--tls_server_name=coordinator.example", "--data_root=" + MakeTempDir()});
  const std::optional<v1::Offer> offer = service.AwaitOffer(absl::Seconds(30));
  ASSERT_TRUE(offer.has_value()) << worker.Stderr(absl::Seconds(1));
  EXPECT_TRUE(service.peer_certificate());
  std::string token = ReadFile(certs + "/token");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  EXPECT_EQ(service.authorization(), "Bearer " + token);
  ASSERT_TRUE(worker.Signal(SIGTERM));
  const int status = worker.WaitForExit(absl::Seconds(10));
  ASSERT_NE(status, -1) << "aia_worker did not exit within 10 s of SIGTERM";
  EXPECT_THAT(worker.Stderr(absl::Seconds(1)),
              HasSubstr("transport security: mutual TLS, bearer token (joining)"));
  coordinator->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
}

TEST(AiaWorker, RejectsBadJoinFlags) {
  const std::string data_root = "--data_root=" + MakeTempDir();
  for (const auto& [flags, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--join=nonsense"}, "--join=nonsense: expected HOST:PORT"},
           {{"--join=127.0.0.1:"}, "--join=127.0.0.1:: expected HOST:PORT"},
           {{"--join=127.0.0.1:0"}, "--join=127.0.0.1:0: the port must be in [1, 65535]"},
           {{"--join=127.0.0.1:70000"}, "--join=127.0.0.1:70000: the port must be in [1, 65535]"},
           {{"--join=10.1.2.3:7071"}, "refusing to join 10.1.2.3:7071 (not a loopback address)"},
           {{"--join=127.0.0.1:7071", "--join_sessions=0"},
            "--join_sessions must be in [1, 64], got 0"},
           {{"--join=127.0.0.1:7071", "--join_sessions=65"},
            "--join_sessions must be in [1, 64], got 65"},
           {{"--join=127.0.0.1:7071", "--join_name=" + std::string(257, 'n')},
            "--join_name has 257 bytes, more than 256"},
           {{"--join_sessions=2"}, "need --join"},
           {{"--join=127.0.0.1:7071", "--tls_server_name=coordinator"},
            "--tls_server_name=coordinator needs --tls_ca"}}) {
    std::vector<std::string> args = flags;
    args.push_back(data_root);
    WorkerProcess worker(args);
    const int status = worker.WaitForExit(absl::Seconds(10));
    ASSERT_NE(status, -1) << flags.front() << ": aia_worker did not exit";
    ASSERT_TRUE(WIFEXITED(status)) << flags.front();
    EXPECT_EQ(WEXITSTATUS(status), 2) << flags.front();
    EXPECT_THAT(worker.Stderr(absl::Seconds(5)), HasSubstr(message)) << flags.front();
  }
}

}  // namespace
}  // namespace aia
