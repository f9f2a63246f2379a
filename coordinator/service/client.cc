#include "coordinator/service/client.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "coordinator/progress.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/coordinator.grpc.pb.h"

namespace aia {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;
constexpr absl::Duration kCallTimeout = absl::Seconds(30);

std::unique_ptr<v1::Coordinator::Stub> Connect(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  return v1::Coordinator::NewStub(grpc::CreateCustomChannel(
      options.server,
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
      args));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoSeconds(kCallTimeout));
}

// A failed call: the service's message (it names the field, run or token at
// fault), exit 2 for input the service refused, 1 otherwise.
int CallFailed(const ClientOptions& options, const grpc::Status& status) {
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    message = absl::StrCat("cannot reach the coordinator service at ", options.server, ": ",
                           message);
  } else if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    message = absl::StrCat("the coordinator service at ", options.server,
                           " refused the call: ", message);
  }
  std::fprintf(stderr, "aia: %s\n", message.c_str());
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kBadInput : kFailed;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

std::string FormatTime(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMicros(unix_seconds * 1e6),
                          absl::LocalTimeZone());
}

// The line `aia run` ends with.
void PrintOutcome(const v1::RunSummary& summary) {
  if (summary.state() == "completed") {
    std::printf("completed: %s after %lld iterations, %lld epochs, %.3f s; history in %s\n",
                summary.stop_reason().c_str(), static_cast<long long>(summary.iterations()),
                static_cast<long long>(summary.epochs()), summary.elapsed_s(),
                summary.run_dir().c_str());
  } else {
    std::fprintf(stderr, "aia: run %s %s: %s\nhistory in %s\n", summary.run_id().c_str(),
                 summary.state().c_str(), summary.error().c_str(), summary.run_dir().c_str());
  }
}

ProgressSnapshot ToSnapshot(const v1::Progress& progress) {
  ProgressSnapshot snapshot;
  snapshot.iteration = progress.iteration();
  snapshot.epoch = progress.epoch();
  snapshot.elapsed_s = progress.elapsed_s();
  if (progress.has_precision()) snapshot.precision = progress.precision();
  snapshot.answer_count.assign(progress.answer_count().begin(), progress.answer_count().end());
  snapshot.live.assign(progress.live().begin(), progress.live().end());
  if (progress.has_fraction()) snapshot.fraction = progress.fraction();
  for (const v1::NamedValue& value : progress.values()) {
    snapshot.values.emplace_back(value.name(), value.value());
  }
  return snapshot;
}

}  // namespace

int SubmitCommand(const ClientOptions& options, const std::string& config_path,
                  const std::vector<std::string>& sets, int workers, bool watch) {
  std::ifstream file(config_path);
  if (!file) {
    std::fprintf(stderr, "aia: cannot read %s\n", config_path.c_str());
    return kBadInput;
  }
  std::stringstream text;
  text << file.rdbuf();
  v1::SubmitRunRequest request;
  request.set_config_text(text.str());
  for (const std::string& set : sets) request.add_overrides(set);
  request.set_workers(workers);
  request.set_source(config_path.substr(config_path.rfind('/') + 1));
  v1::SubmitRunResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = Connect(options)->SubmitRun(&context, request, &response);
  if (!status.ok()) return CallFailed(options, status);
  if (options.json) {
    PrintJson(response);
  } else {
    std::printf("%s\n", response.run_id().c_str());
  }
  std::fflush(stdout);
  return watch ? WatchCommand(options, response.run_id(), 0) : kOk;
}

int WatchCommand(const ClientOptions& options, const std::string& run_id, int64_t from_record) {
  std::unique_ptr<v1::Coordinator::Stub> stub = Connect(options);
  ProgressReporter progress(ProgressReporter::DefaultOptions(stderr, options.quiet || options.json));
  int64_t next_record = from_record;
  std::optional<v1::RunSummary> summary;
  std::string last_state;
  // A stream that breaks is resumed from the next record, 10 times at most.
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    v1::WatchRunRequest request;
    request.set_run_id(run_id);
    request.set_from_record(next_record);
    std::unique_ptr<grpc::ClientReader<v1::RunUpdate>> reader = stub->WatchRun(&context, request);
    v1::RunUpdate update;
    bool received = false;
    while (reader->Read(&update)) {
      received = true;
      if (options.json) PrintJson(update);
      switch (update.kind_case()) {
        case v1::RunUpdate::kSummary:
          summary = update.summary();
          if (!options.json && summary->state() != last_state) {
            progress.Event(absl::StrCat(run_id, " ", summary->state()));
          }
          last_state = summary->state();
          break;
        case v1::RunUpdate::kRecord:
          next_record = update.record().record() + 1;
          break;
        case v1::RunUpdate::kEvent:
          progress.Event(update.event());
          break;
        case v1::RunUpdate::kProgress:
          progress.MaybeReport(update.progress().elapsed_s(),
                               [&] { return ToSnapshot(update.progress()); });
          break;
        default:
          break;
      }
    }
    const grpc::Status status = reader->Finish();
    if (status.ok()) break;
    const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE;
    if (!transient || attempt >= 10) return CallFailed(options, status);
    if (received) attempt = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 250 << attempt)));
  }
  if (!summary.has_value()) return kFailed;
  if (!options.json) PrintOutcome(*summary);
  return summary->exit_status();
}

