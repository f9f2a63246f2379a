#include "coordinator/run.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "algorithms/typed_algorithm.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "base/version.h"
#include "plugins/exceptions.h"
#include "plugins/identity.h"

namespace aia {

RunResult Run::Execute() {
  if (options_.observer != nullptr) options_.observer->RunStarted(count());
  // The plugin's central steps run inside: an exception one throws fails the run
  // with its message, and the history so far is kept.
  absl::Status status = CatchPluginExceptions([this] { return Prepare(); });
  if (status.ok()) {
    status = CatchPluginExceptions([this] {
      return task_pool_ ? TaskPoolLoop() : synchronous_ ? SynchronousLoop() : AsynchronousLoop();
    });
  }
  // The run's time ends here, not after the workers have closed their streams.
  end_s_ = Elapsed();
  end_time_ = SteadyNow();
  workers_.Shutdown(stop_reason_.empty() ? "run failed" : stop_reason_, end_time_);
  return Finish(status);
}

WorkerPool::Options Run::PoolOptions(const RunOptions& options, const ResolvedLimits& limits,
                                     bool refill_lost) {
  WorkerPool::Options pool;
  pool.refill_lost = refill_lost;
  pool.addresses = options.workers;
  pool.source = options.source;
  pool.slots = options.slots;
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

void Run::Log(const std::string& line) const {
  if (options_.progress != nullptr) options_.progress->Event(line);
  if (options_.listener != nullptr) options_.listener->Event(line);
  if (options_.log) options_.log(line);
}

double Run::Elapsed() const {
  return started_ ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()
                  : 0.0;
}

absl::Status Run::Prepare() {
  ProblemContext context{config_.problem(), options_.data_root, 0, 1};
  absl::StatusOr<std::unique_ptr<Problem>> central = NewProblem(context);
  if (!central.ok()) {
    return absl::Status(central.status().code(),
                        absl::StrCat("coordinator: cannot build the central problem: ",
                                     central.status().message()));
  }
  central_ = std::move(central).value();
  if (!workers_.has_source()) {
    ASSIGN_OR_RETURN(const auto unreachable, workers_.Connect());
    for (const auto& [w, cause] : unreachable)
      RETURN_IF_ERROR(Lose(w, LossCause::kUnreachable, cause));
  }
  RETURN_IF_ERROR(SetUp());

  std::vector<WorkerInfo> infos(count());
  for (int w = 0; w < count(); ++w) infos[w].rows = workers_[w].rows;
  algorithm_->OnWorkersReady(infos);
  for (int w = 0; w < count(); ++w) {
    // Slots still vacant count from the epoch at which they fill.
    if (workers_[w].state == WorkerState::kVacant) state_.MarkLost(w);
    if (workers_[w].state == WorkerState::kLost || workers_[w].state == WorkerState::kVacant) {
      algorithm_->OnWorkerLost(w);
    }
  }

  absl::StatusOr<Payload> q0 = algorithm_->Initialize(*central_);
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
  start_ = std::chrono::steady_clock::now();
  started_ = true;
  last_query_ = NewQuery(std::move(q0).value(), 0);
  RETURN_IF_ERROR(SaveRecord(-1, std::nullopt, {}, std::nullopt));
  if (options_.listener != nullptr) options_.listener->Started();
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

std::shared_ptr<const Outgoing> Run::SetupMessage(int w) const {
  v1::ToWorker message;
  v1::Setup* setup = message.mutable_setup();
  setup->set_run_id(recorder_.path());
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
  for (v1::PluginIdentity& identity : PluginIdentities(config_.algorithm(), config_.problem())) {
    *setup->add_plugins() = std::move(identity);
  }
  return std::make_shared<const Outgoing>(std::move(message));
}

absl::Status Run::SetUp() {
  const auto setup = [this](int w) { return SetupMessage(w); };
  if (workers_.has_source()) {
    workers_.Fill(setup);
  } else {
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kConnecting) workers_.OpenLink(w, SetupMessage(w));
    }
  }
  const absl::Time deadline = SteadyNow() + absl::Seconds(limits_.setup_timeout_s);
  absl::Time next_fill = SteadyNow() + absl::Milliseconds(100);
  while (true) {
    std::vector<int> waiting;
    for (int w = 0; w < count(); ++w) {
      if (workers_[w].state == WorkerState::kConnecting) waiting.push_back(w);
    }
    // From a source, the run waits (within the setup timeout) for MinWorkers().
    const bool short_of_workers = workers_.has_source() && Running() < MinWorkers();
    if (waiting.empty() && !short_of_workers) return absl::OkStatus();
    if (short_of_workers && SteadyNow() >= next_fill) {
      workers_.Fill(setup);
      next_fill = SteadyNow() + absl::Milliseconds(100);
      continue;
    }
    if (waiting.empty() && SteadyNow() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat(Running(), " of the ", MinWorkers(),
                       " workers the run needs to start (min_workers) were ready within ",
                       limits_.setup_timeout_s, " s (limits.setup_timeout_s)"));
    }
    Event event;
    absl::Time until = std::min(deadline, NextWakeup());
    if (short_of_workers) until = std::min(until, next_fill);
    ASSIGN_OR_RETURN(const bool arrived, NextEvent(until, &event));
    if (!arrived) {
      const bool late = SteadyNow() >= deadline;
      for (int w : waiting) {
        if (late) {
          RETURN_IF_ERROR(Lose(w, LossCause::kSetup,
                               absl::StrCat("no Ready within ", limits_.setup_timeout_s,
                                            " s (limits.setup_timeout_s)")));
        } else {
          const std::string silence = workers_.Silence(w, SteadyNow());
          if (!silence.empty())
            RETURN_IF_ERROR(Lose(w, LossCause::kSilent, "setup failed: " + silence));
        }
      }
      continue;
    }
    RETURN_IF_ERROR(HandleEvent(event, "setup failed: "));
  }
}

