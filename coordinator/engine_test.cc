// The engine's algorithm hooks (stop now, save now, saved values, the precision
// measure, the final report), its checks on the first query and the staleness it
// tells central steps, through RunCoordinator in in-process mode with probe
// plugins registered here.
#include "coordinator/engine.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "algorithms/typed_algorithm.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

// Counts central steps. Stops after `stop_after` steps, saves every 5th, saves
// (step, 2 * step), measures precision as 1 / step, reports the step count.
// With a negative stop_after, q0 has the wrong dimension.
class Probe : public TypedAlgorithm<Vector, Vector> {
 public:
  explicit Probe(int64_t stop_after) : stop_after_(stop_after) {}

  bool supports_synchronous() const override { return true; }
  bool StopNow() override { return steps_ == stop_after_; }
  bool SaveNow() override { return steps_ % 5 == 0; }
  std::vector<std::string> saved_value_names() const override { return {"step", "twice"}; }
  std::vector<double> SavedValues(const Problem&) override {
    return {static_cast<double>(steps_), 2.0 * steps_};
  }
  std::optional<double> Precision(absl::string_view, absl::string_view) override {
    return 1.0 / steps_;
  }
  std::map<std::string, double> FinalReport(const Problem&) override {
    return {{"steps", static_cast<double>(steps_)}};
  }

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    return Vector::Zero(central.dimension() + (stop_after_ < 0 ? 1 : 0));
  }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    return Vector(q);
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo&,
                                     const Problem&) override {
    ++steps_;
    return Vector(a);
  }
  absl::StatusOr<Vector> SyncCentralStep(const std::vector<std::pair<int, ConstVectorRef>>& answers,
                                         const Problem&) override {
    ++steps_;
    return Vector(answers.front().second);
  }

 private:
  const int64_t stop_after_;
  int64_t steps_ = 0;
};

absl::StatusOr<std::unique_ptr<Algorithm>> NewProbe(const AlgorithmContext& context) {
  return std::make_unique<Probe>(static_cast<int64_t>(context.seed) - 100);
}

AIA_REGISTER(AlgorithmRegistry(), "engine_test_probe", NewProbe);

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

RunOptions ProbeRun(const std::string& name, int64_t stop_after, v1::RunConfig::Mode mode) {
  RunOptions options;
  v1::RunConfig& config = options.config;
  config.mutable_algorithm()->set_name("engine_test_probe");
  config.mutable_problem()->set_name("least_squares");
  config.mutable_problem()->mutable_synthetic()->set_rows(6);
  config.mutable_problem()->mutable_synthetic()->set_columns(3);
  config.mutable_stop()->set_iteration(1000);
  config.set_seed(100 + stop_after);  // how the probe learns stop_after
  config.set_mode(mode);
  options.workers = {"a", "b"};
  options.in_process = true;
  options.out_dir = absl::StrCat(::testing::TempDir(), "/", name);
  return options;
}

class EngineHooks : public ::testing::TestWithParam<v1::RunConfig::Mode> {};

TEST_P(EngineHooks, StopSaveValuesPrecisionAndReport) {
  const std::string name = GetParam() == v1::RunConfig::SYNCHRONOUS ? "hooks_sync" : "hooks_async";
  RunOptions options = ProbeRun(name, 17, GetParam());
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, "completed") << result->error;
  EXPECT_EQ(result->stop_reason, "algorithm");
  EXPECT_EQ(result->iterations, 17);

  // Saved at steps 5, 10, 15 (the save hook) and 17 (the final step), with the
  // algorithm's values as extra columns and its precision measure.
  const std::string history = ReadFile(options.out_dir + "/history.csv");
  EXPECT_THAT(history, HasSubstr("record,iteration,epoch,time_s,precision,worker,step,twice\n"));
  const std::vector<std::string> lines = absl::StrSplit(history, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 1u + 5u) << history;
  const std::vector<std::string> expected_tail = {",0,0", ",5,10", ",10,20", ",15,30", ",17,34"};
  for (size_t r = 0; r < expected_tail.size(); ++r) {
    EXPECT_TRUE(absl::EndsWith(lines[r + 1], expected_tail[r])) << lines[r + 1];
  }
  EXPECT_THAT(lines[2], HasSubstr(",0.2,"));  // precision 1 / 5
  EXPECT_THAT(ReadFile(options.out_dir + "/summary.json"), HasSubstr("\"steps\": 17"));
}

INSTANTIATE_TEST_SUITE_P(BothModes, EngineHooks,
                         ::testing::Values(v1::RunConfig::ASYNCHRONOUS,
                                           v1::RunConfig::SYNCHRONOUS));

