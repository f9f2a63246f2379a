#include "coordinator/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "algorithms/algorithm.h"
#include "algorithms/typed_algorithm.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "base/version.h"
#include "config/config.h"
#include "coordinator/history/history.h"
#include "coordinator/run_state.h"
#include "coordinator/worker_pool.h"
#include "grpcpp/grpcpp.h"
#include "problems/problem.h"
#include "proto/worker.grpc.pb.h"

namespace aia {
namespace {

using Clock = std::chrono::steady_clock;

class Run {
 public:
  Run(const RunOptions& options, std::unique_ptr<Algorithm> algorithm,
      std::unique_ptr<RunDirectory> history)
      : options_(options),
        config_(options.config),
        limits_(ResolveLimits(options.config.limits())),
        synchronous_(options.config.mode() == v1::RunConfig::SYNCHRONOUS),
        algorithm_(std::move(algorithm)),
        history_(std::move(history)),
        dense_queries_(algorithm_->history_query_type() == kDenseVectorType),
        dense_answers_(algorithm_->answer_type() == kDenseVectorType),
        state_(static_cast<int>(options.workers.size()), config_.stop(), config_.save()),
        workers_(PoolOptions(options, limits_)) {
    in_flight_.resize(options.workers.size());
  }

  RunResult Execute() {
    absl::Status status = Prepare();
    if (status.ok()) {
      status = task_pool_ ? TaskPoolLoop() : synchronous_ ? SynchronousLoop() : AsynchronousLoop();
    }
    // The run's time ends here, not after the workers have closed their streams.
    end_s_ = Elapsed();
    end_time_ = SteadyNow();
    workers_.Shutdown(stop_reason_.empty() ? "run failed" : stop_reason_, end_time_);
    return Finish(status);
  }

 private:
  static WorkerPool::Options PoolOptions(const RunOptions& options, const ResolvedLimits& limits) {
    WorkerPool::Options pool;
    pool.addresses = options.workers;
    pool.in_process = options.in_process;
    pool.data_root = options.data_root;
    pool.credentials = options.credentials;
    pool.tls_server_name = options.tls_server_name;
    pool.diagnose_connect_failure = options.diagnose_connect_failure;
    pool.limits = limits;
    pool.rejoin = options.config.rejoin();
    pool.cancel = options.cancel;
    return pool;
  }

  int count() const { return workers_.count(); }
  std::string Name(int w) const { return workers_.Name(w); }

  void Log(const std::string& line) const {
    if (options_.progress != nullptr) options_.progress->Event(line);
    if (options_.log) options_.log(line);
  }

  double Elapsed() const {
    return started_ ? std::chrono::duration<double>(Clock::now() - start_).count() : 0.0;
  }

  // ---- Step 2 and 3: central problem, connections, setups, q0 ----

  absl::Status Prepare() {
    ProblemContext context{config_.problem(), options_.data_root, 0, 1};
    absl::StatusOr<std::unique_ptr<Problem>> central = NewProblem(context);
    if (!central.ok()) {
      return absl::Status(central.status().code(),
                          absl::StrCat("coordinator: cannot build the central problem: ",
                                       central.status().message()));
    }
    central_ = std::move(central).value();
    ASSIGN_OR_RETURN(const auto unreachable, workers_.Connect());
    for (const auto& [w, cause] : unreachable) RETURN_IF_ERROR(Lose(w, cause));
    RETURN_IF_ERROR(SetUp());

    std::vector<WorkerInfo> infos(count());
    for (int w = 0; w < count(); ++w) infos[w].rows = workers_[w].rows;
    algorithm_->OnWorkersReady(infos);
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kLost) algorithm_->OnWorkerLost(w);
    }

