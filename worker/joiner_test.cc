// The Joiner against a minimal Coordinator service of the test's own (Join only,
// each stream driven by the test): offers, a whole session, the next stream, the
// backoff after refusals, a coordinator that restarts, the drain, and a stream
// that breaks the rules.
#include "worker/joiner.h"

#include <stdlib.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "algorithms/algorithm.h"
#include "base/version.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "metrics/worker_observer.h"
#include "proto/coordinator.grpc.pb.h"

namespace aia {
namespace {

using ::testing::HasSubstr;
using v1::FromWorker;
using v1::ToWorker;

// Every wait in these tests is bounded by this.
constexpr absl::Duration kDeadline = absl::Seconds(20);

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/joiner_test.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  return pattern;
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// A session of the synthetic least-squares problem (20 rows, 5 columns), as in
// worker_server_test; `delay_s` > 0 makes it the echo plugin with that step time.
ToWorker SetupMessage(double delay_s = 0) {
  ToWorker message;
  v1::Setup* setup = message.mutable_setup();
  setup->set_run_id("test-run");
  if (delay_s > 0) {
    setup->mutable_algorithm()->set_name("echo");
    setup->mutable_algorithm()->mutable_echo()->set_dimension(5);
    setup->mutable_algorithm()->mutable_echo()->set_delay_s(delay_s);
  } else {
    setup->mutable_algorithm()->set_name("sgd");
    setup->mutable_algorithm()->mutable_sgd()->set_stepsize(0.5);
  }
  v1::ProblemSpec* problem = setup->mutable_problem();
  problem->set_name("least_squares");
  problem->mutable_synthetic()->set_rows(20);
  problem->mutable_synthetic()->set_columns(5);
  problem->mutable_synthetic()->set_seed(7);
  setup->set_worker_index(0);
  setup->set_worker_count(1);
  setup->set_query_type("f64le");
  setup->set_answer_type("f64le");
  AlgorithmContext context{setup->algorithm(), 0, 0, 1};
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm = NewAlgorithm(context);
  EXPECT_TRUE(algorithm.ok()) << algorithm.status();
  if (algorithm.ok()) setup->set_algorithm_version((*algorithm)->message_version());
  return message;
}

ToWorker QueryMessage(uint64_t id) {
  ToWorker message;
  message.mutable_query()->set_id(id);
  const double x[5] = {0.1, -0.2, 0.3, 0.0, 1.0};
  message.mutable_query()->set_payload(std::string(reinterpret_cast<const char*>(x), sizeof x));
  return message;
}

ToWorker StopMessage() {
  ToWorker message;
  message.mutable_stop()->set_reason("done");
  return message;
}

// One Join call as the service sees it. The test reads and writes its stream and
// tells the handler how to end it (Finish); the stream is valid until then.
struct JoinCall {
  grpc::ServerContext* context = nullptr;
  grpc::ServerReaderWriter<ToWorker, FromWorker>* stream = nullptr;
  absl::Time started;
  FromWorker offer;  // the first message
  bool offered = false;
  absl::Notification verdict;
  grpc::Status status;
  absl::Notification cancelled;  // the worker cancelled the call

  void Finish(const grpc::Status& end) {
    status = end;
    verdict.Notify();
  }

  // The next message within kDeadline; false when the worker half-closed (or
  // nothing came: then the test fails and the call is cancelled).
  bool Read(FromWorker* message) {
    absl::Notification done;
    bool ok = false;
    std::thread reader([&] {
      ok = stream->Read(message);
      done.Notify();
    });
    if (!done.WaitForNotificationWithTimeout(kDeadline)) {
      ADD_FAILURE() << "the worker sent nothing within " << kDeadline;
      context->TryCancel();
    }
    reader.join();
    return ok;
  }