TEST(Engine, FirstQueryMustFitTheProblem) {
  RunOptions options = ProbeRun("wrong_dimension", -1, v1::RunConfig::ASYNCHRONOUS);
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, "failed");
  EXPECT_THAT(result->error, HasSubstr("made a first query of dimension 4 but problem "
                                       "'least_squares' has dimension 3"));
  EXPECT_THAT(ReadFile(options.out_dir + "/summary.json"), HasSubstr("\"status\": \"failed\""));
}

TEST(Engine, RejectsBadConfigBeforeCreatingTheRunDirectory) {
  RunOptions options = ProbeRun("bad_config", 5, v1::RunConfig::ASYNCHRONOUS);
  options.config.set_resilience(2);
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("resilience 2 must be < the number of workers"));
  EXPECT_FALSE(std::ifstream(options.out_dir + "/config.textproto").good());
}

// What a StalenessProbe's central step saw: where the answer comes from, the
// iteration of the query it answers (as the query itself says) and the steps the
// probe had taken before it.
struct SeenAnswer {
  AnswerInfo from;
  int64_t answered_query_iteration = 0;
  int64_t steps_before = 0;
};

// The central steps of the latest StalenessProbe run (the central loop's thread
// writes it; the test reads it after RunCoordinator returns).
std::vector<SeenAnswer>& Seen() {
  static auto* seen = new std::vector<SeenAnswer>;
  return *seen;
}

// Entry 0 of each query is the number of central steps before it was made (the
// iteration it was made at); workers echo the query, so every answer carries the
// iteration of the query it answers.
class StalenessProbe : public TypedAlgorithm<Vector, Vector> {
 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    return Vector::Zero(central.dimension());
  }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    return Vector(q);
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo& from,
                                     const Problem&) override {
    Seen().push_back({from, static_cast<int64_t>(a[0]), steps_});
    Vector q = Vector::Zero(a.size());
    q[0] = static_cast<double>(++steps_);
    return q;
  }

 private:
  int64_t steps_ = 0;
};

AIA_REGISTER(AlgorithmRegistry(), "engine_test_staleness", [](const AlgorithmContext&) {
  return absl::StatusOr<std::unique_ptr<Algorithm>>(std::make_unique<StalenessProbe>());
});

TEST(EngineStaleness, CentralStepsAreToldTheIterationOfTheAnsweredQuery) {
  for (const int workers : {1, 3}) {
    SCOPED_TRACE(absl::StrCat(workers, " workers"));
    Seen().clear();
    RunOptions options =
        ProbeRun(absl::StrCat("staleness_", workers), 0, v1::RunConfig::ASYNCHRONOUS);
    options.config.mutable_algorithm()->set_name("engine_test_staleness");
    options.config.mutable_stop()->set_iteration(60);
    options.config.mutable_save()->set_iteration(1);
    options.config.mutable_save()->set_staleness(true);
    options.workers.resize(workers, "w");
    absl::StatusOr<RunResult> result = RunCoordinator(options);
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->status, "completed") << result->error;

    const std::vector<SeenAnswer>& seen = Seen();
    ASSERT_EQ(seen.size(), 60u);
    int64_t most_stale = 0;
    for (size_t i = 0; i < seen.size(); ++i) {
      const AnswerInfo& from = seen[i].from;
      EXPECT_EQ(from.iteration, static_cast<int64_t>(i)) << "step " << i;
      EXPECT_EQ(from.iteration, seen[i].steps_before) << "step " << i;
      EXPECT_EQ(from.query_iteration, seen[i].answered_query_iteration) << "step " << i;
      EXPECT_GE(from.staleness(), 0) << "step " << i;
      if (workers == 1) {
        EXPECT_EQ(from.staleness(), 0) << "step " << i;
      }
      most_stale = std::max(most_stale, from.staleness());
    }
    // In process every worker answers at once, in turn: after the first round
    // each answer is workers - 1 steps old.
    EXPECT_EQ(most_stale, workers - 1);

    // Row r >= 1 of history.csv is step r: its staleness column is that step's.
    const std::vector<std::string> lines =
        absl::StrSplit(ReadFile(options.out_dir + "/history.csv"), '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 1u + 1u + 60u);
    EXPECT_EQ(lines[0], "record,iteration,epoch,time_s,precision,worker,staleness");
    EXPECT_TRUE(absl::EndsWith(lines[1], ",,,")) << lines[1];  // record 0: none
    for (size_t r = 1; r <= seen.size(); ++r) {
      const std::vector<std::string> cells = absl::StrSplit(lines[r + 1], ',');
      ASSERT_EQ(cells.size(), 7u) << lines[r + 1];
      EXPECT_EQ(cells[5], absl::StrCat(seen[r - 1].from.worker)) << lines[r + 1];
      EXPECT_EQ(cells[6], absl::StrCat(seen[r - 1].from.staleness())) << lines[r + 1];
    }
  }
}