    absl::StatusOr<std::string> q0 = algorithm_->Initialize(*central_);
    if (!q0.ok()) {
      return absl::Status(q0.status().code(),
                          absl::StrCat("initialization failed: ", q0.status().message()));
    }
    if (dense_queries_ && algorithm_->queries_match_problem_dimension() &&
        static_cast<int64_t>(q0->size()) != central_->dimension() * 8) {
      return absl::FailedPreconditionError(
          absl::StrCat("algorithm '", config_.algorithm().name(),
                       "' made a first query of dimension ", q0->size() / 8, " but problem '",
                       config_.problem().name(), "' has dimension ", central_->dimension()));
    }
    start_ = Clock::now();
    started_ = true;
    last_query_ = NewQuery(std::move(q0).value());
    RETURN_IF_ERROR(SaveRecord(-1, std::nullopt, {}));
    if (task_pool_) {
      absl::StatusOr<std::vector<std::string>> tasks = algorithm_->InitialTasks(*central_);
      if (!tasks.ok()) {
        return absl::Status(tasks.status().code(),
                            absl::StrCat("initial tasks failed: ", tasks.status().message()));
      }
      for (std::string& task : *tasks) tasks_.push_back(std::move(task));
      return absl::OkStatus();  // the loop dispatches them
    }
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kRunning) SendLatestQuery(w);
    }
    return absl::OkStatus();
  }

  std::shared_ptr<const v1::ToWorker> SetupMessage(int w) const {
    auto message = std::make_shared<v1::ToWorker>();
    v1::Setup* setup = message->mutable_setup();
    setup->set_run_id(history_->path());
    *setup->mutable_algorithm() = config_.algorithm();
    *setup->mutable_problem() = config_.problem();
    setup->set_worker_index(w);
    setup->set_worker_count(count());
    setup->set_seed(config_.seed() + w + 1);
    setup->set_query_type(algorithm_->query_type());
    setup->set_answer_type(algorithm_->answer_type());
    *setup->mutable_stragglers() = config_.stragglers();
    setup->set_algorithm_version(algorithm_->message_version());
    setup->set_heartbeat_s(limits_.keepalive_s / 4);
    setup->set_liveness_timeout_s(limits_.keepalive_s);
    setup->set_max_message_bytes(limits_.max_message_bytes);
    setup->set_coordinator_version(kVersion);
    return message;
  }

  absl::Status SetUp() {
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kConnecting) workers_.OpenLink(w, SetupMessage(w));
    }
    const absl::Time deadline = SteadyNow() + absl::Seconds(limits_.setup_timeout_s);
    while (true) {
      std::vector<int> waiting;
      for (int w = 0; w < count(); ++w) {
        if (workers_[w].state == WorkerState::kConnecting) waiting.push_back(w);
      }
      if (waiting.empty()) return absl::OkStatus();
      Event event;
      ASSIGN_OR_RETURN(const bool arrived, NextEvent(std::min(deadline, NextWakeup()), &event));
      if (!arrived) {
        const bool late = SteadyNow() >= deadline;
        for (int w : waiting) {
          if (late) {
            RETURN_IF_ERROR(Lose(w, absl::StrCat("no Ready within ", limits_.setup_timeout_s,
                                                 " s (limits.setup_timeout_s)")));
          } else {
            const std::string silence = workers_.Silence(w, SteadyNow());
            if (!silence.empty()) RETURN_IF_ERROR(Lose(w, "setup failed: " + silence));
          }
        }
        continue;
      }
      RETURN_IF_ERROR(HandleEvent(event, "setup failed: "));
    }
  }

  // ---- Step 4: the central loops ----

  // The next event, if one comes by `deadline`. Returns Cancelled once the run's
  // cancel notification fires (checked every 0.1 s).
  absl::StatusOr<bool> NextEvent(absl::Time deadline, Event* event) {
    while (true) {
      if (options_.cancel != nullptr && options_.cancel->HasBeenNotified()) {
        return absl::CancelledError("the run was cancelled");
      }
      const absl::Time until = std::min(deadline, SteadyNow() + absl::Milliseconds(100));
      if (workers_.events().PopUntil(until, event)) return true;
      if (until >= deadline) return false;
    }
  }

  // When the loop must wake up even if no event comes: the time limit, the
  // earliest answer deadline, the pool's (silence, the next rejoin attempt).
  absl::Time NextWakeup() const {
    absl::Time wakeup = workers_.NextWakeup();
    const double limit = state_.time_limit_s();
    if (!std::isinf(limit)) {
      wakeup = std::min(wakeup, SteadyNow() + absl::Seconds(std::max(0.0, limit - Elapsed())));
    }
    for (int w = 0; w < count(); ++w) {
      const WorkerSlot& slot = workers_[w];
      if (slot.state == WorkerState::kRunning && slot.outstanding != 0 &&
          limits_.answer_timeout_s > 0) {
        wakeup = std::min(wakeup, slot.sent_at + absl::Seconds(limits_.answer_timeout_s));
      }
    }
    return wakeup;
  }

  // Liveness, answer deadlines and rejoin attempts that are due.
  absl::Status Maintain() {
    const absl::Time now = SteadyNow();
    workers_.SweepRetired();
    for (int w = 0; w < count(); ++w) {
      if (const std::string silence = workers_.Silence(w, now); !silence.empty()) {
        RETURN_IF_ERROR(Lose(w, silence));
      }
      WorkerSlot& slot = workers_[w];
      if (slot.state == WorkerState::kRunning && slot.outstanding != 0 &&
          limits_.answer_timeout_s > 0 &&
          now >= slot.sent_at + absl::Seconds(limits_.answer_timeout_s)) {
        RETURN_IF_ERROR(Lose(w, absl::StrCat("no answer within ", limits_.answer_timeout_s,
                                             " s (limits.answer_timeout_s)")));
      }
      if (std::optional<std::string> failed =
              workers_.TryRejoin(w, now, [&] { return SetupMessage(w); })) {
        Lose(w, *failed).IgnoreError();  // schedules the next attempt
      }
    }
    return absl::OkStatus();
  }

  enum class Wake {
    kAnswer,  // an accepted answer is in the event
    kOther,   // anything else happened (handled), or nothing
    kTimeUp,  // the time limit is up
  };

  // Waits for the next event (or the next deadline) and handles all but an
  // accepted answer, which it leaves to the loop. Each loop calls it once per
  // turn, so that it re-checks its own state (a round completed by a loss, tasks
  // to dispatch) after every event.
  absl::StatusOr<Wake> Wait(Event& event) {
    ASSIGN_OR_RETURN(const bool arrived, NextEvent(NextWakeup(), &event));
    if (state_.TimeIsUp(Elapsed())) return Wake::kTimeUp;
    RETURN_IF_ERROR(Maintain());
    if (!arrived) return Wake::kOther;
    if (!IsAnswer(event)) {
      RETURN_IF_ERROR(HandleEvent(event, ""));
      return Wake::kOther;
    }
    ASSIGN_OR_RETURN(const bool accepted, AcceptAnswer(event));
    return accepted ? Wake::kAnswer : Wake::kOther;
  }

  // The asynchronous central loop.
  absl::Status AsynchronousLoop() {
    while (true) {
      Event event;
      ASSIGN_OR_RETURN(const Wake wake, Wait(event));
      if (wake == Wake::kTimeUp) return StopOnTime();
      if (wake != Wake::kAnswer) continue;
      const int w = event.worker;
      const v1::Answer& answer = event.message.answer();
      absl::StatusOr<std::string> query = algorithm_->Update(answer.payload(), w, *central_);
      if (!query.ok()) {
        if (query.status().code() == absl::StatusCode::kDataLoss) {
          RETURN_IF_ERROR(
              Lose(w, absl::StrCat("sent a malformed answer: ", query.status().message())));
          continue;
        }
        return absl::Status(query.status().code(),
                            absl::StrCat("central step on the answer of ", Name(w),
                                         " failed: ", query.status().message()));
      }
      const std::vector<WorkerAnswer> answers = {{w, answer.payload()}};
      ASSIGN_OR_RETURN(const bool stop, CentralStepDone(std::move(query).value(), {w}, answers));
      if (stop) return absl::OkStatus();
      SendLatestQuery(w);
      last_step_.clear();
      last_step_.emplace_back(w, std::move(event.message));
    }
  }

  // The synchronous central loop: rounds.
  absl::Status SynchronousLoop() {
    round_.clear();
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kRunning) round_.insert({w, std::nullopt});
    }
    while (true) {
      if (RoundComplete()) {
        ASSIGN_OR_RETURN(const bool stop, FinishRound());
        if (stop) return absl::OkStatus();
        continue;
      }
      Event event;
      ASSIGN_OR_RETURN(const Wake wake, Wait(event));
      if (wake == Wake::kTimeUp) return StopOnTime();
      if (wake == Wake::kAnswer) round_[event.worker] = std::move(event.message);
    }
  }

  // The task-pool loop: idle workers take the next tasks; each task's answer is
  // one central step, which may add tasks.
  absl::Status TaskPoolLoop() {
    while (true) {
      Dispatch();
      if (tasks_.empty() && std::none_of(in_flight_.begin(), in_flight_.end(),
                                        [](const auto& block) { return block != nullptr; })) {
        return absl::FailedPreconditionError(absl::StrCat("algorithm '", config_.algorithm().name(),
                                                          "' has no task left and did not stop"));
      }
      Event event;
      ASSIGN_OR_RETURN(const Wake wake, Wait(event));
      if (wake == Wake::kTimeUp) return StopOnTime();
      if (wake != Wake::kAnswer) continue;
      const int w = event.worker;
      v1::TaskBlock sent, answers;
      sent.ParseFromString(in_flight_[w]->query().payload());
      if (!answers.ParseFromString(event.message.answer().payload()) ||
          answers.items_size() != sent.items_size()) {
        RETURN_IF_ERROR(Lose(w, absl::StrCat("answered a block of ", sent.items_size(),
                                             " tasks with a malformed block")));
        continue;
      }
      in_flight_[w].reset();
      for (int i = 0; i < answers.items_size(); ++i) {
        absl::StatusOr<std::vector<std::string>> tasks =
            algorithm_->UpdateTask(answers.items(i), w, *central_);
        if (!tasks.ok()) {
          return absl::Status(tasks.status().code(),
                              absl::StrCat("central step on a task answer of ", Name(w),
                                           " failed: ", tasks.status().message()));
        }
        for (std::string& task : *tasks) tasks_.push_back(std::move(task));
        const std::vector<WorkerAnswer> step = {{w, answers.items(i)}};
        ASSIGN_OR_RETURN(const bool stop, CentralStepDone(algorithm_->HistoryQuery(), {w}, step));
        if (stop) return absl::OkStatus();
      }
      last_step_.clear();
      last_step_.emplace_back(w, std::move(event.message));
    }
  }

  // Gives idle live workers the next tasks, up to block_size() each.
  void Dispatch() {
    for (int w = 0; w < count() && !tasks_.empty(); ++w) {
      WorkerSlot& slot = workers_[w];
      if (slot.state != WorkerState::kRunning || in_flight_[w] != nullptr) continue;
      v1::TaskBlock block;
      for (int i = 0; i < algorithm_->block_size() && !tasks_.empty(); ++i) {
        *block.add_items() = std::move(tasks_.front());
        tasks_.pop_front();
      }
      auto message = std::make_shared<v1::ToWorker>();
      v1::Query* query = message->mutable_query();
      query->set_id(next_query_id_++);
      query->set_iteration(state_.iteration());
      block.SerializeToString(query->mutable_payload());
      in_flight_[w] = message;
      slot.outstanding = query->id();
      slot.sent_at = SteadyNow();
      slot.link->Send(std::move(message));
    }
  }

  // Every member of the round still in it has answered (lost members leave it).
  bool RoundComplete() const {
    for (const auto& [w, answer] : round_) {
      if (!answer.has_value()) return false;
    }
    return true;
  }

  // Applies the synchronous central step to the round's answers and starts the
  // next round; true if the run stops.
  absl::StatusOr<bool> FinishRound() {
    std::vector<WorkerAnswer> answers;
    std::vector<int> members;
    for (const auto& [w, message] : round_) {
      answers.push_back({w, message->answer().payload()});
      members.push_back(w);
    }
    if (!answers.empty()) {
      absl::StatusOr<std::string> query = algorithm_->UpdateSynchronous(answers, *central_);
      if (!query.ok()) {
        return absl::Status(query.status().code(), absl::StrCat("synchronous central step failed: ",
                                                                query.status().message()));
      }
      ASSIGN_OR_RETURN(const bool stop,
                       CentralStepDone(std::move(query).value(), members, answers));
      if (stop) return true;
    }
    // The next round: every live worker, rejoined ones included.
    last_step_.clear();
    for (auto& [w, message] : round_) last_step_.emplace_back(w, std::move(*message));
    round_.clear();
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state != WorkerState::kRunning) continue;
      round_.insert({w, std::nullopt});
      SendLatestQuery(w);
    }
    if (round_.empty()) return absl::UnavailableError("no live worker is left");
    return false;
  }

  // After a central step made `query` from `answers` of `members`: counts,
  // saves, checks the stop criteria. True if the run stops.
  absl::StatusOr<bool> CentralStepDone(std::string query, const std::vector<int>& members,
                                       const std::vector<WorkerAnswer>& answers) {
    previous_query_ = std::exchange(last_query_, NewQuery(std::move(query)));
    const v1::ToWorker& previous = *previous_query_;
    RunState::StepInfo info;
    info.time_s = Elapsed();
    // The distance costs a pass over two queries: only when a rule needs it.
    if (config_.stop().has_precision()) info.precision = Precision(previous);
    info.algorithm_stop = algorithm_->StopNow();
    info.algorithm_save = algorithm_->SaveNow();
    const RunState::Decision decision =
        synchronous_ ? state_.Round(members, info) : state_.Step(members[0], info);
    if (decision.save) {
      if (!info.precision.has_value()) info.precision = Precision(previous);
      RETURN_IF_ERROR(SaveRecord(synchronous_ ? -1 : members[0], info.precision, answers));
    }
    last_precision_ = info.precision;
    ReportProgress(info.time_s);
    if (decision.stop.has_value()) {
      stop_reason_ = *decision.stop;
      return true;
    }
    return false;
  }

  absl::Status StopOnTime() {
    stop_reason_ = "time_s";
    // The final step is always saved.
    if (state_.last_saved_iteration() != state_.iteration()) {
      if (!last_precision_.has_value()) last_precision_ = Precision(*previous_query_);
      std::vector<WorkerAnswer> answers;
      for (const auto& [w, message] : last_step_)
        answers.push_back({w, message.answer().payload()});
      RETURN_IF_ERROR(
          SaveRecord(synchronous_ ? -1 : last_step_.front().first, last_precision_, answers));
    }
    return absl::OkStatus();
  }

  static bool IsAnswer(const Event& event) {
    return event.kind == Event::Kind::kMessage && event.message.has_answer();
  }

  // Checks an answer against the protocol; false if it is to be ignored (a stale
  // link's, a lost worker's).
  absl::StatusOr<bool> AcceptAnswer(const Event& event) {
    const int w = event.worker;
    WorkerSlot& slot = workers_[w];
    if (event.link_id != slot.link_id || slot.state != WorkerState::kRunning) return false;
    const v1::Answer& answer = event.message.answer();
    if (answer.query_id() != slot.outstanding) {
      RETURN_IF_ERROR(Lose(w, absl::StrCat("answered query ", answer.query_id(),
                                           " but was asked query ", slot.outstanding)));
      return false;
    }
    if (!std::isfinite(answer.compute_s()) || answer.compute_s() < 0) {
      RETURN_IF_ERROR(Lose(w, absl::StrCat("sent compute_s ", answer.compute_s(),
                                           " (must be finite and >= 0)")));
      return false;
    }
    slot.outstanding = 0;
    slot.compute_s += answer.compute_s();
    return true;
  }

  // Every event but an answer: Ready, Error, a closed stream.
  absl::Status HandleEvent(const Event& event, const std::string& context) {
    const int w = event.worker;
    WorkerSlot& slot = workers_[w];
    if (event.link_id != slot.link_id) return absl::OkStatus();  // an old link's
    if (event.kind == Event::Kind::kClosed) {
      if (slot.state == WorkerState::kStopped) return absl::OkStatus();
      if (slot.state == WorkerState::kLost && !slot.rejoining) return absl::OkStatus();
      const absl::Status& s = event.status;
      return Lose(w, absl::StrCat(context, "the stream ended (", static_cast<int>(s.code()),
                                  s.message().empty() ? "" : ": ", s.message(), ")"));
    }
    const v1::FromWorker& message = event.message;
    if (message.has_error()) return Lose(w, context + ValidUtf8(message.error().reason()));
    if (message.has_ready()) return HandleReady(w, message.ready());
    return Lose(w, absl::StrCat(context, "sent an unexpected ",
                                message.has_answer() ? "Answer" : "message"));
  }

  absl::Status HandleReady(int w, const v1::Ready& ready) {
    WorkerSlot& slot = workers_[w];
    const bool first = slot.state == WorkerState::kConnecting;
    if (!first && !(slot.state == WorkerState::kLost && slot.rejoining)) {
      return Lose(w, "sent an unexpected Ready");
    }
    if (ready.dimension() != central_->dimension()) {
      return Lose(w, absl::StrCat("has a problem of dimension ", ready.dimension(),
                                  " but the coordinator's has ", central_->dimension()));
    }
    if (ready.algorithm_version() != algorithm_->message_version()) {
      return Lose(w, absl::StrCat("runs algorithm '", config_.algorithm().name(), "' meaning '",
                                  ValidUtf8(ready.algorithm_version()), "' by its messages, not '",
                                  algorithm_->message_version(), "'"));
    }
    const std::string expected = central_->ShardDigest(w, count());
    if (!expected.empty() && !ready.shard_digest().empty() && ready.shard_digest() != expected) {
      return Lose(w, absl::StrCat("holds data with digest ", ValidUtf8(ready.shard_digest()),
                                  " but shard ", w, " of ", count(),
                                  " of the coordinator's data has digest ", expected,
                                  " (different data files under the two data roots?)"));
    }
    slot.version = ValidUtf8(ready.version());
    slot.host = ValidUtf8(ready.host());
    slot.shard_digest = ValidUtf8(ready.shard_digest());
    slot.rows = ready.rows();
    slot.state = WorkerState::kRunning;
    if (first) {
      Log(absl::StrFormat("%s ready: %d rows%s, %.3f s", Name(w), ready.rows(),
                          ready.cached() ? " (cached)" : "", ready.setup_s()));
      return absl::OkStatus();
    }
    slot.rejoining = false;
    state_.MarkRejoined(w);
    algorithm_->OnWorkerRejoined(w);
    Log(absl::StrFormat("%s rejoined at iteration %d", Name(w), state_.iteration()));
    // Asynchronous: it gets the latest query now; synchronous: at the next round;
    // task pool: the next tasks, from the loop.
    if (!synchronous_ && !task_pool_) SendLatestQuery(w);
    return absl::OkStatus();
  }

  // Worker w is out of the run. An error if more workers are lost at once than
  // the resilience allows.
  absl::Status Lose(int w, const std::string& cause) {
    const std::optional<WorkerPool::Loss> loss = workers_.MarkLost(w, cause);
    if (!loss.has_value()) return absl::OkStatus();
    if (synchronous_) round_.erase(w);
    if (task_pool_ && in_flight_[w] != nullptr) {
      // Its unfinished tasks go back to the front of the queue, in order.
      v1::TaskBlock block;
      block.ParseFromString(in_flight_[w]->query().payload());
      for (int i = block.items_size() - 1; i >= 0; --i) tasks_.push_front(block.items(i));
      in_flight_[w].reset();
      Log(absl::StrCat(Name(w), ": ", block.items_size(), " unfinished tasks back in the queue"));
    }
    if (loss->rejoin_failed) {
      Log(absl::StrCat(Name(w), " could not rejoin: ", cause));
      return absl::OkStatus();
    }
    if (state_.live(w)) state_.MarkLost(w);
    // (Workers lost during setup are announced after OnWorkersReady.)
    if (loss->was_running && started_) algorithm_->OnWorkerLost(w);
    Log(absl::StrCat(Name(w), " lost: ", cause));
    std::vector<std::string> lost;
    for (int v = 0; v < count(); ++v) {
      if (workers_[v].state == WorkerState::kLost) {
        lost.push_back(absl::StrCat(Name(v), ": ", workers_[v].cause));
      }
    }
    if (static_cast<int>(lost.size()) > config_.resilience()) {
      if (lost.size() == 1) return absl::UnavailableError(lost[0]);
      return absl::UnavailableError(absl::StrCat(lost.size(), " workers lost at once (resilience ",
                                                 config_.resilience(),
                                                 "): ", absl::StrJoin(lost, "; ")));
    }
    return absl::OkStatus();
  }

  // A query message; every worker it goes to answers under its id.
  std::shared_ptr<const v1::ToWorker> NewQuery(std::string payload) {
    auto message = std::make_shared<v1::ToWorker>();
    v1::Query* query = message->mutable_query();
    query->set_id(next_query_id_++);
    query->set_iteration(state_.iteration());
    *query->mutable_payload() = std::move(payload);
    return message;
  }

  // Sends the latest central query to worker w. The message is shared, not copied,
  // by all its recipients.
  void SendLatestQuery(int w) {
    WorkerSlot& slot = workers_[w];
    slot.outstanding = last_query_->query().id();
    slot.sent_at = SteadyNow();
    slot.link->Send(last_query_);
  }

  absl::Status SaveRecord(int origin, std::optional<double> precision,
                          const std::vector<WorkerAnswer>& answers) {
    RunDirectory::Record record;
    record.iteration = state_.iteration();
    record.epoch = state_.epoch();
    record.time_s = history_->records() == 0 ? 0.0 : Elapsed();  // record 0 is at time 0
    record.precision = precision;
    if (origin >= 0) record.worker = origin;
    record.extra = algorithm_->SavedValues(*central_);
    if (record.extra.size() != saved_value_count_) {
      return absl::InternalError(absl::StrCat("algorithm '", config_.algorithm().name(), "' gave ",
                                              record.extra.size(), " saved values for ",
                                              saved_value_count_, " names"));
    }
    absl::Status status = history_->Append(record, last_query_->query().payload(), dense_queries_);
    for (size_t i = 0; status.ok() && config_.save().answers() && i < answers.size(); ++i) {
      status = history_->AppendAnswer(history_->records() - 1, answers[i].worker,
                                      answers[i].payload, dense_answers_);
    }
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("cannot write the history: ", status.message()));
    }
    return absl::OkStatus();
  }

  // The algorithm's measure, or the configured norm of the difference between the
  // latest central query and `previous` (dense queries of one size only).
  std::optional<double> Precision(const v1::ToWorker& previous) {
    const std::string& now = last_query_->query().payload();
    const std::string& before = previous.query().payload();
    if (std::optional<double> own = algorithm_->Precision(now, before)) return own;
    if (!dense_queries_ || now.size() != before.size()) return std::nullopt;
    const Vector difference = *Codec<Vector>::Decode(now) - *Codec<Vector>::Decode(before);
    switch (config_.stop().precision_norm()) {
      case v1::StopSpec::L1:
        return difference.lpNorm<1>();
      case v1::StopSpec::LINF:
        return difference.lpNorm<Eigen::Infinity>();
      default:
        return difference.norm();
    }
  }

  void ReportProgress(double now) {
    if (options_.progress == nullptr) return;
    options_.progress->MaybeReport(now, [&] { return Snapshot(now); });
  }

  ProgressSnapshot Snapshot(double now) const {
    ProgressSnapshot snapshot;
    snapshot.iteration = state_.iteration();
    snapshot.epoch = state_.epoch();
    snapshot.elapsed_s = now;
    snapshot.precision = last_precision_;
    snapshot.answer_count = state_.answer_count();
    for (int w = 0; w < count(); ++w) {
      snapshot.live.push_back(workers_[w].state != WorkerState::kLost);
    }
    snapshot.fraction = ProgressFraction(config_.stop(), state_.iteration(), state_.epoch(), now,
                                         algorithm_->ProgressFraction());
    snapshot.values = algorithm_->ProgressValues();
    return snapshot;
  }

  // ---- Step 5 ----

  RunResult Finish(const absl::Status& status) {
    RunResult result;
    result.out_dir = history_->path();
    result.status = status.ok()                                     ? "completed"
                    : status.code() == absl::StatusCode::kCancelled ? "cancelled"
                                                                    : "failed";
    result.stop_reason = status.ok() ? stop_reason_ : "";
    result.error = status.ok() ? "" : std::string(status.message());
    result.iterations = state_.iteration();
    result.epochs = state_.epoch();
    result.elapsed_s = end_s_;
    result.answer_count = state_.answer_count();
    if (options_.progress != nullptr && started_) options_.progress->Finish(Snapshot(end_s_));

    std::vector<RunDirectory::WorkerRow> rows;
    for (int w = 0; w < count(); ++w) {
      RunDirectory::WorkerRow row;
      row.worker = w;
      row.address = workers_[w].address;
      row.answers = state_.answer_count()[w];
      row.failures = workers_[w].failures;
      row.mean_compute_s = row.answers > 0 ? workers_[w].compute_s / row.answers : 0.0;
      row.state = StateName(workers_[w].state);
      row.cause = workers_[w].cause;
      row.version = workers_[w].version;
      row.host = workers_[w].host;
      row.shard_digest = workers_[w].shard_digest;
      rows.push_back(row);
    }
    absl::Status written = history_->WriteWorkers(rows);
    RunDirectory::Summary summary;
    summary.status = result.status;
    summary.stop_reason = result.stop_reason;
    summary.iterations = result.iterations;
    summary.epochs = result.epochs;
    summary.elapsed_s = result.elapsed_s;
    summary.answer_count = result.answer_count;
    summary.error = result.error;
    summary.versions["aia"] = kVersion;
    summary.versions["grpc"] = grpc::Version();
    if (started_) summary.report = algorithm_->FinalReport(*central_);
    if (!written.ok() && summary.error.empty()) {
      summary.status = result.status = "failed";
      summary.error = result.error = std::string(written.message());
    }
    absl::Status summarized = history_->WriteSummary(summary);
    if (!summarized.ok()) {
      result.status = "failed";
      result.error = absl::StrCat(result.error, result.error.empty() ? "" : "; ",
                                  "cannot write summary.json: ", summarized.message());
    }
    return result;
  }

  const RunOptions& options_;
  const v1::RunConfig& config_;
  const ResolvedLimits limits_;
  const bool synchronous_;
  std::unique_ptr<Algorithm> algorithm_;
  std::unique_ptr<RunDirectory> history_;
  const bool dense_queries_;
  const bool dense_answers_;
  const size_t saved_value_count_ = algorithm_->saved_value_names().size();
  std::unique_ptr<Problem> central_;
  RunState state_;
  WorkerPool workers_;
  Clock::time_point start_;
  bool started_ = false;
  double end_s_ = 0;      // Elapsed() when the loop ended
  absl::Time end_time_;   // SteadyNow() then
  uint64_t next_query_id_ = 1;
  std::shared_ptr<const v1::ToWorker> last_query_;      // carries the latest central query
  std::shared_ptr<const v1::ToWorker> previous_query_;  // and the one before
  std::optional<double> last_precision_;
  // The answer(s) of the latest central step, for a final save on the time limit.
  std::vector<std::pair<int, v1::FromWorker>> last_step_;
  // Task pool: tasks waiting for a worker, and the block each worker is on.
  const bool task_pool_ = algorithm_->uses_task_pool();
  std::deque<std::string> tasks_;
  std::vector<std::shared_ptr<const v1::ToWorker>> in_flight_;  // by worker
  // Synchronous mode: the members of the current round and their answers so far.
  std::map<int, std::optional<v1::FromWorker>> round_;
  std::string stop_reason_;
};

}  // namespace

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options) {
  if (options.workers.empty()) {
    return absl::InvalidArgumentError(
        "no workers: give --local_workers, --workers, --workers_file or --in_process");
  }
  RETURN_IF_ERROR(ValidateConfig(options.config, static_cast<int>(options.workers.size())));
  AlgorithmContext context{options.config.algorithm(), options.config.seed(), -1,
                           static_cast<int>(options.workers.size())};
  ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> algorithm, NewAlgorithm(context));
  ASSIGN_OR_RETURN(
      std::unique_ptr<RunDirectory> history,
      RunDirectory::Create(options.out_dir, options.config, algorithm->saved_value_names()));
  Run run(options, std::move(algorithm), std::move(history));
  return run.Execute();
}

}  // namespace aia
