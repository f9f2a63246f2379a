#include "worker/worker_server.h"

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "algorithms/algorithm.h"
#include "proto/worker.grpc.pb.h"

namespace aia {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using v1::FromWorker;
using v1::ToWorker;

// Every stream and wait in these tests is bounded by this.
constexpr auto kDeadline = std::chrono::seconds(20);

// The synthetic least-squares problem of the sessions below: 20 rows, 5 columns;
// worker 1 of 2 (contiguous) holds 10 rows.
constexpr int kRows = 20;
constexpr int kColumns = 5;

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/worker_test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  return pattern;
}

v1::Setup SgdSetup(int worker_index = 1, int worker_count = 2) {
  v1::Setup setup;
  setup.set_run_id("test-run");
  setup.mutable_algorithm()->set_name("sgd");
  setup.mutable_algorithm()->mutable_sgd()->set_stepsize(0.5);
  v1::ProblemSpec* problem = setup.mutable_problem();
  problem->set_name("least_squares");
  problem->mutable_synthetic()->set_rows(kRows);
  problem->mutable_synthetic()->set_columns(kColumns);
  problem->mutable_synthetic()->set_seed(7);
  problem->mutable_synthetic()->set_noise(0.1);
  setup.set_worker_index(worker_index);
  setup.set_worker_count(worker_count);
  setup.set_seed(11);
  setup.set_query_type("f64le");
  setup.set_answer_type("f64le");
  return setup;
}

std::string Encode(const std::vector<double>& values) {
  std::string bytes(values.size() * sizeof(double), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<double> Decode(const std::string& bytes) {
  std::vector<double> values(bytes.size() / sizeof(double));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(double));
  return values;
}

// What the plugin of `spec` means by its messages (a Setup must say it).
std::string MessageVersion(const v1::AlgorithmSpec& spec) {
  AlgorithmContext context{spec, 0, 0, 1};
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = NewAlgorithm(context);
  return algorithm.ok() ? (*algorithm)->message_version() : "";
}

// The Setup as a message, with the algorithm's message version filled in.
ToWorker SetupMessage(const v1::Setup& setup) {
  ToWorker message;
  *message.mutable_setup() = setup;
  if (setup.algorithm_version().empty()) {
    message.mutable_setup()->set_algorithm_version(MessageVersion(setup.algorithm()));
  }
  return message;
}

ToWorker QueryMessage(uint64_t id, std::string payload) {
  ToWorker message;
  message.mutable_query()->set_id(id);
  message.mutable_query()->set_iteration(static_cast<int64_t>(id));
  message.mutable_query()->set_payload(std::move(payload));
  return message;
}

ToWorker StopMessage() {
  ToWorker message;
  message.mutable_stop()->set_reason("done");
  return message;
}

// One Session stream with a deadline, driven synchronously.
class Session {
 public:
  explicit Session(int port, std::chrono::seconds deadline = kDeadline)
      : channel_(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials())),
        stub_(v1::Worker::NewStub(channel_)) {
    context_.set_deadline(std::chrono::system_clock::now() + deadline);
    stream_ = stub_->Session(&context_);
  }

  bool Write(const ToWorker& message) { return stream_->Write(message); }

  // The next message; fails the test if the stream ended instead.
  FromWorker Read() {
    FromWorker message;
    EXPECT_TRUE(stream_->Read(&message)) << "the stream ended early";
    return message;
  }

  // True when the server closed the stream (no further message).
  bool Ended() {
    FromWorker message;
    const bool more = stream_->Read(&message);
    EXPECT_FALSE(more) << "unexpected message: " << message.ShortDebugString();
    return !more;
  }

  grpc::Status Finish() {
    stream_->WritesDone();
    return stream_->Finish();
  }

  void Cancel() { context_.TryCancel(); }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Worker::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ToWorker, FromWorker>> stream_;
};

class WorkerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_root_ = MakeTempDir();
    WorkerServer::Options options;
    options.listen = "127.0.0.1:0";
    options.data_root = data_root_;
    absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    ASSERT_GT(server_->port(), 0);
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    const absl::Time start = absl::Now();
    server_->Shutdown(absl::Seconds(1));
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "Shutdown was slow";
  }

  // Runs Setup → Ready → Stop and returns the Ready.
  v1::Ready HealthySession(const v1::Setup& setup = SgdSetup()) {
    Session session(server_->port());
    EXPECT_TRUE(session.Write(SetupMessage(setup)));
    FromWorker ready = session.Read();
    EXPECT_TRUE(ready.has_ready()) << ready.ShortDebugString();
    EXPECT_TRUE(session.Write(StopMessage()));
    EXPECT_TRUE(session.Ended());
    const grpc::Status status = session.Finish();
    EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
    return ready.ready();
  }

  // Sends `messages`, skipping the replies listed in `expected_replies` (Ready or
  // Answer messages that come before the failure), then expects an Error with
  // `code` whose reason contains every fragment, and the end of the stream.
  void ExpectSessionError(const std::vector<ToWorker>& messages, int expected_replies,
                          absl::StatusCode code, const std::vector<std::string>& fragments) {
    Session session(server_->port());
    for (const ToWorker& message : messages) {
      // The server may close the stream after its Error before every message is
      // written; a failed write is fine, the Read below tells what happened.
      if (!session.Write(message)) break;
    }
    for (int i = 0; i < expected_replies; ++i) {
      FromWorker reply = session.Read();
      EXPECT_FALSE(reply.has_error()) << reply.ShortDebugString();
    }
    FromWorker reply = session.Read();
    ASSERT_TRUE(reply.has_error()) << reply.ShortDebugString();
    EXPECT_EQ(reply.error().code(), static_cast<int>(code)) << reply.error().reason();
    for (const std::string& fragment : fragments) {
      EXPECT_THAT(reply.error().reason(), HasSubstr(fragment));
    }
    // A client is never told the worker's data root.
    EXPECT_THAT(reply.error().reason(), Not(HasSubstr(data_root_)));
    EXPECT_TRUE(session.Ended());
    // The stream ends with the status of the Error (proto/worker.proto, rule 6).
    const grpc::Status status = session.Finish();
    EXPECT_EQ(status.error_code(), static_cast<grpc::StatusCode>(code));
    EXPECT_EQ(status.error_message(), reply.error().reason());
    // The daemon goes on serving.
    const v1::Ready ready = HealthySession();
    EXPECT_EQ(ready.dimension(), kColumns);
  }

  std::string data_root_;
  std::unique_ptr<WorkerServer> server_;
};

TEST_F(WorkerServerTest, FullSession) {
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(SgdSetup(1, 2))));
  FromWorker ready = session.Read();
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  EXPECT_EQ(ready.ready().dimension(), kColumns);
  EXPECT_EQ(ready.ready().rows(), kRows / 2);
  EXPECT_FALSE(ready.ready().cached());
  EXPECT_GE(ready.ready().setup_s(), 0.0);
  EXPECT_FALSE(ready.ready().version().empty());

  // Several queries in flight: answered in order, each with its id.
  const std::vector<double> x = {0.1, -0.2, 0.3, 0.0, 1.0};
  for (uint64_t id = 40; id < 43; ++id) ASSERT_TRUE(session.Write(QueryMessage(id, Encode(x))));
  for (uint64_t id = 40; id < 43; ++id) {
    FromWorker answer = session.Read();
    ASSERT_TRUE(answer.has_answer()) << answer.ShortDebugString();
    EXPECT_EQ(answer.answer().query_id(), id);
    ASSERT_EQ(answer.answer().payload().size(), kColumns * sizeof(double));
    EXPECT_GE(answer.answer().compute_s(), 0.0);
    // A step of a row gradient of least squares is not zero at this x.
    std::vector<double> step = Decode(answer.answer().payload());
    double norm = 0;
    for (double v : step) norm += v * v;
    EXPECT_GT(norm, 0.0);
  }
  ASSERT_TRUE(session.Write(StopMessage()));
  EXPECT_TRUE(session.Ended());
  const grpc::Status status = session.Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
}