int CancelCommand(const ClientOptions& options, const std::string& run_id) {
  v1::CancelRunRequest request;
  request.set_run_id(run_id);
  v1::RunSummary response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = Connect(options)->CancelRun(&context, request, &response);
  if (!status.ok()) return CallFailed(options, status);
  if (options.json) {
    PrintJson(response);
  } else {
    // A queued run is cancelled at once; a running one ends within about a second.
    if (response.state() == "cancelled") {
      std::printf("%s: cancelled before it started\n", run_id.c_str());
    } else {
      std::printf("%s: cancel requested (was %s)\n", run_id.c_str(), response.state().c_str());
    }
  }
  return kOk;
}

int ListRunsCommand(const ClientOptions& options) {
  v1::ListRunsResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = Connect(options)->ListRuns(&context, {}, &response);
  if (!status.ok()) return CallFailed(options, status);
  if (options.json) {
    PrintJson(response);
    return kOk;
  }
  std::printf("%-10s %-11s %7s %11s %9s  %-19s  %s\n", "RUN", "STATE", "WORKERS", "ITERATIONS",
              "ELAPSED", "SUBMITTED", "NAME");
  for (const v1::RunSummary& run : response.runs()) {
    std::printf("%-10s %-11s %7d %11lld %8.1fs  %-19s  %s\n", run.run_id().c_str(),
                run.state().c_str(), run.workers(), static_cast<long long>(run.iterations()),
                run.elapsed_s(), FormatTime(run.submitted_at()).c_str(),
                (run.name().empty() ? run.source() : run.name()).c_str());
  }
  return kOk;
}

int GetRunCommand(const ClientOptions& options, const std::string& run_id) {
  v1::GetRunRequest request;
  request.set_run_id(run_id);
  v1::RunSummary run;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = Connect(options)->GetRun(&context, request, &run);
  if (!status.ok()) return CallFailed(options, status);
  if (options.json) {
    PrintJson(run);
    return kOk;
  }
  std::string answers;
  for (int64_t count : run.answer_count()) absl::StrAppend(&answers, answers.empty() ? "" : " ", count);
  std::printf(
      "run          %s\nname         %s\nalgorithm    %s\nstate        %s\nstop_reason  %s\n"
      "error        %s\nworkers      %d (min_workers %d)\niterations   %lld\nepochs       %lld\n"
      "elapsed_s    %.3f\nanswers      %s\nsubmitted    %s\nstarted      %s\nended        %s\n"
      "run_dir      %s\n",
      run.run_id().c_str(), run.name().c_str(), run.algorithm().c_str(), run.state().c_str(),
      run.stop_reason().c_str(), run.error().c_str(), run.workers(), run.min_workers(),
      static_cast<long long>(run.iterations()), static_cast<long long>(run.epochs()),
      run.elapsed_s(), answers.c_str(), FormatTime(run.submitted_at()).c_str(),
      FormatTime(run.started_at()).c_str(), FormatTime(run.ended_at()).c_str(),
      run.run_dir().c_str());
  return kOk;
}

int ListWorkersCommand(const ClientOptions& options) {
  v1::ListWorkersResponse response;
  grpc::ClientContext context;
  SetDeadline(context);
  const grpc::Status status = Connect(options)->ListWorkers(&context, {}, &response);
  if (!status.ok()) return CallFailed(options, status);
  if (options.json) {
    PrintJson(response);
    return kOk;
  }
  std::printf("%-32s %-5s %-10s %5s  %-20s %s\n", "WORKER", "STATE", "RUN", "SLOT", "HOST",
              "CAUSE");
  for (const v1::PoolWorker& worker : response.workers()) {
    std::printf("%-32s %-5s %-10s %5s  %-20s %s\n", worker.name().c_str(), worker.state().c_str(),
                worker.run_id().empty() ? "-" : worker.run_id().c_str(),
                worker.slot() < 0 ? "-" : absl::StrCat(worker.slot()).c_str(),
                worker.host().empty() ? "-" : worker.host().c_str(), worker.cause().c_str());
  }
  return kOk;
}

}  // namespace aia
