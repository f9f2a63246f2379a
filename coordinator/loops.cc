// The central loops of a Run (run.h): asynchronous (one answer, one central step,
// the next query to that worker), synchronous rounds, and the task pool.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "algorithms/typed_algorithm.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "base/version.h"
#include "coordinator/run.h"

namespace aia {
namespace {

// Reports the time from its construction to its end as a central step.
class StepTimer {
 public:
  explicit StepTimer(RunObserver* observer)
      : observer_(observer), start_(std::chrono::steady_clock::now()) {}
  ~StepTimer() {
    if (observer_ == nullptr) return;
    observer_->CentralStep(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  RunObserver* const observer_;
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace

absl::Status Run::AsynchronousLoop() {
  while (true) {
    Event event;
    ASSIGN_OR_RETURN(const Wake wake, Wait(event));
    if (wake == Wake::kTimeUp) return StopOnTime();
    if (wake != Wake::kAnswer) continue;
    const int w = event.worker;
    const v1::Answer& answer = event.message.answer();
    const StepTimer timer(options_.observer);
    const AnswerInfo from(w, workers_[w].query_iteration, state_.iteration());
    absl::StatusOr<Payload> query = algorithm_->Update(answer.payload(), from, *central_);
    if (!query.ok()) {
      if (query.status().code() == absl::StatusCode::kDataLoss) {
        RETURN_IF_ERROR(Lose(w, LossCause::kProtocol,
                             absl::StrCat("sent a malformed answer: ", query.status().message())));
        continue;
      }
      return absl::Status(query.status().code(),
                          absl::StrCat("central step on the answer of ", Name(w),
                                       " failed: ", query.status().message()));
    }
    const std::vector<WorkerAnswer> answers = {{w, answer.payload()}};
    ASSIGN_OR_RETURN(const bool stop,
                     CentralStepDone(std::move(query).value(), {w}, answers, from.staleness()));
    if (stop) return absl::OkStatus();
    SendLatestQuery(w);
    last_step_.clear();
    last_step_.emplace_back(w, std::move(event.message));
  }
}

absl::Status Run::SynchronousLoop() {
  round_.clear();
  for (int w = 0; w < count(); ++w) {
    if (workers_[w].state == WorkerState::kRunning) round_.insert({w, std::nullopt});
  }
  while (true) {
    // An empty round with nobody set up: a run with a pool waits for a slot to
    // fill (its Ready comes through Wait).
    const bool waiting_for_workers = round_.empty() && workers_.has_source() && Running() == 0;
    if (RoundComplete() && !waiting_for_workers) {
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

absl::Status Run::TaskPoolLoop() {
  background_ = std::make_unique<BackgroundWork>(&workers_.events());
  const absl::Status status = TaskPoolSteps();
  // The algorithm is called again after the loop (the final report): no work of
  // its may still run.
  if (background_->pending()) background_->Wait();
  return status;
}

absl::Status Run::TaskPoolSteps() {
  while (true) {
    if (background_->done()) {
      RETURN_IF_ERROR(CollectBackground());
      if (algorithm_->StopNow()) return StopWithoutStep("algorithm");
    }
    // The answers that waited, in arrival order, until one leaves work again.
    while (!background_->pending() && !waiting_.empty()) {
      const TaskAnswer task = std::move(waiting_.front());
      waiting_.pop_front();
      ASSIGN_OR_RETURN(const bool stop, ApplyTaskAnswer(task));
      if (stop) return absl::OkStatus();
    }
    Dispatch();
    if (tasks_.empty() && !background_->pending() &&
        std::none_of(in_flight_.begin(), in_flight_.end(),
                     [](const auto& block) { return block != nullptr; })) {
      return absl::FailedPreconditionError(absl::StrCat("algorithm '", config_.algorithm().name(),
                                                        "' has no task left and did not stop"));
    }
    Event event;
    ASSIGN_OR_RETURN(const Wake wake, Wait(event));
    if (wake == Wake::kTimeUp) {
      if (background_->pending()) RETURN_IF_ERROR(CollectBackground());
      return StopOnTime();
    }
    if (wake != Wake::kAnswer) continue;
    const int w = event.worker;
    v1::TaskBlock sent, answers;
    sent.ParseFromArray(in_flight_[w]->query_payload().data(),
                        static_cast<int>(in_flight_[w]->query_payload().size()));
    if (!answers.ParseFromString(event.message.answer().payload()) ||
        answers.items_size() != sent.items_size()) {
      RETURN_IF_ERROR(Lose(w, LossCause::kProtocol,
                           absl::StrCat("answered a block of ", sent.items_size(),
                                        " tasks with a malformed block")));
      continue;
    }
    in_flight_[w].reset();  // the worker is idle: Dispatch gives it the next tasks
    // Every task of the block answers the query the block went out in.
    for (std::string& answer : *answers.mutable_items()) {
      waiting_.push_back({w, workers_[w].query_iteration, std::move(answer)});
    }
  }
}

absl::StatusOr<bool> Run::ApplyTaskAnswer(const TaskAnswer& task) {
  const int w = task.worker;
  const AnswerInfo from(w, task.query_iteration, state_.iteration());
  {
    const StepTimer timer(options_.observer);
    absl::StatusOr<std::vector<std::string>> tasks =
        algorithm_->UpdateTask(task.answer, from, *central_);
    if (!tasks.ok()) {
      return absl::Status(tasks.status().code(),
                          absl::StrCat("central step on a task answer of ", Name(w),
                                       " failed: ", tasks.status().message()));
    }
    for (std::string& added : *tasks) tasks_.push_back(std::move(added));
  }
  const std::vector<WorkerAnswer> step = {{w, task.answer}};
  ASSIGN_OR_RETURN(const bool stop,
                   CentralStepDone(algorithm_->HistoryQuery(), {w}, step, from.staleness()));
  last_step_.clear();
  v1::FromWorker& last = last_step_.emplace_back(w, v1::FromWorker()).second;
  last.mutable_answer()->set_payload(task.answer);
  if (stop) return true;
  if (BackgroundJob job = algorithm_->TakeBackgroundWork()) background_->Start(std::move(job));
  return false;
}

absl::Status Run::CollectBackground() {
  absl::StatusOr<std::vector<std::string>> tasks = background_->Collect();
  if (!tasks.ok()) {
    return absl::Status(tasks.status().code(), absl::StrCat("the algorithm's background work failed: ",
                                                            tasks.status().message()));
  }
  for (std::string& added : *tasks) tasks_.push_back(std::move(added));
  return absl::OkStatus();
}

void Run::AwaitBackground() {
  if (background_ != nullptr && background_->pending()) background_->Wait();
}

void Run::Dispatch() {
  for (int w = 0; w < count() && !tasks_.empty(); ++w) {
    WorkerSlot& slot = workers_[w];
    if (slot.state != WorkerState::kRunning || in_flight_[w] != nullptr) continue;
    v1::TaskBlock block;
    for (int i = 0; i < algorithm_->block_size() && !tasks_.empty(); ++i) {
      *block.add_items() = std::move(tasks_.front());
      tasks_.pop_front();
    }
    v1::ToWorker to_worker;
    v1::Query* query = to_worker.mutable_query();
    query->set_id(next_query_id_++);
    query->set_iteration(state_.iteration());
    slot.outstanding = query->id();
    slot.query_iteration = query->iteration();
    slot.sent_at = SteadyNow();
    Payload payload(block.SerializeAsString());
    if (options_.observer != nullptr) {
      options_.observer->QuerySent(static_cast<int64_t>(payload.size()));
    }
    auto message = std::make_shared<const Outgoing>(std::move(to_worker), std::move(payload));
    in_flight_[w] = message;
    slot.link->Send(std::move(message));
  }
}

bool Run::RoundComplete() const {
  for (const auto& [w, answer] : round_) {
    if (!answer.has_value()) return false;
  }
  return true;
}

absl::StatusOr<bool> Run::FinishRound() {
  std::vector<WorkerAnswer> answers;
  std::vector<int> members;
  for (const auto& [w, message] : round_) {
    answers.push_back({w, message->answer().payload()});
    members.push_back(w);
  }
  if (!answers.empty()) {
    const StepTimer timer(options_.observer);
    absl::StatusOr<Payload> query = algorithm_->UpdateSynchronous(answers, *central_);
    if (!query.ok()) {
      return absl::Status(query.status().code(), absl::StrCat("synchronous central step failed: ",
                                                              query.status().message()));
    }
    ASSIGN_OR_RETURN(const bool stop, CentralStepDone(std::move(query).value(), members, answers,
                                                      /*staleness=*/std::nullopt));
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
  if (round_.empty() && !workers_.has_source()) {
    return absl::UnavailableError("no live worker is left");
  }
  return false;
}

absl::StatusOr<bool> Run::CentralStepDone(Payload query, const std::vector<int>& members,
                                          const std::vector<WorkerAnswer>& answers,
                                          std::optional<int64_t> staleness) {
  // The query is made at the iteration this step reaches (the state counts it below).
  previous_query_ = std::exchange(last_query_, NewQuery(std::move(query), state_.iteration() + 1));
  last_staleness_ = staleness;
  const Outgoing& previous = *previous_query_;
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
    RETURN_IF_ERROR(SaveRecord(synchronous_ ? -1 : members[0], info.precision, answers, staleness));
  }
  last_precision_ = info.precision;
  ReportProgress(info.time_s);
  if (decision.stop.has_value()) {
    stop_reason_ = *decision.stop;
    return true;
  }
  return false;
}

absl::Status Run::StopWithoutStep(const std::string& reason) {
  stop_reason_ = reason;
  // The final step is always saved.
  if (state_.last_saved_iteration() != state_.iteration()) {
    if (!last_precision_.has_value()) last_precision_ = Precision(*previous_query_);
    std::vector<WorkerAnswer> answers;
    for (const auto& [w, message] : last_step_) answers.push_back({w, message.answer().payload()});
    RETURN_IF_ERROR(SaveRecord(synchronous_ ? -1 : last_step_.front().first, last_precision_,
                               answers, last_staleness_));
  }
  return absl::OkStatus();
}

}  // namespace aia