TEST_F(WorkerServerTest, EchoReturnsTheQueryBytes) {
  v1::Setup setup = SgdSetup(0, 1);
  setup.mutable_algorithm()->Clear();
  setup.mutable_algorithm()->set_name("echo");
  setup.mutable_algorithm()->mutable_echo()->set_dimension(3);
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(setup)));
  FromWorker ready = session.Read();
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  EXPECT_EQ(ready.ready().rows(), kRows);
  const std::string payload = Encode({1.5, -2.25, 1e300});
  ASSERT_TRUE(session.Write(QueryMessage(5, payload)));
  FromWorker answer = session.Read();
  ASSERT_TRUE(answer.has_answer()) << answer.ShortDebugString();
  EXPECT_EQ(answer.answer().query_id(), 5u);
  EXPECT_EQ(answer.answer().payload(), payload);
  ASSERT_TRUE(session.Write(StopMessage()));
  EXPECT_TRUE(session.Ended());
  EXPECT_TRUE(session.Finish().ok());
}

TEST_F(WorkerServerTest, SecondRunTakesTheProblemFromTheCache) {
  EXPECT_FALSE(HealthySession(SgdSetup(1, 2)).cached());
  const v1::Ready again = HealthySession(SgdSetup(1, 2));
  EXPECT_TRUE(again.cached());
  EXPECT_EQ(again.rows(), kRows / 2);
  EXPECT_EQ(again.dimension(), kColumns);
  // Another shard, another problem.
  EXPECT_FALSE(HealthySession(SgdSetup(0, 2)).cached());
  // Another worker count, another shard.
  EXPECT_FALSE(HealthySession(SgdSetup(1, 3)).cached());
  // The first shard is still cached.
  EXPECT_TRUE(HealthySession(SgdSetup(1, 2)).cached());
}

TEST_F(WorkerServerTest, TwoConcurrentSessionsGetTwoInstances) {
  EXPECT_FALSE(HealthySession().cached());
  // The first session checks the cached problem out; the second builds its own.
  Session first(server_->port());
  ASSERT_TRUE(first.Write(SetupMessage(SgdSetup())));
  FromWorker ready = first.Read();
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  EXPECT_TRUE(ready.ready().cached());
  Session second(server_->port());
  ASSERT_TRUE(second.Write(SetupMessage(SgdSetup())));
  ready = second.Read();
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  EXPECT_FALSE(ready.ready().cached());
  for (Session* session : {&first, &second}) {
    ASSERT_TRUE(session->Write(StopMessage()));
    EXPECT_TRUE(session->Ended());
    EXPECT_TRUE(session->Finish().ok());
  }
}

TEST_F(WorkerServerTest, UnknownAlgorithm) {
  v1::Setup setup = SgdSetup();
  setup.mutable_algorithm()->Clear();
  setup.mutable_algorithm()->set_name("no_such_algorithm");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kInvalidArgument,
                     {"unknown algorithm 'no_such_algorithm'", "echo", "sgd"});
}

TEST_F(WorkerServerTest, UnknownProblem) {
  v1::Setup setup = SgdSetup();
  setup.mutable_problem()->set_name("no_such_problem");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kInvalidArgument,
                     {"unknown problem 'no_such_problem'", "least_squares"});
}

TEST_F(WorkerServerTest, MissingDataFile) {
  v1::Setup setup = SgdSetup();
  setup.mutable_problem()->mutable_file()->set_path("missing/heart_scale");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kNotFound,
                     {"'<data_root>/missing/heart_scale'"});
}

TEST_F(WorkerServerTest, DataPathOutsideTheDataRoot) {
  v1::Setup setup = SgdSetup();
  setup.mutable_problem()->mutable_file()->set_path("../elsewhere.csv");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kPermissionDenied,
                     {"'../elsewhere.csv'", "outside the data root"});
  setup.mutable_problem()->mutable_file()->set_path("/etc/hostname");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kPermissionDenied,
                     {"'/etc/hostname'", "outside the data root"});
}

TEST_F(WorkerServerTest, QueryTypeMismatch) {
  v1::Setup setup = SgdSetup();
  setup.set_query_type("aia.v1.SomethingElse");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kFailedPrecondition,
                     {"takes f64le queries", "aia.v1.SomethingElse"});
}

TEST_F(WorkerServerTest, AnswerTypeMismatch) {
  v1::Setup setup = SgdSetup();
  setup.set_answer_type("f32le");
  ExpectSessionError({SetupMessage(setup)}, 0, absl::StatusCode::kFailedPrecondition,
                     {"gives f64le answers", "f32le"});
}

