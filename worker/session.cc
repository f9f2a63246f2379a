#include "worker/session.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/interrupt.h"
#include "base/utf8.h"
#include "base/version.h"
#include "plugins/exceptions.h"
#include "plugins/identity.h"

namespace aia {

using v1::FromWorker;
using v1::ToWorker;

namespace {

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

}  // namespace

std::string WireReason(absl::string_view reason, absl::string_view data_root) {
  std::string text(reason);
  if (data_root.size() > 1) {  // "/" itself says nothing
    text = absl::StrReplaceAll(text, {{data_root, "<data_root>"}});
  }
  constexpr size_t kMaxReason = 4096;
  if (text.size() > kMaxReason) {
    text.resize(kMaxReason - 3);
    text += "...";
  }
  return ValidUtf8(text);
}

WorkerSession::WorkerSession(std::string data_root, ProblemCache* cache)
    : data_root_(std::move(data_root)), cache_(cache) {}

WorkerSession::~WorkerSession() {
  if (problem_ != nullptr) cache_->Put(cache_key_, std::move(problem_));
}

v1::FromWorker WorkerReply::Whole() const {
  v1::FromWorker whole = message;
  if (whole.has_answer()) whole.mutable_answer()->set_payload(answer_payload.ToString());
  return whole;
}

std::optional<WorkerReply> WorkerSession::Handle(const ToWorker& message) {
  if (done_) return std::nullopt;
  WorkerReply reply;
  absl::Status status;
  switch (message.kind_case()) {
    // Plugin code runs in both (the factories, the worker step): an exception it
    // throws ends the session with its message, not the daemon.
    case ToWorker::kSetup:
      status = CatchPluginExceptions([&] { return HandleSetup(message.setup(), reply.message); });
      break;
    case ToWorker::kQuery:
      status = CatchPluginExceptions([&] { return HandleQuery(message.query(), reply); });
      break;
    case ToWorker::kStop:
      done_ = true;
      return std::nullopt;
    case ToWorker::kHeartbeat:
      return std::nullopt;
    case ToWorker::KIND_NOT_SET:
      status = absl::InvalidArgumentError("received an empty message (no setup, query or stop)");
      break;
  }
  if (!status.ok()) {
    reply = WorkerReply();
    error_ = std::string(status.message());
    reply.message.mutable_error()->set_reason(WireReason(error_, data_root_));
    reply.message.mutable_error()->set_code(static_cast<int>(status.code()));
    done_ = true;
  }
  return reply;
}

absl::Status WorkerSession::HandleSetup(const v1::Setup& setup, FromWorker& reply) {
  if (algorithm_ != nullptr) return absl::FailedPreconditionError("received a second Setup");
  const absl::Time start = absl::Now();
  if (setup.worker_count() < 1 || setup.worker_index() < 0 ||
      setup.worker_index() >= setup.worker_count()) {
    return absl::InvalidArgumentError(absl::StrCat("Setup has worker index ", setup.worker_index(),
                                                   " of ", setup.worker_count()));
  }
  RETURN_IF_ERROR(CheckSamePlugins(setup));
  AlgorithmContext algorithm_context{setup.algorithm(), setup.seed(), setup.worker_index(),
                                     setup.worker_count()};
  ASSIGN_OR_RETURN(algorithm_, NewAlgorithm(algorithm_context));
  if (algorithm_->query_type() != setup.query_type() ||
      algorithm_->answer_type() != setup.answer_type()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "algorithm '", setup.algorithm().name(), "' here takes ", algorithm_->query_type(),
        " queries and gives ", algorithm_->answer_type(), " answers; the coordinator's takes ",
        setup.query_type(), " and gives ", setup.answer_type(), " (different aia versions?)"));
  }
  if (algorithm_->message_version() != setup.algorithm_version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "algorithm '", setup.algorithm().name(), "' here means '", algorithm_->message_version(),
        "' by its messages; the coordinator's means '", setup.algorithm_version(),
        "' (different versions of the plugin)"));
  }
  max_message_bytes_ = setup.max_message_bytes();
  stragglers_ = setup.stragglers();
  if (!(stragglers_.shape() >= 0) || !(stragglers_.scale_s() >= 0)) {
    return absl::InvalidArgumentError("Setup has a negative straggler shape or scale");
  }
  straggler_state_ = stragglers_.seed() + static_cast<uint64_t>(setup.worker_index()) + 1;
  cache_key_ =
      ProblemCache::Key(setup.problem(), data_root_, setup.worker_index(), setup.worker_count());
  problem_ = cache_->Take(cache_key_);
  const bool cached = problem_ != nullptr;
  if (!cached) {
    ProblemContext problem_context{setup.problem(), data_root_, setup.worker_index(),
                                   setup.worker_count()};
    ASSIGN_OR_RETURN(problem_, NewProblem(problem_context));
  }
  v1::Ready* ready = reply.mutable_ready();
  ready->set_dimension(problem_->dimension());
  ready->set_rows(problem_->rows());
  ready->set_cached(cached);
  ready->set_setup_s(absl::ToDoubleSeconds(absl::Now() - start));
  ready->set_version(kVersion);
  ready->set_host(HostName());
  ready->set_shard_digest(problem_->digest());
  ready->set_algorithm_version(algorithm_->message_version());
  return absl::OkStatus();
}

