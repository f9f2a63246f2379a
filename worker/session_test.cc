#include "worker/session.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "proto/worker.pb.h"
#include "worker/problem_cache.h"

namespace aia {
namespace {

TEST(LomaxDelay, RepeatsForASeed) {
  uint64_t a = 42, b = 42, c = 43;
  for (int i = 0; i < 100; ++i) {
    const double x = LomaxDelay(a, 2.5, 0.01);
    EXPECT_EQ(x, LomaxDelay(b, 2.5, 0.01));
    EXPECT_GE(x, 0);
  }
  EXPECT_NE(LomaxDelay(a, 2.5, 0.01), LomaxDelay(c, 2.5, 0.01));
}

TEST(LomaxDelay, HasTheLomaxMeanAndTail) {
  uint64_t state = 7;
  const double shape = 3, scale = 0.02;
  const int n = 200000;
  double sum = 0;
  int beyond = 0;
  for (int i = 0; i < n; ++i) {
    const double x = LomaxDelay(state, shape, scale);
    sum += x;
    beyond += x > 0.1;
  }
  EXPECT_NEAR(sum / n, scale / (shape - 1), 0.05 * scale / (shape - 1));  // mean 0.01
  const double tail = std::pow(1 + 0.1 / scale, -shape);                  // P(> 0.1) = 1/216
  EXPECT_NEAR(static_cast<double>(beyond) / n, tail, 0.15 * tail);
}

TEST(LomaxDelay, OffWithoutAModel) {
  uint64_t state = 1;
  EXPECT_EQ(LomaxDelay(state, 0, 0.5), 0);
  EXPECT_EQ(LomaxDelay(state, 2, 0), 0);
}

// A Setup of the echo (answer = query) on a small synthetic problem.
v1::ToWorker EchoSetup(int dimension, int64_t max_message_bytes) {
  v1::ToWorker message;
  v1::Setup* setup = message.mutable_setup();
  setup->mutable_algorithm()->set_name("echo");
  setup->mutable_algorithm()->mutable_echo()->set_dimension(dimension);
  setup->mutable_problem()->set_name("least_squares");
  setup->mutable_problem()->mutable_synthetic()->set_rows(4);
  setup->mutable_problem()->mutable_synthetic()->set_columns(2);
  setup->set_worker_count(1);
  setup->set_query_type("f64le");
  setup->set_answer_type("f64le");
  setup->set_algorithm_version("echo/1: the answer is the query (after the configured delay)");
  setup->set_max_message_bytes(max_message_bytes);
  return message;
}

v1::ToWorker Query(int dimension) {
  v1::ToWorker message;
  message.mutable_query()->set_id(1);
  message.mutable_query()->set_payload(std::string(dimension * sizeof(double), '\0'));
  return message;
}

TEST(WorkerSession, AnswersWithinTheSetupsMessageBound) {
  ProblemCache cache(1);
  WorkerSession session("/nonexistent-data-root", &cache);
  std::optional<WorkerReply> ready = session.Handle(EchoSetup(20, 160 + 64));
  ASSERT_TRUE(ready.has_value() && ready->message.has_ready()) << session.error();
  std::optional<WorkerReply> answer = session.Handle(Query(20));
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->message.has_answer()) << answer->message.ShortDebugString();
  EXPECT_EQ(answer->answer_payload.size(), 160u);
  EXPECT_TRUE(answer->message.answer().payload().empty());  // the payload is kept apart
  EXPECT_EQ(answer->Whole().answer().payload(), std::string(160, '\0'));
  EXPECT_FALSE(session.done());
}

TEST(WorkerSession, AnAnswerAboveTheSetupsMessageBoundEndsTheSession) {
  ProblemCache cache(1);
  WorkerSession session("/nonexistent-data-root", &cache);
  std::optional<WorkerReply> ready = session.Handle(EchoSetup(20, 160 + 63));
  ASSERT_TRUE(ready.has_value() && ready->message.has_ready()) << session.error();
  std::optional<WorkerReply> reply = session.Handle(Query(20));
  ASSERT_TRUE(reply.has_value());
  ASSERT_TRUE(reply->message.has_error()) << reply->message.ShortDebugString();
  EXPECT_EQ(reply->message.error().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(reply->message.error().reason(),
            "the answer to query 1 has a payload of 160 bytes, more than the Setup's "
            "max_message_bytes 223 allows");
  EXPECT_TRUE(reply->answer_payload.empty());
  EXPECT_TRUE(session.done());
}

}  // namespace
}  // namespace aia