TEST_F(WorkerServerTest, QueryBeforeSetup) {
  ExpectSessionError({QueryMessage(1, Encode({1, 2, 3, 4, 5}))}, 0,
                     absl::StatusCode::kFailedPrecondition,
                     {"first message of a session must be a Setup"});
}

TEST_F(WorkerServerTest, SecondSetup) {
  ExpectSessionError({SetupMessage(SgdSetup()), SetupMessage(SgdSetup())}, 1,
                     absl::StatusCode::kFailedPrecondition, {"second Setup"});
}

TEST_F(WorkerServerTest, EmptyMessage) {
  ExpectSessionError({ToWorker()}, 0, absl::StatusCode::kFailedPrecondition,
                     {"first message of a session must be a Setup"});
  // Also after a good Setup.
  ExpectSessionError({SetupMessage(SgdSetup()), ToWorker()}, 1, absl::StatusCode::kInvalidArgument,
                     {"empty message"});
}

TEST_F(WorkerServerTest, QueryOfWrongDimension) {
  ExpectSessionError({SetupMessage(SgdSetup()), QueryMessage(1, Encode({1, 2, 3, 4, 5})),
                      QueryMessage(2, Encode({1, 2, 3}))},
                     2, absl::StatusCode::kInvalidArgument,
                     {"worker step on query 2 failed", "dimension 3 but the problem has 5"});
}

TEST_F(WorkerServerTest, PayloadNotAMultipleOfEightBytes) {
  ExpectSessionError({SetupMessage(SgdSetup()), QueryMessage(9, std::string(12, 'x'))}, 1,
                     absl::StatusCode::kDataLoss, {"query 9", "12 bytes, not a multiple of 8"});
}

TEST_F(WorkerServerTest, WorkerIndexOutOfRange) {
  ExpectSessionError({SetupMessage(SgdSetup(2, 2))}, 0, absl::StatusCode::kInvalidArgument,
                     {"worker index 2 of 2"});
  ExpectSessionError({SetupMessage(SgdSetup(-1, 2))}, 0, absl::StatusCode::kInvalidArgument,
                     {"worker index -1 of 2"});
  ExpectSessionError({SetupMessage(SgdSetup(0, 0))}, 0, absl::StatusCode::kInvalidArgument,
                     {"worker index 0 of 0"});
}

TEST_F(WorkerServerTest, MessagesAfterAnErrorAreIgnored) {
  // The session ends at its first error; the Query written after it gets no reply.
  ExpectSessionError({QueryMessage(1, ""), SetupMessage(SgdSetup()), QueryMessage(2, "")}, 0,
                     absl::StatusCode::kFailedPrecondition,
                     {"first message of a session must be a Setup"});
}

TEST_F(WorkerServerTest, ClientHalfCloseEndsTheSession) {
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(SgdSetup())));
  ASSERT_TRUE(session.Read().has_ready());
  // No Stop: closing the client's side ends the session as well.
  const grpc::Status status = session.Finish();
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_TRUE(HealthySession().cached());
}

TEST_F(WorkerServerTest, AbruptDisconnectLeavesTheServerServing) {
  {
    Session session(server_->port());
    ASSERT_TRUE(session.Write(SetupMessage(SgdSetup())));
    ASSERT_TRUE(session.Read().has_ready());
    // Queries in flight, then the client goes away without Stop.
    for (uint64_t id = 0; id < 20; ++id) {
      session.Write(QueryMessage(id, Encode({1, 2, 3, 4, 5})));
    }
    session.Cancel();
    const grpc::Status status = session.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  }
  {
    // Cancelled right after the Setup was sent.
    Session session(server_->port());
    ASSERT_TRUE(session.Write(SetupMessage(SgdSetup(0, 2))));
    session.Cancel();
    EXPECT_EQ(session.Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  const v1::Ready ready = HealthySession();
  EXPECT_EQ(ready.dimension(), kColumns);
}

TEST_F(WorkerServerTest, ADrainDuringAStepEndsWithTheStatusOfItsError) {
  v1::Setup setup = SgdSetup(0, 1);
  setup.mutable_algorithm()->Clear();
  setup.mutable_algorithm()->set_name("echo");
  setup.mutable_algorithm()->mutable_echo()->set_dimension(2);
  setup.mutable_algorithm()->mutable_echo()->set_delay_s(30);
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(setup)));
  FromWorker ready;
  do {
    ready = session.Read();
  } while (ready.has_heartbeat());
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  ASSERT_TRUE(session.Write(QueryMessage(1, Encode({1, 2}))));
  // The 30 s step is under way (its thread sleeps); the drain ends it at once.
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  FromWorker last;
  do {
    last = session.Read();
  } while (last.has_heartbeat());
  EXPECT_TRUE(session.Ended());
  const grpc::Status status = session.Finish();
  if (last.has_leave()) {
    // The query was still on its way when the drain began: nothing to finish.
    EXPECT_TRUE(status.ok()) << status.error_message();
  } else {
    // The step outlasts the grace: an in-band Error, and the status says the same.
    EXPECT_EQ(last.error().reason(), "the worker is shutting down");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), "the worker is shutting down");
  }
}

