#include "coordinator/recorder.h"

#include "absl/strings/str_cat.h"
#include "base/version.h"
#include "grpcpp/grpcpp.h"

namespace aia {

Recorder::Recorder(std::unique_ptr<RunDirectory> directory, const v1::RunConfig& config,
                   Algorithm* algorithm)
    : directory_(std::move(directory)),
      config_(config),
      algorithm_(algorithm),
      dense_queries_(algorithm->history_query_type() == kDenseVectorType),
      dense_answers_(algorithm->answer_type() == kDenseVectorType),
      saved_value_count_(algorithm->saved_value_names().size()) {}

absl::Status Recorder::Save(const Step& step, const std::string& query,
                            const std::vector<WorkerAnswer>& answers, const Problem& central) {
  RunDirectory::Record record;
  record.iteration = step.iteration;
  record.epoch = step.epoch;
  record.time_s = step.time_s;
  record.precision = step.precision;
  if (step.origin >= 0) record.worker = step.origin;
  record.staleness = step.staleness;
  record.extra = algorithm_->SavedValues(central);
  if (record.extra.size() != saved_value_count_) {
    return absl::InternalError(absl::StrCat("algorithm '", config_.algorithm().name(), "' gave ",
                                            record.extra.size(), " saved values for ",
                                            saved_value_count_, " names"));
  }
  absl::Status status = directory_->Append(record, query, dense_queries_);
  for (size_t i = 0; status.ok() && config_.save().answers() && i < answers.size(); ++i) {
    status = directory_->AppendAnswer(directory_->records() - 1, answers[i].worker,
                                      answers[i].payload, dense_answers_);
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("cannot write the history: ", status.message()));
  }
  last_values_ = std::move(record.extra);
  return absl::OkStatus();
}

RunResult Recorder::Finish(RunResult result, const WorkerPool& workers, const Problem* central) {
  result.out_dir = directory_->path();
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