// A task pool: tasks are the integers 0..19 (as text); a worker answers k with k*k,
// except that worker 1 fails on its first block, so it is lost and its tasks go
// back to the queue. The report says how many distinct tasks were answered and
// the sum of the answers.
class SquareTasks : public Algorithm {
 public:
  explicit SquareTasks(int worker) : worker_(worker) {}
  std::string query_type() const override { return "text"; }
  std::string answer_type() const override { return "text"; }
  std::string history_query_type() const override { return std::string(kDenseVectorType); }
  bool uses_task_pool() const override { return true; }
  int block_size() const override { return 3; }
  absl::StatusOr<Payload> Initialize(const Problem& central) override {
    return Codec<Vector>::Encode(Vector::Zero(central.dimension()));
  }
  absl::StatusOr<std::vector<std::string>> InitialTasks(const Problem&) override {
    std::vector<std::string> tasks;
    for (int k = 0; k < 20; ++k) tasks.push_back(absl::StrCat(k));
    return tasks;
  }
  absl::StatusOr<std::vector<std::string>> UpdateTask(absl::string_view answer,
                                                      const AnswerInfo& from,
                                                      const Problem&) override {
    int64_t k = 0, square = 0;
    std::pair<std::string, std::string> parts = absl::StrSplit(answer, '=');
    if (!absl::SimpleAtoi(parts.first, &k) || !absl::SimpleAtoi(parts.second, &square)) {
      return absl::DataLossError("bad answer");
    }
    answered_[k] = square;
    by_worker_[from.worker] += 1;
    if (from.iteration != steps_++ || from.staleness() < 0) ++bad_iterations_;
    return std::vector<std::string>();
  }
  bool StopNow() override { return answered_.size() == 20; }
  absl::StatusOr<Payload> Update(absl::string_view, const AnswerInfo&,
                                     const Problem&) override {
    return absl::UnimplementedError("task pool");
  }
  absl::StatusOr<Payload> Answer(absl::string_view task, Problem&) override {
    if (worker_ == 1 && first_) return absl::InternalError("worker 1 breaks on purpose");
    first_ = false;
    int64_t k = 0;
    if (!absl::SimpleAtoi(task, &k)) return absl::InvalidArgumentError("bad task");
    return absl::StrCat(k, "=", k * k);
  }
  std::string HistoryQuery() const override { return Codec<Vector>::Encode(Vector::Zero(3)); }
  std::map<std::string, double> FinalReport(const Problem&) override {
    double sum = 0;
    for (const auto& [k, square] : answered_) sum += square;
    return {{"distinct", static_cast<double>(answered_.size())},
            {"sum", sum},
            {"by_worker_1", static_cast<double>(by_worker_[1])},
            {"bad_iterations", static_cast<double>(bad_iterations_)}};
  }

 private:
  const int worker_;
  bool first_ = true;
  std::map<int64_t, int64_t> answered_;
  std::map<int, int64_t> by_worker_;
  int64_t steps_ = 0;
  // Task answers told another iteration than the steps so far, or a staleness < 0.
  int64_t bad_iterations_ = 0;
};

AIA_REGISTER(AlgorithmRegistry(), "engine_test_tasks", [](const AlgorithmContext& context) {
  return absl::StatusOr<std::unique_ptr<Algorithm>>(
      std::make_unique<SquareTasks>(context.worker_index));
});

TEST(EngineTaskPool, LostWorkersTasksGoBackToTheQueue) {
  RunOptions options = ProbeRun("tasks", 5, v1::RunConfig::ASYNCHRONOUS);
  options.config.mutable_algorithm()->set_name("engine_test_tasks");
  options.config.set_resilience(1);
  options.workers = {"a", "b", "c"};
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, "completed") << result->error;
  EXPECT_EQ(result->stop_reason, "algorithm");
  // Every task answered once, each one iteration: 0^2 + ... + 19^2 = 2470.
  EXPECT_EQ(result->iterations, 20);
  EXPECT_EQ(result->answer_count[1], 0);
  EXPECT_EQ(result->answer_count[0] + result->answer_count[2], 20);
  const std::string summary = ReadFile(options.out_dir + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"distinct\": 20"));
  EXPECT_THAT(summary, HasSubstr("\"sum\": 2470"));
  EXPECT_THAT(summary, HasSubstr("\"bad_iterations\": 0"));
  EXPECT_THAT(ReadFile(options.out_dir + "/workers.csv"), HasSubstr("worker 1 breaks on purpose"));
}


