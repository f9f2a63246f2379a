#include "coordinator/recorder.h"

#include "absl/strings/str_cat.h"
#include "base/version.h"
#include "grpcpp/grpcpp.h"

namespace aia {

Recorder::Recorder(std::unique_ptr<RunDirectory> directory, const v1::RunConfig& config,
                   Algorithm* algorithm)
    : directory_(std::move(directory)),
      path_(directory_->path()),
      config_(config),
      algorithm_(algorithm),
      dense_queries_(algorithm->history_query_type() == kDenseVectorType),
      dense_answers_(algorithm->answer_type() == kDenseVectorType),
      saved_value_count_(algorithm->saved_value_names().size()),
      writer_([this] { WriterLoop(); }) {}

Recorder::~Recorder() { StopWriter(); }

void Recorder::StopWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

absl::Status Recorder::Save(const Step& step, Payload query,
                            const std::vector<WorkerAnswer>& answers, const Problem& central) {
  Job job;
  job.record.iteration = step.iteration;
  job.record.epoch = step.epoch;
  job.record.time_s = step.time_s;
  job.record.precision = step.precision;
  if (step.origin >= 0) job.record.worker = step.origin;
  job.record.staleness = step.staleness;
  job.record.extra = algorithm_->SavedValues(central);
  if (job.record.extra.size() != saved_value_count_) {
    return absl::InternalError(absl::StrCat("algorithm '", config_.algorithm().name(), "' gave ",
                                            job.record.extra.size(), " saved values for ",
                                            saved_value_count_, " names"));
  }
  job.query = std::move(query);
  if (config_.save().answers()) {
    for (const WorkerAnswer& answer : answers) {
      job.answers.emplace_back(answer.worker, std::string(answer.payload));
      job.bytes += answer.payload.size();
    }
  }
  last_values_ = job.record.extra;
  absl::MutexLock lock(&mu_);
  // A full queue waits for the writer: the run slows down, no record is dropped.
  auto room = [this, bytes = job.bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !error_.ok() || queue_.empty() ||
           (queue_.size() < kMaxQueuedRecords && queued_bytes_ + bytes <= kMaxQueuedBytes);
  };
  mu_.Await(absl::Condition(&room));
  if (!error_.ok()) return error_;
  queued_bytes_ += job.bytes;
  queue_.push_back(std::move(job));
  ++saved_;
  return absl::OkStatus();
}

void Recorder::WriterLoop() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping, and everything is written
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    // After a failed write nothing more is written: the files end on the last
    // whole record.
    absl::Status status;
    {
      absl::MutexLock lock(&mu_);
      status = error_;
    }
    if (status.ok()) status = Write(job);
    absl::MutexLock lock(&mu_);
    queued_bytes_ -= job.bytes;
    if (!status.ok() && error_.ok()) error_ = status;
  }
}

absl::Status Recorder::Write(const Job& job) {
  absl::Status status = directory_->Append(job.record, job.query, dense_queries_);
  for (size_t i = 0; status.ok() && i < job.answers.size(); ++i) {
    status = directory_->AppendAnswer(directory_->records() - 1, job.answers[i].first,
                                      job.answers[i].second, dense_answers_);
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot write the history: ", status.message()));
  }
  return absl::OkStatus();
}

RunResult Recorder::Finish(RunResult result, const WorkerPool& workers, const Problem* central) {
  StopWriter();  // every queued record written (or the first error kept)
  result.out_dir = path_;
  {
    absl::MutexLock lock(&mu_);
    if (!error_.ok() && result.error.empty()) {
      result.status = "failed";
      result.error = std::string(error_.message());
    }
  }
  std::vector<RunDirectory::WorkerRow> rows;
  for (int w = 0; w < workers.count(); ++w) {
    const WorkerSlot& slot = workers[w];
    RunDirectory::WorkerRow row;
    row.worker = w;
    row.address = slot.address;
    row.answers = w < static_cast<int>(result.answer_count.size()) ? result.answer_count[w] : 0;
    row.failures = slot.failures;
    row.mean_compute_s = row.answers > 0 ? slot.compute_s / row.answers : 0.0;
    row.state = StateName(slot);
    row.cause = slot.cause;
    row.version = slot.version;
    row.host = slot.host;
    row.shard_digest = slot.shard_digest;
    rows.push_back(row);
  }
  const absl::Status written = directory_->WriteWorkers(rows);
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
  if (central != nullptr) summary.report = algorithm_->FinalReport(*central);
  if (!written.ok() && summary.error.empty()) {
    summary.status = result.status = "failed";
    summary.error = result.error = std::string(written.message());
  }
  const absl::Status summarized = directory_->WriteSummary(summary);
  if (!summarized.ok()) {
    result.status = "failed";
    result.error = absl::StrCat(result.error, result.error.empty() ? "" : "; ",
                                "cannot write summary.json: ", summarized.message());
  }
  return result;
}

}  // namespace aia
