#include "coordinator/engine.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "algorithms/algorithm.h"
#include "algorithms/typed_algorithm.h"
#include "base/status_macros.h"
#include "base/version.h"
#include "config/config.h"
#include "coordinator/history/history.h"
#include "coordinator/run_state.h"
#include "coordinator/worker_link.h"
#include "grpcpp/grpcpp.h"
#include "problems/problem.h"
#include "proto/worker.grpc.pb.h"

namespace aia {
namespace {

using Clock = std::chrono::steady_clock;

// The coordinator's view of one worker.
struct WorkerSlot {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Worker::Stub> stub;
  std::unique_ptr<WorkerLink> link;
  std::string state = "connecting";  // ready, running, stopped, lost
  bool ready = false;
  bool closed = false;        // the stream has ended
  uint64_t outstanding = 0;   // id of the query it is working on; 0 for none
  int64_t failures = 0;
  double compute_s = 0;       // sum over its answers
};

class Run {
 public:
  Run(const RunOptions& options, std::unique_ptr<Algorithm> algorithm,
      std::unique_ptr<RunDirectory> history)
      : options_(options),
        config_(options.config),
        limits_(ResolveLimits(options.config.limits())),
        algorithm_(std::move(algorithm)),
        history_(std::move(history)),
        dense_(algorithm_->query_type() == kDenseVectorType),
        state_(static_cast<int>(options.workers.size()), config_.stop(), config_.save()) {
    for (const std::string& address : options.workers) {
      workers_.emplace_back();
      workers_.back().address = address;
    }
  }

  RunResult Execute() {
    absl::Status status = Prepare();
    if (status.ok()) status = Loop();
    Shutdown();
    return Finish(status);
  }

 private:
  std::string Name(int w) const {
    return absl::StrCat("worker ", w, " (", workers_[w].address, ")");
  }

  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  // The next event, if one comes by `deadline`. Returns Cancelled once the run's
  // cancel notification fires (checked every 0.1 s).
  absl::StatusOr<bool> NextEvent(absl::Time deadline, Event* event) {
    while (true) {
      if (options_.cancel != nullptr && options_.cancel->HasBeenNotified()) {
        return absl::CancelledError("cancelled");
      }
      const absl::Time until = std::min(deadline, absl::Now() + absl::Milliseconds(100));
      if (events_.PopUntil(until, event)) return true;
      if (until >= deadline) return false;
    }
  }

  double Elapsed() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }

  // Steps 2 and 3: central problem, connections, setups, q0.
  absl::Status Prepare() {
    ProblemContext context{config_.problem(), options_.data_root, 0, 1};
    absl::StatusOr<std::unique_ptr<Problem>> central = NewProblem(context);
    if (!central.ok()) {
      return absl::Status(central.status().code(),
                          absl::StrCat("coordinator: cannot build the central problem: ",
                                       central.status().message()));
    }
    central_ = std::move(central).value();
    RETURN_IF_ERROR(Connect());
    RETURN_IF_ERROR(SetUp());

    absl::StatusOr<std::string> q0 = algorithm_->Initialize(*central_);
    if (!q0.ok()) {
      return absl::Status(q0.status().code(),
                          absl::StrCat("initialization failed: ", q0.status().message()));
    }
    start_ = Clock::now();
    started_ = true;
    RunDirectory::Record record0;
    RETURN_IF_ERROR(history_->Append(record0, *q0, dense_));
    for (int w = 0; w < static_cast<int>(workers_.size()); ++w) {
      auto message = std::make_shared<v1::ToWorker>();
      message->mutable_query()->set_id(next_query_id_++);
      message->mutable_query()->set_payload(*q0);
      last_query_ = message;
      SendQuery(w, std::move(message));
      workers_[w].state = "running";
    }
    return absl::OkStatus();
  }