TEST_F(WorkerServerTest, ADrainLetsTheStepFinishThenLeaves) {
  v1::Setup setup = SgdSetup(0, 1);
  setup.mutable_algorithm()->Clear();
  setup.mutable_algorithm()->set_name("echo");
  setup.mutable_algorithm()->mutable_echo()->set_dimension(2);
  setup.mutable_algorithm()->mutable_echo()->set_delay_s(0.5);
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(setup)));
  ASSERT_TRUE(session.Read().has_ready());
  ASSERT_TRUE(session.Write(QueryMessage(1, Encode({1, 2}))));
  server_->Shutdown(absl::Seconds(10));  // a grace longer than the step
  FromWorker message = session.Read();
  if (message.has_answer()) {  // the step was under way: its answer first
    EXPECT_EQ(message.answer().query_id(), 1u);
    message = session.Read();
  }
  EXPECT_TRUE(message.has_leave()) << message.ShortDebugString();
  EXPECT_EQ(message.leave().reason(), "the worker is shutting down");
  EXPECT_TRUE(session.Ended());
  EXPECT_TRUE(session.Finish().ok());
}

TEST_F(WorkerServerTest, ShutdownEndsALiveSessionWithinTheGrace) {
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(SgdSetup())));
  ASSERT_TRUE(session.Read().has_ready());
  // The coordinator keeps the session open; Shutdown must not wait for it forever.
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Milliseconds(500));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(5));
  // An idle session leaves at once (proto/worker.proto, rule 6): Leave, then OK.
  const FromWorker leave = session.Read();
  EXPECT_EQ(leave.leave().reason(), "the worker is shutting down");
  EXPECT_TRUE(session.Ended());
  const grpc::Status status = session.Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  // A second Shutdown (and the destructor's) is a no-op.
  server_->Shutdown();
}

TEST_F(WorkerServerTest, ShutdownAfterAnAbandonedSession) {
  auto session = std::make_unique<Session>(server_->port());
  ASSERT_TRUE(session->Write(SetupMessage(SgdSetup())));
  ASSERT_TRUE(session->Read().has_ready());
  session->Cancel();
  session.reset();
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(WorkerServerTest, ConcurrentShutdownsBothReturn) {
  Session session(server_->port());
  ASSERT_TRUE(session.Write(SetupMessage(SgdSetup())));
  ASSERT_TRUE(session.Read().has_ready());
  const absl::Time start = absl::Now();
  std::thread other([this] { server_->Shutdown(absl::Milliseconds(200)); });
  server_->Shutdown(absl::Milliseconds(200));
  other.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(session.Read().has_leave());
  EXPECT_TRUE(session.Ended());
  EXPECT_TRUE(session.Finish().ok());
}

TEST(WorkerServer, RejectsABadMessageLimit) {
  WorkerServer::Options options;
  options.max_message_bytes = 10;
  absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("max_message_bytes"));
}

TEST(WorkerServer, ReportsAnAddressItCannotListenOn) {
  WorkerServer::Options options;
  options.listen = "256.1.1.1:0";
  absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), AllOf(HasSubstr("cannot listen"), HasSubstr("256.1.1.1")));
}

}  // namespace
}  // namespace aia
