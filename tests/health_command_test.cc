// `aia health HOST:PORT [--service=NAME]` against real daemons: a worker
// (aia.v1.Worker), the coordinator service (aia.v1.Coordinator), an unknown
// service, an unreachable port, a worker that wants a token, bad usage.
// Exit status: 0 SERVING, 1 anything else (the message says which), 2 usage.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::After;
using ::aia::testing::BackgroundProcess;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::UnusedPort;
using ::aia::testing::WorkerProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

ProcessResult Health(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {Runfile("coordinator/aia"), "health"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, absl::Seconds(30));
}

TEST(HealthCommand, WorkerIsServing) {
  WorkerProcess worker("/");
  ASSERT_FALSE(worker.address().empty());
  for (const std::string& service : {std::string(), std::string("aia.v1.Worker")}) {
    std::vector<std::string> args = {worker.address()};
    if (!service.empty()) args.push_back("--service=" + service);
    ProcessResult health = Health(args);
    EXPECT_EQ(health.exit_code, 0) << service << ": " << health.err;
    EXPECT_EQ(health.out, "SERVING\n") << service;
  }
}

TEST(HealthCommand, CoordinatorServiceIsServing) {
  const std::string runs = NewTempDir("health_serve") + "/runs";
  BackgroundProcess serve(
      {Runfile("coordinator/aia"), "serve", "--listen=127.0.0.1:0", "--runs_dir=" + runs});
  ASSERT_TRUE(serve.WaitForOutput("aia serve: listening on ", absl::Seconds(15))) << serve.output();
  const std::string said = After(serve.output(), "aia serve: listening on ");
  const std::string address = said.substr(0, said.find(' '));
  ProcessResult health = Health({address, "--service=aia.v1.Coordinator"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");
  // The worker's service is not the coordinator's.
  ProcessResult other = Health({address, "--service=aia.v1.Worker"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, HasSubstr("unknown service 'aia.v1.Worker'"));
}

TEST(HealthCommand, UnknownServiceIsNotFound) {
  WorkerProcess worker("/");
  ProcessResult health = Health({worker.address(), "--service=aia.v1.Nothing"});
  EXPECT_EQ(health.exit_code, 1) << health.err;
  EXPECT_EQ(health.out, "");
  EXPECT_THAT(health.err, HasSubstr("unknown service 'aia.v1.Nothing' (NOT_FOUND"));
}

TEST(HealthCommand, UnreachablePortFailsSayingSo) {
  const std::string address = absl::StrCat("127.0.0.1:", UnusedPort());
  ProcessResult health = Health({address, "--health_timeout_s=3"});
  EXPECT_EQ(health.exit_code, 1) << health.err;
  EXPECT_THAT(health.err, HasSubstr(address + ": unreachable"));
  EXPECT_LT(health.wall, absl::Seconds(10));
}

TEST(HealthCommand, TokenRequired) {
  const std::string dir = NewTempDir("health_token");
  const std::string token = dir + "/token";
  WriteFileOrDie(token, "a-token-of-the-test-0123456789abcdef\n");
  ASSERT_EQ(chmod(token.c_str(), 0600), 0);
  BackgroundProcess worker({Runfile("worker/aia_worker"), "--listen=127.0.0.1:0",
                            "--data_root=/", "--token_file=" + token});
  ASSERT_TRUE(worker.WaitForOutput("listening on ", absl::Seconds(15))) << worker.output();
  const std::string said = After(worker.output(), "listening on ");
  const std::string address = said.substr(0, said.find_first_of(" \n"));

  ProcessResult without = Health({address, "--service=aia.v1.Worker"});
  EXPECT_EQ(without.exit_code, 1) << without.err;
  EXPECT_THAT(without.err, HasSubstr(": refused (UNAUTHENTICATED"));

  ProcessResult with = Health({address, "--service=aia.v1.Worker", "--token_file=" + token});
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out, "SERVING\n");
}

// --health_listen: a plaintext port with only grpc.health.v1, for probes that cannot
// speak the worker's TLS (Kubernetes' native gRPC probes). While the worker drains
// (a session's step still running), aia.v1.Worker is NOT_SERVING and "" SERVING.
TEST(HealthCommand, HealthPortFollowsTheDrain) {
  const std::string health = absl::StrCat("127.0.0.1:", UnusedPort());
  BackgroundProcess worker({Runfile("worker/aia_worker"), "--listen=127.0.0.1:0",
                            "--health_listen=" + health, "--data_root=/",
                            "--shutdown_grace_s=20"});
  ASSERT_TRUE(worker.WaitForOutput("aia_worker listening on ", absl::Seconds(10)))
      << worker.output();
  EXPECT_THAT(worker.output(), HasSubstr("aia_worker: health on 127.0.0.1:"));
  const std::string said = After(worker.output(), "aia_worker listening on ");
  const std::string address = said.substr(0, said.find_first_of(" \n"));
  for (const std::string& service : {std::string(), std::string("aia.v1.Worker")}) {
    ProcessResult serving = Health({health, "--service=" + service});
    EXPECT_EQ(serving.exit_code, 0) << service << ": " << serving.err;
    EXPECT_EQ(serving.out, "SERVING\n");
  }
  // Anything but the health service is refused on that port.
  ProcessResult other = Health({health, "--service=aia.v1.Nothing"});
  EXPECT_EQ(other.exit_code, 1);

  // A session whose steps take 2 s, then SIGTERM once its first answer is in (so a
  // step is under way): the drain waits for that step.
  const std::string dir = NewTempDir("health_drain");
  WriteFileOrDie(dir + "/slow.textproto", R"pb(
    name: "slow"
    algorithm { name: "echo" echo { dimension: 2 delay_s: 2 } }
    problem { name: "least_squares" synthetic { rows: 4 columns: 2 } }
    stop { time_s: 30 }
    save { iteration: 1 }
  )pb");
  BackgroundProcess run({Runfile("coordinator/aia"), "run", dir + "/slow.textproto",
                         "--workers=" + address, "--out=" + dir + "/out"});
  // history.csv: the header, record 0, then record 1 for the first answer.
  const std::string history = dir + "/out/history.csv";
  const absl::Time answered_by = absl::Now() + absl::Seconds(20);
  auto lines = [&] {
    std::ifstream in(history);
    return std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n');
  };
  while (lines() < 3 && absl::Now() < answered_by) absl::SleepFor(absl::Milliseconds(20));
  ASSERT_GE(lines(), 3) << run.output();
  kill(worker.pid(), SIGTERM);
  ProcessResult draining;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    draining = Health({health, "--service=aia.v1.Worker"});
  } while (draining.exit_code == 0 && absl::Now() < deadline);
  EXPECT_EQ(draining.exit_code, 1) << draining.out << draining.err;
  EXPECT_THAT(draining.err, HasSubstr("NOT_SERVING"));
  ProcessResult alive = Health({health});
  EXPECT_EQ(alive.exit_code, 0) << alive.err;  // liveness holds while it drains
  kill(run.pid(), SIGTERM);
}

TEST(HealthCommand, BadUsageIsStatusTwo) {
  EXPECT_EQ(Health({}).exit_code, 2);
  EXPECT_EQ(Health({"127.0.0.1:1", "127.0.0.1:2"}).exit_code, 2);
  ProcessResult no_port = Health({"localhost"});
  EXPECT_EQ(no_port.exit_code, 2) << no_port.err;
  EXPECT_EQ(Health({"127.0.0.1:1", "--health_timeout_s=0"}).exit_code, 2);
}

}  // namespace
}  // namespace aia