  absl::Status Connect() {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(static_cast<int>(limits_.max_message_bytes));
    args.SetMaxSendMessageSize(static_cast<int>(limits_.max_message_bytes));
    // Keepalive pings find a dead peer even when the stream is idle.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // Distinct channels, so that each worker gets its own connection.
    for (size_t w = 0; w < workers_.size(); ++w) {
      args.SetInt("aia.worker_index", static_cast<int>(w));
      workers_[w].channel = grpc::CreateCustomChannel(
          workers_[w].address, grpc::InsecureChannelCredentials(), args);
      workers_[w].channel->GetState(/*try_to_connect=*/true);
    }
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(limits_.connect_timeout_s));
    std::vector<std::string> unreachable;
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (!workers_[w].channel->WaitForConnected(deadline)) {
        unreachable.push_back(Name(static_cast<int>(w)));
        workers_[w].state = "unreachable";
      }
    }
    if (!unreachable.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot connect within ", limits_.connect_timeout_s,
          " s (limits.connect_timeout_s) to ", absl::StrJoin(unreachable, ", ")));
    }
    return absl::OkStatus();
  }

  absl::Status SetUp() {
    const int count = static_cast<int>(workers_.size());
    for (int w = 0; w < count; ++w) {
      auto message = std::make_shared<v1::ToWorker>();
      v1::Setup* setup = message->mutable_setup();
      setup->set_run_id(history_->path());
      *setup->mutable_algorithm() = config_.algorithm();
      *setup->mutable_problem() = config_.problem();
      setup->set_worker_index(w);
      setup->set_worker_count(count);
      setup->set_seed(config_.seed() + w + 1);
      setup->set_query_type(algorithm_->query_type());
      setup->set_answer_type(algorithm_->answer_type());
      workers_[w].stub = v1::Worker::NewStub(workers_[w].channel);
      workers_[w].link = std::make_unique<WorkerLink>(w, workers_[w].stub.get(), &events_);
      workers_[w].link->Start(std::move(message));
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(limits_.setup_timeout_s);
    int ready = 0;
    while (ready < count) {
      Event event;
      ASSIGN_OR_RETURN(const bool arrived, NextEvent(deadline, &event));
      if (!arrived) {
        std::vector<std::string> waiting;
        for (int w = 0; w < count; ++w) {
          if (!workers_[w].ready) waiting.push_back(Name(w));
        }
        return absl::DeadlineExceededError(
            absl::StrCat("no Ready within ", limits_.setup_timeout_s,
                         " s (limits.setup_timeout_s) from ", absl::StrJoin(waiting, ", ")));
      }
      const int w = event.worker;
      if (event.kind == Event::Kind::kMessage && event.message.has_ready()) {
        const v1::Ready& r = event.message.ready();
        if (workers_[w].ready) return Lose(w, "sent a second Ready");
        if (r.dimension() != central_->dimension()) {
          return Lose(w, absl::StrCat("has a problem of dimension ", r.dimension(),
                                      " but the coordinator's has ", central_->dimension()));
        }
        workers_[w].ready = true;
        workers_[w].state = "ready";
        ++ready;
        Log(absl::StrFormat("%s ready: %d rows%s, %.3f s", Name(w), r.rows(),
                            r.cached() ? " (cached)" : "", r.setup_s()));
        continue;
      }
      return LoseOnEvent(event, "setup failed: ");
    }
    return absl::OkStatus();
  }

  // Step 4: the asynchronous central loop.
  absl::Status Loop() {
    while (true) {
      const double limit = state_.time_limit_s();
      const absl::Time deadline =
          std::isinf(limit) ? absl::InfiniteFuture()
                            : absl::Now() + absl::Seconds(std::max(0.0, limit - Elapsed()));
      Event event;
      ASSIGN_OR_RETURN(const bool arrived, NextEvent(deadline, &event));
      if (!arrived) {
        if (!state_.TimeIsUp(Elapsed())) continue;
        stop_reason_ = "time_s";
        // The final step is always saved.
        if (state_.last_saved_iteration() != state_.iteration()) {
          RETURN_IF_ERROR(SaveRecord(last_worker_, std::nullopt));
        }
        return absl::OkStatus();
      }
      const int w = event.worker;
      if (event.kind != Event::Kind::kMessage || !event.message.has_answer()) {
        return LoseOnEvent(event, "");
      }
      const v1::Answer& answer = event.message.answer();
      if (answer.query_id() != workers_[w].outstanding) {
        return Lose(w, absl::StrCat("answered query ", answer.query_id(), " but was asked query ",
                                    workers_[w].outstanding));
      }
      workers_[w].outstanding = 0;
      workers_[w].compute_s += answer.compute_s();

      absl::StatusOr<std::string> query = algorithm_->Update(answer.payload(), w, *central_);
      if (!query.ok()) {
        if (query.status().code() == absl::StatusCode::kDataLoss) {
          return Lose(w, absl::StrCat("sent a malformed answer: ", query.status().message()));
        }
        return absl::Status(query.status().code(), absl::StrCat("central step on the answer of ",
                                                                Name(w), " failed: ",
                                                                query.status().message()));
      }
      // The new query moves into the message that carries it and stays there, for
      // the history and the next precision, without a copy.
      auto message = std::make_shared<v1::ToWorker>();
      v1::Query* next = message->mutable_query();
      next->set_id(next_query_id_++);
      next->set_iteration(state_.iteration() + 1);
      *next->mutable_payload() = std::move(query).value();
      std::shared_ptr<const v1::ToWorker> previous = std::exchange(last_query_, message);
      last_worker_ = w;
      // The distance costs a pass over two queries: only when a rule needs it.
      std::optional<double> precision;
      if (config_.stop().has_precision()) precision = Distance(*previous);
      const double now = Elapsed();
      RunState::Decision decision = state_.Step(w, now, precision);
      if (decision.save) {
        if (!precision.has_value()) precision = Distance(*previous);
        RETURN_IF_ERROR(SaveRecord(w, precision));
      }
      if (decision.stop.has_value()) {
        stop_reason_ = *decision.stop;
        return absl::OkStatus();
      }
      SendQuery(w, std::move(message));
      MaybeLogProgress(now);
    }
  }

  void SendQuery(int w, std::shared_ptr<const v1::ToWorker> message) {
    workers_[w].outstanding = message->query().id();
    workers_[w].link->Send(std::move(message));
  }

  absl::Status SaveRecord(int worker, std::optional<double> precision) {
    RunDirectory::Record record;
    record.iteration = state_.iteration();
    record.epoch = state_.epoch();
    record.time_s = Elapsed();
    record.precision = precision;
    if (worker >= 0) record.worker = worker;
    absl::Status status = history_->Append(record, last_query_->query().payload(), dense_);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("cannot write the history: ", status.message()));
    }
    return absl::OkStatus();
  }

  // Euclidean distance between the latest central query and `previous` (dense
  // queries of one size only).
  std::optional<double> Distance(const v1::ToWorker& previous) const {
    const std::string& now = last_query_->query().payload();
    const std::string& before = previous.query().payload();
    if (!dense_ || now.size() != before.size()) return std::nullopt;
    return (*Codec<Vector>::Decode(now) - *Codec<Vector>::Decode(before)).norm();
  }

  void MaybeLogProgress(double now) {
    if (now < next_progress_s_) return;
    next_progress_s_ = now + 1.0;
    Log(absl::StrFormat("iteration %d  epoch %d  %.1f s  %.0f answers/s", state_.iteration(),
                        state_.epoch(), now, now > 0 ? state_.iteration() / now : 0.0));
  }

  // A worker is lost: the run fails (resilience comes with a later issue).
  absl::Status Lose(int w, const std::string& cause) {
    workers_[w].state = "lost";
    ++workers_[w].failures;
    workers_[w].link->Cancel();
    return absl::UnavailableError(absl::StrCat(Name(w), ": ", cause));
  }

  // An event other than the expected one: an Error message, a closed stream or a
  // message out of protocol.
  absl::Status LoseOnEvent(const Event& event, const std::string& context) {
    const int w = event.worker;
    if (event.kind == Event::Kind::kClosed) {
      workers_[w].closed = true;
      const grpc::Status& s = event.status;
      return Lose(w, absl::StrCat(context, "the stream ended (", s.error_code(),
                                  s.error_message().empty() ? "" : ": ", s.error_message(), ")"));
    }
    if (event.message.has_error()) return Lose(w, context + event.message.error().reason());
    return Lose(w, absl::StrCat(context, "sent an unexpected ",
                                event.message.has_ready() ? "Ready" : "message"));
  }

  // Step 5: Stop to every worker, then wait (bounded) for the streams to end.
  void Shutdown() {
    auto stop = std::make_shared<v1::ToWorker>();
    stop->mutable_stop()->set_reason(stop_reason_.empty() ? "run failed" : stop_reason_);
    for (WorkerSlot& slot : workers_) {
      if (slot.link == nullptr) continue;
      slot.link->Send(stop);
      slot.link->Close();
      if (slot.state == "running" || slot.state == "ready") slot.state = "stopped";
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(limits_.shutdown_timeout_s);
    for (WorkerSlot& slot : workers_) {
      if (slot.link == nullptr) continue;
      if (!slot.link->AwaitDone(deadline)) {
        slot.link->Cancel();
        slot.link->AwaitDone(absl::InfiniteFuture());  // cancellation ends it promptly
      }
    }
  }

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
    result.elapsed_s = started_ ? Elapsed() : 0.0;
    result.answer_count = state_.answer_count();

    std::vector<RunDirectory::WorkerRow> rows;
    for (int w = 0; w < static_cast<int>(workers_.size()); ++w) {
      RunDirectory::WorkerRow row;
      row.worker = w;
      row.address = workers_[w].address;
      row.answers = state_.answer_count()[w];
      row.failures = workers_[w].failures;
      row.mean_compute_s = row.answers > 0 ? workers_[w].compute_s / row.answers : 0.0;
      row.state = workers_[w].state;
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
  std::unique_ptr<Algorithm> algorithm_;
  std::unique_ptr<RunDirectory> history_;
  const bool dense_;
  std::unique_ptr<Problem> central_;
  std::vector<WorkerSlot> workers_;
  EventQueue events_;
  RunState state_;
  Clock::time_point start_;
  bool started_ = false;
  uint64_t next_query_id_ = 1;
  std::shared_ptr<const v1::ToWorker> last_query_;  // carries the latest central query
  int last_worker_ = -1;
  std::string stop_reason_;
  double next_progress_s_ = 1.0;
};

}  // namespace

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options) {
  if (options.workers.empty()) {
    return absl::InvalidArgumentError("no workers: give --local_workers, --workers or --workers_file");
  }
  RETURN_IF_ERROR(ValidateConfig(options.config, static_cast<int>(options.workers.size())));
  AlgorithmContext context{options.config.algorithm(), options.config.seed(), -1,
                           static_cast<int>(options.workers.size())};
  ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> algorithm, NewAlgorithm(context));
  ASSIGN_OR_RETURN(std::unique_ptr<RunDirectory> history,
                   RunDirectory::Create(options.out_dir, options.config));
  Run run(options, std::move(algorithm), std::move(history));
  return run.Execute();
}

}  // namespace aia