absl::StatusOr<bool> Run::NextEvent(absl::Time deadline, Event* event) {
  while (true) {
    if (options_.cancel != nullptr && options_.cancel->HasBeenNotified()) {
      return absl::CancelledError("the run was cancelled");
    }
    const absl::Time until = std::min(deadline, SteadyNow() + absl::Milliseconds(100));
    if (workers_.events().PopUntil(until, event)) return true;
    if (until >= deadline) return false;
  }
}

absl::Time Run::NextWakeup() const {
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

absl::StatusOr<Run::Wake> Run::Wait(Event& event) {
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

bool Run::IsAnswer(const Event& event) {
  return event.kind == Event::Kind::kMessage && event.message.has_answer();
}

absl::StatusOr<bool> Run::AcceptAnswer(const Event& event) {
  const int w = event.worker;
  WorkerSlot& slot = workers_[w];
  if (event.link_id != slot.link_id || slot.state != WorkerState::kRunning) return false;
  const v1::Answer& answer = event.message.answer();
  if (answer.query_id() != slot.outstanding) {
    RETURN_IF_ERROR(Lose(w, LossCause::kProtocol,
                         absl::StrCat("answered query ", answer.query_id(), " but was asked query ",
                                      slot.outstanding)));
    return false;
  }
  if (!std::isfinite(answer.compute_s()) || answer.compute_s() < 0) {
    RETURN_IF_ERROR(
        Lose(w, LossCause::kProtocol,
             absl::StrCat("sent compute_s ", answer.compute_s(), " (must be finite and >= 0)")));
    return false;
  }
  slot.outstanding = 0;
  slot.compute_s += answer.compute_s();
  if (options_.observer != nullptr) {
    options_.observer->Answer(w, static_cast<int64_t>(answer.payload().size()));
  }
  return true;
}

std::shared_ptr<const Outgoing> Run::NewQuery(Payload payload, int64_t iteration) {
  v1::ToWorker message;
  v1::Query* query = message.mutable_query();
  query->set_id(next_query_id_++);
  query->set_iteration(iteration);
  return std::make_shared<const Outgoing>(std::move(message), std::move(payload));
}

void Run::SendLatestQuery(int w) {
  WorkerSlot& slot = workers_[w];
  const v1::Query& query = last_query_->message().query();
  slot.outstanding = query.id();
  slot.query_iteration = query.iteration();
  slot.sent_at = SteadyNow();
  slot.link->Send(last_query_);
  if (options_.observer != nullptr) {
    options_.observer->QuerySent(static_cast<int64_t>(last_query_->query_payload().size()));
  }
}

absl::Status Run::SaveRecord(int origin, std::optional<double> precision,
                             const std::vector<WorkerAnswer>& answers,
                             std::optional<int64_t> staleness) {
  Recorder::Step step;
  step.iteration = state_.iteration();
  step.epoch = state_.epoch();
  step.time_s = recorder_.records() == 0 ? 0.0 : Elapsed();  // record 0 is at time 0
  step.precision = precision;
  step.origin = origin;
  step.staleness = staleness;
  // The query's bytes are shared with the links, not copied.
  RETURN_IF_ERROR(recorder_.Save(step, last_query_->query_payload(), answers, *central_));
  if (options_.listener != nullptr) {
    RecordRow row;
    row.record = recorder_.records() - 1;
    row.iteration = step.iteration;
    row.epoch = step.epoch;
    row.time_s = step.time_s;
    row.precision = step.precision;
    row.worker = origin;
    row.values = recorder_.last_values();
    options_.listener->Record(row);
  }
  return absl::OkStatus();
}

std::optional<double> Run::Precision(const Outgoing& previous) {
  const absl::string_view now = last_query_->query_payload();
  const absl::string_view before = previous.query_payload();
  if (std::optional<double> own = algorithm_->Precision(now, before)) return own;
  if (!dense_queries_ || now.size() != before.size()) return std::nullopt;
  // An expression over the two payloads: no temporary vector.
  const auto difference = *Codec<Vector>::Decode(now) - *Codec<Vector>::Decode(before);
  switch (config_.stop().precision_norm()) {
    case v1::StopSpec::L1:
      return difference.lpNorm<1>();
    case v1::StopSpec::LINF:
      return difference.lpNorm<Eigen::Infinity>();
    default:
      return difference.norm();
  }
}

void Run::ReportProgress(double now) {
  if (options_.listener != nullptr && now >= next_listener_progress_s_) {
    next_listener_progress_s_ = now + 0.25;
    options_.listener->Progress(Snapshot(now));
  }
  if (options_.progress == nullptr) return;
  options_.progress->MaybeReport(now, [&] { return Snapshot(now); });
}

void Run::ReportMembership() {
  if (options_.listener != nullptr && started_) options_.listener->Progress(Snapshot(Elapsed()));
}

ProgressSnapshot Run::Snapshot(double now) const {
  ProgressSnapshot snapshot;
  snapshot.iteration = state_.iteration();
  snapshot.epoch = state_.epoch();
  snapshot.elapsed_s = now;
  snapshot.precision = last_precision_;
  snapshot.answer_count = state_.answer_count();
  for (int w = 0; w < count(); ++w) {
    snapshot.live.push_back(workers_[w].state != WorkerState::kLost &&
                            workers_[w].state != WorkerState::kVacant);
  }
  snapshot.fraction = ProgressFraction(config_.stop(), state_.iteration(), state_.epoch(), now,
                                       algorithm_->ProgressFraction());
  snapshot.values = algorithm_->ProgressValues();
  return snapshot;
}

RunResult Run::Finish(const absl::Status& status) {
  RunResult result;
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
  result = recorder_.Finish(std::move(result), workers_, started_ ? central_.get() : nullptr);
  if (options_.observer != nullptr) options_.observer->RunEnded(result.status);
  return result;
}

}  // namespace aia