  // The next message other than a Heartbeat; fails the test at the stream's end.
  FromWorker ReadMessage() {
    FromWorker message;
    do {
      EXPECT_TRUE(Read(&message)) << "the stream ended early";
    } while (message.has_heartbeat());
    return message;
  }
};

// The service: Join only. Each call reads the Offer, then waits for the test's
// verdict, unless the service refuses every call with `refusal`.
class TestCoordinatorService final : public v1::Coordinator::Service {
 public:
  grpc::Status Join(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<ToWorker, FromWorker>* stream) override {
    auto call = std::make_shared<JoinCall>();
    call->context = context;
    call->stream = stream;
    call->started = absl::Now();
    call->offered = stream->Read(&call->offer);
    std::optional<grpc::Status> refusal;
    {
      absl::MutexLock lock(&mu_);
      refusal = refusal_;
      calls_.push_back(call);
    }
    if (refusal.has_value()) return *refusal;
    while (!call->verdict.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
      if (context->IsCancelled()) {
        call->cancelled.Notify();
        return grpc::Status::CANCELLED;
      }
    }
    return call->status;
  }

  void Refuse(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    refusal_ = status;
  }

  // Call number `index` (from 0), once it has come; null after kDeadline.
  std::shared_ptr<JoinCall> AwaitCall(size_t index) {
    absl::MutexLock lock(&mu_);
    auto arrived = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.size() > index; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), kDeadline)) {
      ADD_FAILURE() << "no Join call number " << index << " within " << kDeadline;
      return nullptr;
    }
    return calls_[index];
  }

  size_t calls() {
    absl::MutexLock lock(&mu_);
    return calls_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::shared_ptr<JoinCall>> calls_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> refusal_ ABSL_GUARDED_BY(mu_);
};

class TestCoordinator {
 public:
  // Listens on 127.0.0.1:`port` (0: a free one).
  explicit TestCoordinator(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    // As the coordinator's service does (proto/coordinator.proto): a ping per 5 s.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_GT(port_, 0);
  }
  ~TestCoordinator() { Stop(); }

  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
    server_->Wait();
    server_.reset();
  }

  int port() const { return port_; }
  TestCoordinatorService& service() { return service_; }

 private:
  TestCoordinatorService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Counts what the worker reports.
class TestObserver final : public WorkerObserver {
 public:
  void SessionStarted() override {
    absl::MutexLock lock(&mu_);
    ++started_;
  }
  void SessionEnded(SessionEnd cause) override {
    absl::MutexLock lock(&mu_);
    ended_.push_back(cause);
  }
  void SessionRefused(SessionRefusal) override {}
  void Answered(double) override {
    absl::MutexLock lock(&mu_);
    ++answered_;
  }
  void Received(int64_t) override {
    absl::MutexLock lock(&mu_);
    ++received_;
  }
  void Sent(int64_t) override {}
  void ProblemCacheChanged(int, int64_t) override {}

  // Waits until `count` messages were received; false after kDeadline.
  bool AwaitReceived(int count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return received_ >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kDeadline);
  }
  // Waits until `count` sessions ended and returns their causes.
  std::vector<SessionEnd> AwaitEnded(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kDeadline);
    return ended_;
  }
  int started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  int answered() {
    absl::MutexLock lock(&mu_);
    return answered_;
  }

 private:
  absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  int answered_ ABSL_GUARDED_BY(mu_) = 0;
  int received_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<SessionEnd> ended_ ABSL_GUARDED_BY(mu_);
};

class JoinerTest : public ::testing::Test {
 protected:
  void SetUp() override { data_root_ = MakeTempDir(); }

  void TearDown() override {
    if (joiner_ == nullptr) return;
    const absl::Time start = absl::Now();
    joiner_->Shutdown(absl::Seconds(1));
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "Shutdown was slow";
  }

  void StartJoiner(int port, int sessions = 1, std::string name = "test-worker") {
    Joiner::Options options;
    options.target = absl::StrCat("127.0.0.1:", port);
    options.sessions = sessions;
    options.name = std::move(name);
    options.data_root = data_root_;
    options.observer = observer_;
    options.log = [this](const std::string& line) {
      absl::MutexLock lock(&log_mu_);
      log_.push_back(line);
    };
    absl::StatusOr<std::unique_ptr<Joiner>> joiner = Joiner::Start(options);
    ASSERT_TRUE(joiner.ok()) << joiner.status();
    joiner_ = std::move(joiner).value();
  }