absl::Status WorkerSession::HandleQuery(const v1::Query& query, WorkerReply& reply) {
  if (algorithm_ == nullptr) {
    return absl::FailedPreconditionError("received a Query before Setup");
  }
  const auto start = std::chrono::steady_clock::now();
  v1::Answer* out = reply.message.mutable_answer();
  out->set_query_id(query.id());
  if (algorithm_->uses_task_pool()) {
    // A block of tasks: answer each, in order.
    v1::TaskBlock tasks, answers;
    if (!tasks.ParseFromString(query.payload())) {
      return absl::DataLossError(absl::StrCat("query ", query.id(), " is not a task block"));
    }
    for (int i = 0; i < tasks.items_size(); ++i) {
      absl::StatusOr<Payload> answer = algorithm_->Answer(tasks.items(i), *problem_);
      if (!answer.ok()) {
        return absl::Status(answer.status().code(),
                            absl::StrCat("worker step on task ", i, " of query ", query.id(),
                                         " failed: ", answer.status().message()));
      }
      answers.add_items(answer->data(), answer->size());
    }
    reply.answer_payload = answers.SerializeAsString();
  } else {
    absl::StatusOr<Payload> answer = algorithm_->Answer(query.payload(), *problem_);
    if (!answer.ok()) {
      return absl::Status(answer.status().code(),
                          absl::StrCat("worker step on query ", query.id(),
                                       " failed: ", answer.status().message()));
    }
    reply.answer_payload = std::move(answer).value();
  }
  // The payload and at most 64 bytes of the rest (the id, compute_s, the tags).
  const size_t payload_bytes = reply.answer_payload.size();
  if (max_message_bytes_ > 0 && payload_bytes + 64 > static_cast<size_t>(max_message_bytes_)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the answer to query ", query.id(), " has a payload of ", payload_bytes,
        " bytes, more than the Setup's max_message_bytes ", max_message_bytes_, " allows"));
  }
  const double delay = StragglerDelay();
  if (delay > 0 && !SleepUnlessInterrupted(absl::Seconds(delay))) {
    return absl::CancelledError("the session was cancelled");
  }
  out->set_compute_s(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return absl::OkStatus();
}

double WorkerSession::StragglerDelay() {
  return LomaxDelay(straggler_state_, stragglers_.shape(), stragglers_.scale_s());
}

double LomaxDelay(uint64_t& state, double shape, double scale_s) {
  if (shape <= 0 || scale_s <= 0) return 0;
  // splitmix64: portable, so a seed gives the same delays on every machine.
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const double u = (static_cast<double>(z >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1)
  // Inverse of the Lomax survival function (1 + t / scale)^-shape = u.
  return scale_s * (std::pow(u, -1.0 / shape) - 1.0);
}

}  // namespace aia