// Background work: the first task answer leaves work that waits (up to 10 s)
// until two more tasks have been answered by the workers meanwhile, then adds two
// tasks. The central steps must never overlap the work, and the answers that came
// during it must be applied after it, in the order the workers gave them.
struct BackgroundTrace {
  absl::Mutex mu;
  std::vector<int64_t> answered ABSL_GUARDED_BY(mu);  // by the workers, in order
  std::vector<int64_t> applied;                       // by the central steps, in order
  std::atomic<bool> working{false};
  int64_t overlaps = 0;  // central steps while the work ran
};
BackgroundTrace& Trace() {
  static auto* trace = new BackgroundTrace();
  return *trace;
}

class BackgroundTasks : public Algorithm {
 public:
  std::string query_type() const override { return "text"; }
  std::string answer_type() const override { return "text"; }
  std::string history_query_type() const override { return std::string(kDenseVectorType); }
  bool uses_task_pool() const override { return true; }
  absl::StatusOr<Payload> Initialize(const Problem& central) override {
    return Codec<Vector>::Encode(Vector::Zero(central.dimension()));
  }
  absl::StatusOr<std::vector<std::string>> InitialTasks(const Problem&) override {
    std::vector<std::string> tasks;
    for (int k = 0; k < 6; ++k) tasks.push_back(absl::StrCat(k));
    return tasks;
  }
  absl::StatusOr<std::vector<std::string>> UpdateTask(absl::string_view answer, const AnswerInfo&,
                                                      const Problem&) override {
    if (Trace().working) ++Trace().overlaps;
    int64_t k = 0;
    if (!absl::SimpleAtoi(answer, &k)) return absl::DataLossError("bad answer");
    Trace().applied.push_back(k);
    pending_ = k == 0;
    return std::vector<std::string>();
  }
  BackgroundJob TakeBackgroundWork() override {
    if (!pending_) return nullptr;
    pending_ = false;
    // Counted from now: the work starts on its thread a little later.
    size_t start = 0;
    {
      absl::MutexLock lock(&Trace().mu);
      start = Trace().answered.size();
    }
    Trace().working = true;
    return [start]() -> absl::StatusOr<std::vector<std::string>> {
      BackgroundTrace& trace = Trace();
      absl::MutexLock lock(&trace.mu);
      auto two_more = [&trace, start]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(trace.mu) {
        return trace.answered.size() >= start + 2;
      };
      const bool busy = trace.mu.AwaitWithTimeout(absl::Condition(&two_more), absl::Seconds(10));
      trace.working = false;
      if (!busy) return absl::DeadlineExceededError("no task was answered during the work");
      return std::vector<std::string>{"10", "11"};
    };
  }
  bool StopNow() override { return Trace().applied.size() == 8; }
  absl::StatusOr<Payload> Update(absl::string_view, const AnswerInfo&,
                                     const Problem&) override {
    return absl::UnimplementedError("task pool");
  }
  absl::StatusOr<Payload> Answer(absl::string_view task, Problem&) override {
    int64_t k = 0;
    if (!absl::SimpleAtoi(task, &k)) return absl::InvalidArgumentError("bad task");
    absl::MutexLock lock(&Trace().mu);
    Trace().answered.push_back(k);
    return std::string(task);
  }
  std::string HistoryQuery() const override { return Codec<Vector>::Encode(Vector::Zero(3)); }

 private:
  bool pending_ = false;
};

AIA_REGISTER(AlgorithmRegistry(), "engine_test_background", [](const AlgorithmContext&) {
  return absl::StatusOr<std::unique_ptr<Algorithm>>(std::make_unique<BackgroundTasks>());
});

TEST(EngineTaskPool, QueuedTasksGoOutWhileBackgroundWorkRunsAndAnswersWaitForIt) {
  RunOptions options = ProbeRun("background", 5, v1::RunConfig::ASYNCHRONOUS);
  options.config.mutable_algorithm()->set_name("engine_test_background");
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status, "completed") << result->error;
  EXPECT_EQ(result->stop_reason, "algorithm");
  EXPECT_EQ(result->iterations, 8);
  BackgroundTrace& trace = Trace();
  EXPECT_EQ(trace.overlaps, 0);
  absl::MutexLock lock(&trace.mu);
  // The six tasks and the work's two, applied exactly in the order answered.
  EXPECT_EQ(trace.applied, trace.answered);
  EXPECT_EQ(trace.answered.size(), 8u);
}

}  // namespace
}  // namespace aia
