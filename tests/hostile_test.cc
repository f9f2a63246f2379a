// Hostile and broken clients against a real aia_worker daemon on loopback: a
// flood of streams, streams that never send a Setup, a query flood without reads,
// garbage bytes and idle connections up to the descriptor limit, an oversized
// message, a second daemon on the same port. After each attack the daemon's
// threads and memory are within their bounds and a good run completes.
//
// Each test prints one line "hostile: ..." with what it measured (threads,
// memory, time to refuse), for docs/security.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/worker.grpc.pb.h"
#include "tests/process.h"

namespace aia {
namespace {

using ::aia::testing::BackgroundProcess;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::RunProcess;
using ::aia::testing::Runfile;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;

// A field of /proc/PID/status ("Threads", "VmRSS" in kB).
int64_t ProcStatus(pid_t pid, const std::string& field) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t value = 0;
    std::vector<std::string> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &value)) return value;
  }
  return -1;
}

int Threads(pid_t pid) { return static_cast<int>(ProcStatus(pid, "Threads")); }
double RssMiB(pid_t pid) { return ProcStatus(pid, "VmRSS") / 1024.0; }

// Waits until `condition` holds (true) or `timeout` passes (false).
bool Await(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

// Waits until `count` has not moved for a second (a writer held back by flow
// control), at most 30 s; returns it.
int AwaitStall(const std::atomic<int>& count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (int settled = 0; settled < 10 && absl::Now() < deadline;) {
    const int before = count.load();
    absl::SleepFor(absl::Milliseconds(100));
    settled = count.load() == before ? settled + 1 : 0;
  }
  return count.load();
}

// A daemon with small bounds, so that attacks reach them quickly.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> flags = {}, const std::string& prefix = "") {
    std::vector<std::string> argv;
    for (absl::string_view part : absl::StrSplit(prefix, ' ', absl::SkipEmpty())) {
      argv.push_back(std::string(part));
    }
    argv.push_back(Runfile("worker/aia_worker"));
    for (const char* flag :
         {"--listen=127.0.0.1:0", "--max_sessions=8", "--setup_deadline_s=1",
          "--handshake_timeout_s=1", "--max_message_bytes=1048576", "--shutdown_grace_s=1"}) {
      argv.push_back(flag);
    }
    argv.push_back("--data_root=" + NewTempDir("data"));
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<BackgroundProcess>(argv);
    EXPECT_TRUE(process_->WaitForOutput("listening on", absl::Seconds(10))) << process_->output();
    const std::string out = process_->output();
    const size_t at = out.find("listening on ");
    if (at != std::string::npos) {
      address_ = out.substr(at + 13, out.find('\n', at) - at - 13);
    }
    // The threads of an idle daemon (gRPC's pollers, the ticker), once settled.
    absl::SleepFor(absl::Milliseconds(200));
    idle_threads_ = Threads(pid());
  }
  pid_t pid() const { return process_->pid(); }
  const std::string& address() const { return address_; }
  int idle_threads() const { return idle_threads_; }
  std::string output() const { return process_->output(); }
  int port() const { return std::stoi(address_.substr(address_.rfind(':') + 1)); }

 private:
  std::unique_ptr<BackgroundProcess> process_;
  std::string address_;
  int idle_threads_ = 0;
};

// A short real run against the daemon; its result.
ProcessResult GoodRun(const Daemon& daemon) {
  const std::string dir = NewTempDir("good");
  WriteFileOrDie(dir + "/sgd.textproto", R"pb(
    algorithm { name: "sgd" sgd { stepsize: 0.01 } }
    problem { name: "least_squares" synthetic { rows: 40 columns: 4 seed: 3 } }
    stop { iteration: 200 }
    limits { connect_timeout_s: 10 }
  )pb");
  return RunProcess({Runfile("coordinator/aia"), "run", dir + "/sgd.textproto",
                     "--workers=" + daemon.address(), "--out=" + dir + "/out", "--quiet"},
                    absl::Seconds(60));
}

// The run must complete.
void ExpectAGoodRun(const Daemon& daemon) {
  ProcessResult run = GoodRun(daemon);
  EXPECT_EQ(run.exit_code, 0) << run.err << "\ndaemon:\n" << daemon.output();
}