  std::vector<std::string> Log() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  std::string data_root_;
  std::shared_ptr<TestObserver> observer_ = std::make_shared<TestObserver>();
  std::unique_ptr<Joiner> joiner_;
  absl::Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

TEST_F(JoinerTest, OffersServesASessionThenOpensTheNextStream) {
  TestCoordinator coordinator;
  StartJoiner(coordinator.port());
  std::shared_ptr<JoinCall> call = coordinator.service().AwaitCall(0);
  ASSERT_NE(call, nullptr);
  ASSERT_TRUE(call->offered);
  ASSERT_TRUE(call->offer.has_offer()) << call->offer.ShortDebugString();
  EXPECT_EQ(call->offer.offer().version(), kVersion);
  EXPECT_EQ(call->offer.offer().host(), HostName());
  EXPECT_EQ(call->offer.offer().name(), "test-worker");
  // Waiting in the pool is no session yet.
  EXPECT_EQ(observer_->started(), 0);

  // A Heartbeat may come before the Setup.
  ToWorker heartbeat;
  heartbeat.mutable_heartbeat();
  ASSERT_TRUE(call->stream->Write(heartbeat));
  ASSERT_TRUE(call->stream->Write(SetupMessage()));
  FromWorker ready = call->ReadMessage();
  ASSERT_TRUE(ready.has_ready()) << ready.ShortDebugString();
  EXPECT_EQ(ready.ready().dimension(), 5);
  EXPECT_EQ(ready.ready().rows(), 20);
  EXPECT_EQ(ready.ready().version(), kVersion);

  ASSERT_TRUE(call->stream->Write(QueryMessage(7)));
  FromWorker answer = call->ReadMessage();
  ASSERT_TRUE(answer.has_answer()) << answer.ShortDebugString();
  EXPECT_EQ(answer.answer().query_id(), 7u);
  EXPECT_EQ(answer.answer().payload().size(), 5 * sizeof(double));
  EXPECT_GE(answer.answer().compute_s(), 0.0);

  // Stop: the worker half-closes; the service ends the call with OK.
  ASSERT_TRUE(call->stream->Write(StopMessage()));
  FromWorker after;
  EXPECT_FALSE(call->Read(&after)) << "unexpected message: " << after.ShortDebugString();
  const absl::Time ended = absl::Now();
  call->Finish(grpc::Status::OK);

  // The next stream comes at once, not after a backoff.
  std::shared_ptr<JoinCall> next = coordinator.service().AwaitCall(1);
  ASSERT_NE(next, nullptr);
  EXPECT_LT(next->started - ended, absl::Milliseconds(400));
  EXPECT_TRUE(next->offer.has_offer());

  // The observer saw one session, its answer, and why it ended.
  EXPECT_EQ(observer_->started(), 1);
  EXPECT_EQ(observer_->answered(), 1);
  EXPECT_THAT(observer_->AwaitEnded(1), ::testing::ElementsAre(SessionEnd::kStopped));
  EXPECT_TRUE(Log().empty()) << Log().front();
}

TEST_F(JoinerTest, KeepsItsStreamsOpenWithTheDefaultName) {
  TestCoordinator coordinator;
  StartJoiner(coordinator.port(), /*sessions=*/3, /*name=*/"");
  for (size_t i = 0; i < 3; ++i) {
    std::shared_ptr<JoinCall> call = coordinator.service().AwaitCall(i);
    ASSERT_NE(call, nullptr);
    EXPECT_EQ(call->offer.offer().name(), absl::StrCat(HostName(), ":", getpid()));
  }
  // Two sessions at once over two of them.
  std::shared_ptr<JoinCall> first = coordinator.service().AwaitCall(0);
  std::shared_ptr<JoinCall> second = coordinator.service().AwaitCall(2);
  for (JoinCall* call : {first.get(), second.get()}) {
    ASSERT_TRUE(call->stream->Write(SetupMessage()));
  }
  for (JoinCall* call : {first.get(), second.get()}) {
    EXPECT_TRUE(call->ReadMessage().has_ready());
  }
  EXPECT_EQ(coordinator.service().calls(), 3u);
}

TEST_F(JoinerTest, RetriesARefusalWithBackoff) {
  TestCoordinator coordinator;
  coordinator.service().Refuse(
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "the pool takes version 9.9 only"));
  StartJoiner(coordinator.port());
  std::shared_ptr<JoinCall> first = coordinator.service().AwaitCall(0);
  std::shared_ptr<JoinCall> second = coordinator.service().AwaitCall(1);
  std::shared_ptr<JoinCall> third = coordinator.service().AwaitCall(2);
  ASSERT_NE(third, nullptr);
  EXPECT_TRUE(first->offer.has_offer());
  // 0.5 s, then 1 s (each jittered by at most 10%).
  EXPECT_GE(second->started - first->started, absl::Milliseconds(400));
  EXPECT_GE(third->started - second->started, absl::Milliseconds(850));
  const std::vector<std::string> log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(log.front(), HasSubstr("cannot join the coordinator at 127.0.0.1:"));
  EXPECT_THAT(log.front(), HasSubstr("FAILED_PRECONDITION: the pool takes version 9.9 only"));
  EXPECT_THAT(log.front(), HasSubstr("next attempt in"));
  // One line a failure at most, not a flood.
  EXPECT_LE(log.size(), coordinator.service().calls());
}

