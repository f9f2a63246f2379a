// A real WorkerServer over gRPC, driven as a hostile or broken coordinator would:
// cutting-plane tasks whose first-stage point Clp cannot take (x = 1e99 aborted the
// daemon in a Clp assertion) are refused with InvalidArgument naming the task field,
// and the daemon goes on serving good tasks.
#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "algorithms/algorithm.h"
#include "proto/algorithms.pb.h"
#include "proto/worker.grpc.pb.h"
#include "worker/worker_server.h"

namespace aia {
namespace {

using ::testing::HasSubstr;
using v1::FromWorker;
using v1::ToWorker;

// Every stream in these tests is bounded by this.
constexpr auto kDeadline = std::chrono::seconds(20);

// A newsvendor: order x at cost 1, sell y <= min(x, demand) at price 3.
constexpr char kCore[] =
    "NAME NEWS\nROWS\n N OBJ\n L CAPX\n L SELL\n L DEMAND\nCOLUMNS\n X OBJ 1 CAPX 1\n"
    " X SELL -1\n Y OBJ -3 SELL 1\n Y DEMAND 1\nRHS\n RHS CAPX 100\n RHS DEMAND 3\nENDATA\n";
constexpr char kTime[] = "TIME NEWS\nPERIODS\n X CAPX P1\n Y SELL P2\nENDATA\n";
constexpr char kSto[] =
    "STOCH NEWS\nINDEP DISCRETE\n RHS DEMAND 1 P2 0.25\n RHS DEMAND 3 P2 0.5\n"
    " RHS DEMAND 5 P2 0.25\nENDATA\n";

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/cut_task.XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern;
  return pattern;
}

std::string Encode(const std::vector<double>& values) {
  std::string bytes(values.size() * sizeof(double), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

ToWorker SetupMessage() {
  ToWorker message;
  v1::Setup* setup = message.mutable_setup();
  setup->set_run_id("cut-task-test");
  setup->mutable_algorithm()->set_name("cutting_plane");
  setup->mutable_algorithm()->mutable_cutting_plane();
  v1::ProblemSpec* problem = setup->mutable_problem();
  problem->set_name("two_stage_lp");
  problem->mutable_smps()->set_cor("news.cor");
  problem->mutable_smps()->set_tim("news.tim");
  problem->mutable_smps()->set_sto("news.sto");
  setup->set_worker_index(0);
  setup->set_worker_count(1);
  // The types and meaning this build's plugin declares, as a coordinator sends them.
  absl::StatusOr<std::unique_ptr<Algorithm>> algorithm =
      NewAlgorithm(AlgorithmContext{setup->algorithm(), 0, -1, 1});
  EXPECT_TRUE(algorithm.ok()) << algorithm.status();
  if (algorithm.ok()) {
    setup->set_query_type((*algorithm)->query_type());
    setup->set_answer_type((*algorithm)->answer_type());
    setup->set_algorithm_version((*algorithm)->message_version());
  }
  return message;
}

ToWorker TaskMessage(uint64_t id, const std::vector<double>& x) {
  v1::CutTask task;
  task.set_candidate(id);
  task.set_chunk(0);
  task.set_x(Encode(x));
  task.set_first_piece(0);
  task.set_pieces(3);
  // Task-pool queries carry a block of tasks.
  v1::TaskBlock block;
  block.add_items(task.SerializeAsString());
  ToWorker message;
  message.mutable_query()->set_id(id);
  message.mutable_query()->set_iteration(static_cast<int64_t>(id));
  message.mutable_query()->set_payload(block.SerializeAsString());
  return message;
}

class CutTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_root_ = MakeTempDir();
    std::ofstream(data_root_ + "/news.cor") << kCore;
    std::ofstream(data_root_ + "/news.tim") << kTime;
    std::ofstream(data_root_ + "/news.sto") << kSto;
    WorkerServer::Options options;
    options.listen = "127.0.0.1:0";
    options.data_root = data_root_;
    absl::StatusOr<std::unique_ptr<WorkerServer>> server = WorkerServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  // One session: Setup, then `task`; returns the reply to the task.
  FromWorker Send(const ToWorker& task) {
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    std::unique_ptr<v1::Worker::Stub> stub = v1::Worker::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    auto stream = stub->Session(&context);
    FromWorker reply;
    EXPECT_TRUE(stream->Write(SetupMessage()));
    EXPECT_TRUE(stream->Read(&reply));
    EXPECT_TRUE(reply.has_ready()) << reply.ShortDebugString();
    EXPECT_TRUE(stream->Write(task));
    reply.Clear();
    EXPECT_TRUE(stream->Read(&reply)) << "the stream ended: did the worker die?";
    context.TryCancel();
    stream->Finish();
    return reply;
  }

  std::string data_root_;
  std::unique_ptr<WorkerServer> server_;
};

TEST_F(CutTaskTest, RefusesAPointClpCannotTakeAndGoesOnServing) {
  for (const double x : {1e99, -1e99, 1e21, 1e308, -1.7976931348623157e308}) {
    const FromWorker reply = Send(TaskMessage(1, {x}));
    EXPECT_TRUE(reply.has_error()) << x << ": " << reply.ShortDebugString();
    EXPECT_EQ(reply.error().code(), static_cast<int>(absl::StatusCode::kInvalidArgument))
        << reply.error().reason();
    EXPECT_THAT(reply.error().reason(), HasSubstr("CutTask.x"));
    EXPECT_THAT(reply.error().reason(), HasSubstr("1e20"));
  }
  // The daemon is alive and answers a good task: E[-3 min(2, d)] = -3 (0.25 + 1.5 + 0.5).
  const FromWorker reply = Send(TaskMessage(2, {2}));
  ASSERT_TRUE(reply.has_answer()) << reply.ShortDebugString();
  v1::TaskBlock answers;
  ASSERT_TRUE(answers.ParseFromString(reply.answer().payload()));
  ASSERT_EQ(answers.items_size(), 1);
  v1::CutAnswer answer;
  ASSERT_TRUE(answer.ParseFromString(answers.items(0)));
  EXPECT_TRUE(answer.feasible());
  EXPECT_NEAR(answer.value(), -3 * (0.25 * 1 + 0.5 * 2 + 0.25 * 2), 1e-9);
}

}  // namespace
}  // namespace aia