std::unique_ptr<v1::Worker::Stub> Stub(const std::string& address, int channel_index = 0) {
  grpc::ChannelArguments args;
  args.SetInt("hostile.channel", channel_index);  // a connection of its own
  args.SetMaxSendMessageSize(64 << 20);
  return v1::Worker::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

v1::ToWorker EchoSetup(int64_t dimension, double delay_s) {
  v1::ToWorker message;
  v1::Setup* setup = message.mutable_setup();
  setup->mutable_algorithm()->set_name("echo");
  setup->mutable_algorithm()->mutable_echo()->set_dimension(dimension);
  setup->mutable_algorithm()->mutable_echo()->set_delay_s(delay_s);
  setup->mutable_problem()->set_name("least_squares");
  setup->mutable_problem()->mutable_synthetic()->set_rows(4);
  setup->mutable_problem()->mutable_synthetic()->set_columns(2);
  setup->set_worker_count(1);
  setup->set_query_type("f64le");
  setup->set_answer_type("f64le");
  setup->set_algorithm_version("echo/1: the answer is the query (after the configured delay)");
  return message;
}

TEST(Hostile, AFloodOfStreamsIsRefusedAtOnceAndSetuplessStreamsAreClosed) {
  Daemon daemon;
  ASSERT_FALSE(daemon.address().empty());
  constexpr int kChannels = 40, kStreamsPerChannel = 50;  // 2000 streams
  std::vector<std::unique_ptr<v1::Worker::Stub>> stubs;
  for (int c = 0; c < kChannels; ++c) stubs.push_back(Stub(daemon.address(), c));
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReaderWriter<v1::ToWorker, v1::FromWorker>> stream;
    grpc::Status status;
    v1::FromWorker incoming;
    absl::Time started;
    absl::Duration took;
  };
  std::vector<std::unique_ptr<Call>> calls;
  const absl::Time start = absl::Now();
  for (int c = 0; c < kChannels; ++c) {
    for (int s = 0; s < kStreamsPerChannel; ++s) {
      auto call = std::make_unique<Call>();
      call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      call->started = absl::Now();
      call->stream = stubs[c]->PrepareAsyncSession(&call->context, &cq);
      call->stream->StartCall(reinterpret_cast<void*>(3 * calls.size()));
      calls.push_back(std::move(call));
    }
  }
  int peak_threads = 0;
  std::map<grpc::StatusCode, int> codes;
  absl::Duration slowest_refusal;
  for (size_t finished = 0; finished < calls.size();) {
    void* tag;
    bool ok;
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
    ASSERT_EQ(cq.AsyncNext(&tag, &ok, deadline), grpc::CompletionQueue::GOT_EVENT)
        << finished << " of " << calls.size() << " streams ended";
    peak_threads = std::max(peak_threads, Threads(daemon.pid()));
    // Tags: 3 i + 0 started, 3 i + 1 read done, 3 i + 2 finished. A client must
    // read the stream to its end before Finish reports the status.
    const uintptr_t id = reinterpret_cast<uintptr_t>(tag);
    Call& call = *calls[id / 3];
    if (id % 3 != 2) {
      if (ok && id % 3 == 1) {
        ASSERT_TRUE(call.incoming.has_error()) << call.incoming.DebugString();
      }
      void* next = reinterpret_cast<void*>(id - id % 3 + (ok ? 1 : 2));
      if (ok) {
        call.stream->Read(&call.incoming, next);
      } else {
        call.stream->Finish(&call.status, next);
      }
      continue;
    }
    call.took = absl::Now() - call.started;
    ++codes[call.status.error_code()];
    if (call.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      EXPECT_THAT(call.status.error_message(), HasSubstr("--max_sessions"));
      slowest_refusal = std::max(slowest_refusal, call.took);
    } else {
      EXPECT_EQ(call.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
          << call.status.error_message();
      EXPECT_THAT(call.status.error_message(), HasSubstr("no Setup within"));
    }
    ++finished;
  }
  const absl::Duration all = absl::Now() - start;
  // At most max_sessions were admitted (the others may have been admitted later,
  // as slots freed); every admitted one was closed for want of a Setup.
  EXPECT_GE(codes[grpc::StatusCode::RESOURCE_EXHAUSTED], kChannels * kStreamsPerChannel / 2);
  EXPECT_GE(codes[grpc::StatusCode::DEADLINE_EXCEEDED], 8);
  // No thread per stream: the idle daemon's threads and a few of gRPC's.
  EXPECT_LT(peak_threads, daemon.idle_threads() + 16);
  std::printf(
      "hostile: %d streams on %d connections: %d refused (slowest %.0f ms), %d closed without "
      "Setup; daemon threads %d idle, %d peak; all ended in %.1f s; RSS %.1f MiB\n",
      kChannels * kStreamsPerChannel, kChannels, codes[grpc::StatusCode::RESOURCE_EXHAUSTED],
      absl::ToDoubleMilliseconds(slowest_refusal), codes[grpc::StatusCode::DEADLINE_EXCEEDED],
      daemon.idle_threads(), peak_threads, absl::ToDoubleSeconds(all), RssMiB(daemon.pid()));
  ExpectAGoodRun(daemon);
}

TEST(Hostile, AQueryFloodWithoutReadsIsHeldByFlowControlAndCancelledAtOnce) {
  Daemon daemon;
  ASSERT_FALSE(daemon.address().empty());
  const double rss_before = RssMiB(daemon.pid());
  auto stub = Stub(daemon.address());
  auto context = std::make_unique<grpc::ClientContext>();
  auto stream = stub->Session(context.get());
  // Each step sleeps 30 s: the worker reads the Setup, the first query and one
  // more, then stops reading.
  constexpr int64_t kDimension = 100000;  // 0.8 MB a query
  ASSERT_TRUE(stream->Write(EchoSetup(kDimension, 30)));
  v1::FromWorker reply;
  do {
    ASSERT_TRUE(stream->Read(&reply));
  } while (reply.has_heartbeat());
  ASSERT_TRUE(reply.has_ready()) << reply.ShortDebugString();
  std::atomic<int> written{0};
  std::thread writer([&] {
    v1::ToWorker query;
    query.mutable_query()->mutable_payload()->assign(kDimension * 8, '\0');
    for (int i = 1; i <= 200; ++i) {  // 160 MB if nothing held it back
      query.mutable_query()->set_id(i);
      if (!stream->Write(query)) return;
      ++written;
    }
  });
  // The writes stall once the worker's inbox and the HTTP/2 windows are full.
  const int stalled_at = AwaitStall(written);
  const double rss_flooded = RssMiB(daemon.pid());
  const int threads_flooded = Threads(daemon.pid());
  EXPECT_LT(stalled_at, 200);
  EXPECT_LT(rss_flooded - rss_before, 64) << "the daemon holds what the client pushes";
  // The client leaves: the session ends at once, its 30 s step abandoned and the
  // queued queries never answered; the thread is reclaimed.
  const absl::Time cancelled = absl::Now();
  context->TryCancel();
  writer.join();
  const bool reclaimed =
      Await([&] { return Threads(daemon.pid()) < threads_flooded; }, absl::Seconds(5));
  const absl::Duration reclaim = absl::Now() - cancelled;
  EXPECT_TRUE(reclaimed) << Threads(daemon.pid()) << " threads, " << threads_flooded
                         << " during the flood";
  std::printf(
      "hostile: query flood without reads: %d of 200 queries of 0.8 MB accepted before the "
      "stream stalled; daemon RSS %.1f -> %.1f MiB, threads %d (idle %d); after cancel, "
      "thread reclaimed in %.0f ms (the step would have slept 30 s)\n",
      stalled_at, rss_before, rss_flooded, threads_flooded, daemon.idle_threads(),
      absl::ToDoubleMilliseconds(reclaim));
  ExpectAGoodRun(daemon);
}

TEST(Hostile, AClientThatNeverReadsAnswersIsHeldAndThenDropped) {
  // Fast steps (no delay): the answers, not the queries, would pile up.
  Daemon daemon;
  ASSERT_FALSE(daemon.address().empty());
  const double rss_before = RssMiB(daemon.pid());
  auto stub = Stub(daemon.address());
  grpc::ClientContext context;
  auto stream = stub->Session(&context);
  constexpr int64_t kDimension = 100000;  // 0.8 MB queries and answers
  v1::ToWorker setup = EchoSetup(kDimension, 0);
  setup.mutable_setup()->set_liveness_timeout_s(2);
  ASSERT_TRUE(stream->Write(setup));
  std::atomic<int> written{0};
  std::thread writer([&] {
    v1::ToWorker query;
    query.mutable_query()->mutable_payload()->assign(kDimension * 8, '\0');
    for (int i = 1; i <= 300; ++i) {  // 240 MB of answers if the daemon kept them
      query.mutable_query()->set_id(i);
      if (!stream->Write(query)) return;
      ++written;
    }
  });
  const int stalled_at = AwaitStall(written);
  const double rss_held = RssMiB(daemon.pid());
  EXPECT_LT(stalled_at, 300);
  EXPECT_LT(rss_held - rss_before, 64) << "the daemon keeps answers nobody reads";
  // A write that does not complete within the Setup's liveness bound (2 s) ends
  // the session: the slot and its thread are free again.
  const absl::Time held = absl::Now();
  const int threads_held = Threads(daemon.pid());
  EXPECT_TRUE(Await([&] { return Threads(daemon.pid()) <= daemon.idle_threads() + 1; },
                    absl::Seconds(10)))
      << Threads(daemon.pid()) << " threads; " << daemon.idle_threads() << " idle, "
      << threads_held << " at the stall";
  const absl::Duration dropped = absl::Now() - held;
  context.TryCancel();
  writer.join();
  std::printf(
      "hostile: a client that never reads: %d of 300 queries of 0.8 MB taken, daemon RSS %.1f -> "
      "%.1f MiB; session dropped %.1f s after the stall (liveness 2 s)\n",
      stalled_at, rss_before, rss_held, absl::ToDoubleSeconds(dropped));
  ExpectAGoodRun(daemon);
}

// A TCP connection to the daemon's port; -1 on failure.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

TEST(Hostile, GarbageBytesAreDroppedAndIdleConnectionsToTheLimitDoNotStopAccepting) {
  // A daemon with 256 file descriptors, so that idle connections reach the limit.
  Daemon daemon({}, "/usr/bin/prlimit --nofile=256:256");
  ASSERT_FALSE(daemon.address().empty());
  // Garbage instead of an HTTP/2 preface: the daemon closes the connection.
  const int garbage = Connect(daemon.port());
  ASSERT_GE(garbage, 0);
  const std::string junk = "GET / HTTP/1.1\r\n\r\n\x01\x02\x03 not gRPC at all";
  ASSERT_EQ(write(garbage, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  const absl::Time sent = absl::Now();
  char buffer[4096];
  ssize_t n;
  while ((n = read(garbage, buffer, sizeof(buffer))) > 0) {
  }
  EXPECT_EQ(n, 0) << "the daemon did not close the connection";
  const absl::Duration garbage_closed = absl::Now() - sent;
  close(garbage);

  // 400 idle connections (more than the daemon has descriptors): some are shed.
  std::vector<int> idle;
  for (int i = 0; i < 400; ++i) {
    const int fd = Connect(daemon.port());
    if (fd >= 0) idle.push_back(fd);
  }
  // The handshake timeout (1 s) closes the ones that were taken, and the daemon
  // takes the next from its backlog: it is accepting again, and a run completes,
  // while the attacker still holds its sockets. (gRPC alone would stop listening
  // for good at the first EMFILE.)
  const absl::Time flood = absl::Now();
  EXPECT_TRUE(Await([&] { return GoodRun(daemon).exit_code == 0; }, absl::Seconds(30)))
      << daemon.output();
  const absl::Duration recovered = absl::Now() - flood;
  for (int fd : idle) close(fd);
  ExpectAGoodRun(daemon);
  std::printf(
      "hostile: garbage bytes: connection closed after %.0f ms; 400 idle connections against "
      "a 256-descriptor daemon: a good run completed %.1f s later with them still open; "
      "threads %d\n",
      absl::ToDoubleMilliseconds(garbage_closed), absl::ToDoubleSeconds(recovered),
      Threads(daemon.pid()));
}

TEST(Hostile, AnOversizedMessageIsRefusedAndTheDaemonServesOn) {
  Daemon daemon;  // --max_message_bytes=1048576
  ASSERT_FALSE(daemon.address().empty());
  auto stub = Stub(daemon.address());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->Session(&context);
  v1::ToWorker setup = EchoSetup(2, 0);
  setup.mutable_setup()->set_run_id(std::string(2 << 20, 'x'));  // 2 MiB
  stream->Write(setup);
  v1::FromWorker reply;
  while (stream->Read(&reply)) {
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectAGoodRun(daemon);
}

TEST(Hostile, ASecondDaemonCannotTakeTheSamePort) {
  Daemon first;
  ASSERT_FALSE(first.address().empty());
  ProcessResult second =
      RunProcess({Runfile("worker/aia_worker"), "--listen=" + first.address(),
                  "--data_root=" + NewTempDir("second")},
                 absl::Seconds(20));
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
  EXPECT_THAT(second.err, HasSubstr("cannot listen on " + first.address()));
  ExpectAGoodRun(first);
}

}  // namespace
}  // namespace aia