TEST_F(JoinerTest, ASessionAbandonedByTheServiceIsABreak) {
  TestCoordinator coordinator;
  StartJoiner(coordinator.port());
  std::shared_ptr<JoinCall> call = coordinator.service().AwaitCall(0);
  ASSERT_NE(call, nullptr);
  ASSERT_TRUE(call->stream->Write(SetupMessage()));
  ASSERT_TRUE(call->ReadMessage().has_ready());
  const absl::Time ended = absl::Now();
  call->Finish(grpc::Status(grpc::StatusCode::ABORTED, "the run was cancelled"));
  // The backoff starts again from its first step (the Setup reset it).
  std::shared_ptr<JoinCall> next = coordinator.service().AwaitCall(1);
  ASSERT_NE(next, nullptr);
  EXPECT_GE(next->started - ended, absl::Milliseconds(400));
  EXPECT_LT(next->started - ended, absl::Seconds(5));
  const std::vector<std::string> log = Log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_THAT(log.front(), HasSubstr("the session's stream to the coordinator at 127.0.0.1:"));
  EXPECT_THAT(log.front(), HasSubstr("broke: ABORTED: the run was cancelled"));
}

TEST_F(JoinerTest, ReconnectsToACoordinatorThatIsBack) {
  auto coordinator = std::make_unique<TestCoordinator>();
  const int port = coordinator->port();
  StartJoiner(port);
  ASSERT_NE(coordinator->service().AwaitCall(0), nullptr);
  coordinator.reset();  // gone: the stream breaks, connections are refused
  coordinator = std::make_unique<TestCoordinator>(port);
  ASSERT_EQ(coordinator->port(), port);
  std::shared_ptr<JoinCall> call = coordinator->service().AwaitCall(0);
  ASSERT_NE(call, nullptr);
  EXPECT_TRUE(call->offer.has_offer());
  // And the stream serves a session.
  ASSERT_TRUE(call->stream->Write(SetupMessage()));
  EXPECT_TRUE(call->ReadMessage().has_ready());
  const std::vector<std::string> log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(log.front(), HasSubstr("cannot join the coordinator at 127.0.0.1:"));
}

TEST_F(JoinerTest, ADrainMidStepAnswersThenLeavesAndHalfCloses) {
  TestCoordinator coordinator;
  StartJoiner(coordinator.port(), /*sessions=*/2);
  std::shared_ptr<JoinCall> busy = coordinator.service().AwaitCall(0);
  std::shared_ptr<JoinCall> idle = coordinator.service().AwaitCall(1);
  ASSERT_NE(idle, nullptr);
  ASSERT_TRUE(busy->stream->Write(SetupMessage(/*delay_s=*/1)));
  ASSERT_TRUE(busy->ReadMessage().has_ready());
  ASSERT_TRUE(busy->stream->Write(QueryMessage(3)));
  // Once the worker has the query, the drain waits for its answer.
  ASSERT_TRUE(observer_->AwaitReceived(2));
  absl::Notification drained;
  std::thread drain([&] {
    joiner_->Shutdown(absl::Seconds(10));
    drained.Notify();
  });
  // The idle stream is cancelled at once.
  EXPECT_TRUE(idle->cancelled.WaitForNotificationWithTimeout(kDeadline));
  FromWorker answer = busy->ReadMessage();
  ASSERT_TRUE(answer.has_answer()) << answer.ShortDebugString();
  EXPECT_EQ(answer.answer().query_id(), 3u);
  FromWorker leave = busy->ReadMessage();
  ASSERT_TRUE(leave.has_leave()) << leave.ShortDebugString();
  EXPECT_EQ(leave.leave().reason(), "the worker is shutting down");
  FromWorker after;
  EXPECT_FALSE(busy->Read(&after)) << "unexpected message: " << after.ShortDebugString();
  EXPECT_FALSE(drained.HasBeenNotified()) << "the drain ended before the call did";
  busy->Finish(grpc::Status::OK);
  EXPECT_TRUE(drained.WaitForNotificationWithTimeout(kDeadline));
  drain.join();
  // No stream opens after the drain.
  EXPECT_EQ(coordinator.service().calls(), 2u);
  EXPECT_THAT(observer_->AwaitEnded(1), ::testing::ElementsAre(SessionEnd::kShutdown));
}

TEST_F(JoinerTest, AFirstMessageOtherThanSetupEndsTheStream) {
  TestCoordinator coordinator;
  StartJoiner(coordinator.port());
  std::shared_ptr<JoinCall> call = coordinator.service().AwaitCall(0);
  ASSERT_NE(call, nullptr);
  ASSERT_TRUE(call->stream->Write(QueryMessage(1)));
  FromWorker error = call->ReadMessage();
  ASSERT_TRUE(error.has_error()) << error.ShortDebugString();
  EXPECT_EQ(error.error().code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(error.error().reason(), HasSubstr("first message of a session must be a Setup"));
  FromWorker after;
  EXPECT_FALSE(call->Read(&after)) << "unexpected message: " << after.ShortDebugString();
  const absl::Time ended = absl::Now();
  call->Finish(grpc::Status::OK);
  // No session came of it: the next stream waits for the backoff.
  std::shared_ptr<JoinCall> next = coordinator.service().AwaitCall(1);
  ASSERT_NE(next, nullptr);
  EXPECT_GE(next->started - ended, absl::Milliseconds(400));
}

TEST(Joiner, RejectsBadOptions) {
  Joiner::Options options;
  options.target = "127.0.0.1:1";
  for (int sessions : {0, 65}) {
    options.sessions = sessions;
    absl::StatusOr<std::unique_ptr<Joiner>> joiner = Joiner::Start(options);
    EXPECT_EQ(joiner.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(joiner.status().message(), HasSubstr("join sessions must be in [1, 64]"));
  }
  options.sessions = 1;
  options.name = std::string(257, 'n');
  absl::StatusOr<std::unique_ptr<Joiner>> joiner = Joiner::Start(options);
  EXPECT_EQ(joiner.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(joiner.status().message(), HasSubstr("257 bytes"));
}

}  // namespace
}  // namespace aia
