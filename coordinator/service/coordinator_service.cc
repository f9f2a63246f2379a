#include "coordinator/service/coordinator_service.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/utf8.h"
#include "config/config.h"
#include "coordinator/engine.h"
#include "coordinator/service/run_feed.h"
#include "coordinator/service/run_store.h"
#include "coordinator/service/worker_directory.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "proto/coordinator.grpc.pb.h"

namespace aia {
namespace {

constexpr int kMaxSlots = 4096;
constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxOverrides = 256;
constexpr size_t kMaxOverrideBytes = 4096;
constexpr size_t kMaxSourceBytes = 256;
constexpr char kServiceName[] = "aia.v1.Coordinator";

double UnixNow() { return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()); }

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// A unary reaction finished at once with `status`.
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// A WatchRun refused at once (an unknown run, too many watchers).
class RefusedWatch final : public grpc::ServerWriteReactor<v1::RunUpdate> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

class CoordinatorService::Impl final
    : public CoordinatorCallbackService {
 public:
  explicit Impl(const Options& options)
      : options_(options), directory_(DirectoryOptions(options, this)) {}

  absl::Status Load();
  absl::Status Serve();
  void Stop();
  int port = 0;

  grpc::ServerUnaryReactor* SubmitRun(grpc::CallbackServerContext* context,
                                      const v1::SubmitRunRequest* request,
                                      v1::SubmitRunResponse* response) override;
  grpc::ServerWriteReactor<v1::RunUpdate>* WatchRun(grpc::CallbackServerContext* context,
                                                    const v1::WatchRunRequest* request) override;
  grpc::ServerUnaryReactor* CancelRun(grpc::CallbackServerContext* context,
                                      const v1::CancelRunRequest* request,
                                      v1::RunSummary* response) override;
  grpc::ServerUnaryReactor* ListRuns(grpc::CallbackServerContext* context,
                                     const v1::ListRunsRequest* request,
                                     v1::ListRunsResponse* response) override;
  grpc::ServerUnaryReactor* GetRun(grpc::CallbackServerContext* context,
                                   const v1::GetRunRequest* request,
                                   v1::RunSummary* response) override;
  grpc::ServerUnaryReactor* ListWorkers(grpc::CallbackServerContext* context,
                                        const v1::ListWorkersRequest* request,
                                        v1::ListWorkersResponse* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Join(
      grpc::CallbackServerContext* context) override {
    return JoinStream::Create(context, &directory_);
  }

  void Log(const std::string& line) const {
    if (options_.log) {
      options_.log(line);
    } else {
      std::fprintf(stderr, "aia serve: %s\n", line.c_str());
    }
  }

 private:
  class Watch;

  struct RunEntry {
    v1::RunSummary summary;  // guarded by the service's mu_; the feed has a copy
    v1::RunConfig config;
    std::string dir;
    std::unique_ptr<RunFeed> feed;
    absl::Notification cancel;
    std::unique_ptr<WorkerSource> source;
    std::thread thread;
    bool ended = false;  // Execute returned: the scheduler joins the thread
    // The feed holds the records only while the run goes on or is watched; an
    // ended run's are read back from history.csv when it is watched again.
    bool records_in_feed = false;
    int watching = 0;  // WatchRun streams of this run
    absl::Mutex load_mu;  // one watcher reads history.csv back, the others wait
  };

  static WorkerDirectory::Options DirectoryOptions(const Options& options, Impl* impl) {
    WorkerDirectory::Options directory;
    directory.entries = options.workers;
    directory.credentials = options.worker_credentials;
    directory.tls_server_name = options.tls_server_name;
    directory.max_joined = options.max_joined;
    directory.on_change = [impl] { impl->Wake(); };
    directory.log = [impl](const std::string& line) { impl->Log(line); };
    return directory;
  }

  void Wake() {
    absl::MutexLock lock(&mu_);
    wake_ = true;
  }

  // Saves and publishes entry's summary; mu_ held.
  void PublishLocked(RunEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (absl::Status saved = SaveServiceSummary(entry.dir, entry.summary); !saved.ok()) {
      Log(absl::StrCat(entry.summary.run_id(), ": ", saved.message()));
    }
    entry.feed->SetSummary(entry.summary);
  }

  // The summary, with a running run's latest counts.
  v1::RunSummary SummaryLocked(const RunEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::RunSummary summary = entry.summary;
    if (summary.state() == "running") entry.feed->AddProgress(summary);
    return summary;
  }

  RunEntry* FindLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = runs_.find(id);
    return it == runs_.end() ? nullptr : it->second.get();
  }

  static grpc::Status NotFound(const std::string& id) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no run '", ValidUtf8(id), "' (aia ls lists the runs)"));
  }

  // Notifies the run's cancellation, once (a Notification may be notified once);
  // every call holds mu_.
  void CancelLocked(RunEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!entry.cancel.HasBeenNotified()) entry.cancel.Notify();
  }

  // Frees an ended, unwatched run's records (they are in its history.csv).
  void MaybeDropRecordsLocked(RunEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!entry.ended || entry.watching > 0 || !entry.records_in_feed) return;
    entry.feed->SetRecords({});
    entry.records_in_feed = false;
  }

  // Joins the threads of runs that ended.
  void ReapRuns();

  void SchedulerLoop();
  // Starts queued runs while the first fits the free workers; mu_ held.
  void StartRunsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Execute(RunEntry* entry);
  void UpdateMetrics();

  const Options options_;
  WorkerDirectory directory_;
  std::unique_ptr<grpc::Server> server_;
  std::thread scheduler_;

  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<RunEntry>> runs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);  // by submission
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  int64_t next_number_ ABSL_GUARDED_BY(mu_) = 1;
  int watchers_ ABSL_GUARDED_BY(mu_) = 0;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

// One WatchRun stream: writes the feed's updates for its cursor, one at a time.
class CoordinatorService::Impl::Watch final : public grpc::ServerWriteReactor<v1::RunUpdate>,
                                              public RunFeed::Watcher {
 public:
  Watch(Impl* service, RunEntry* entry, int64_t from_record)
      : service_(service), entry_(entry), feed_(entry->feed.get()) {
    cursor_.next_record = std::max<int64_t>(0, from_record);
    feed_->Subscribe(this);
    Wake();
  }

  void Wake() override {
    absl::MutexLock lock(&mu_);
    PumpLocked();
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
  }

  void OnDone() override {
    feed_->Unsubscribe(this);
    {
      absl::MutexLock lock(&service_->mu_);
      --service_->watchers_;
      --entry_->watching;
      service_->MaybeDropRecordsLocked(*entry_);
    }
    delete this;
  }

 private:
  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || finished_) return;
    bool ended = false;
    std::optional<v1::RunUpdate> update = feed_->Next(cursor_, &ended);
    if (update.has_value()) {
      current_ = std::move(*update);
      writing_ = true;
      StartWrite(&current_);
    } else if (ended) {
      FinishLocked(grpc::Status::OK);
    }
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  Impl* const service_;
  RunEntry* const entry_;
  RunFeed* const feed_;
  absl::Mutex mu_;
  RunFeed::Cursor cursor_ ABSL_GUARDED_BY(mu_);
  v1::RunUpdate current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

absl::Status CoordinatorService::Impl::Load() {
  std::error_code error;
  std::filesystem::create_directories(options_.runs_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create --runs_dir ", options_.runs_dir, ": ", error.message()));
  }
  std::vector<std::string> warnings;
  std::vector<v1::RunSummary> runs = LoadServiceRuns(options_.runs_dir, &warnings);
  for (const std::string& warning : warnings) Log(warning);
  absl::MutexLock lock(&mu_);
  for (v1::RunSummary& summary : runs) {
    if (runs_.count(summary.run_id()) != 0) continue;
    auto entry = std::make_unique<RunEntry>();
    entry->dir = (std::filesystem::path(options_.runs_dir) / summary.run_id()).string();
    entry->summary = summary;
    entry->feed = std::make_unique<RunFeed>(summary);
    entry->ended = true;
    const std::string id = summary.run_id();
    if (id.rfind("run-", 0) == 0) {
      next_number_ = std::max<int64_t>(next_number_, std::atoll(id.c_str() + 4) + 1);
    }
    order_.push_back(id);
    runs_.emplace(id, std::move(entry));
  }
  if (!runs.empty()) Log(absl::StrCat(runs.size(), " runs found under ", options_.runs_dir));
  return absl::OkStatus();
}

absl::Status CoordinatorService::Impl::Serve() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen,
                           options_.server_credentials != nullptr
                               ? options_.server_credentials
                               : grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(this);
  ConfigureJoinServer(builder, options_.max_message_bytes);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen,
                                               " (in use, or not an address of this machine)"));
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(kServiceName, true);
  health->SetServingStatus(true);
  directory_.Refresh();
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  return absl::OkStatus();
}

void CoordinatorService::Impl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, entry] : runs_) CancelLocked(*entry);
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
  }
  if (scheduler_.joinable()) scheduler_.join();
  // The runs end within about 0.1 s of their cancellation, plus their shutdown.
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : runs_) {
      if (entry->thread.joinable()) threads.push_back(std::move(entry->thread));
    }
  }
  for (std::thread& thread : threads) thread.join();
  directory_.Shutdown();
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() +
                                            std::chrono::seconds(2));
}

void CoordinatorService::Impl::SchedulerLoop() {
  absl::Time next_refresh = SteadyNow();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(200));
      if (stopping_) return;
      wake_ = false;
    }
    ReapRuns();
    if (SteadyNow() >= next_refresh) {
      directory_.Refresh();
      UpdateMetrics();
      next_refresh = SteadyNow() + absl::Seconds(1);
    }
    absl::MutexLock lock(&mu_);
    StartRunsLocked();
  }
}

void CoordinatorService::Impl::ReapRuns() {
  std::vector<std::thread> ended;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : runs_) {
      if (!entry->ended || !entry->thread.joinable()) continue;
      ended.push_back(std::move(entry->thread));
      entry->source.reset();
    }
  }
  for (std::thread& thread : ended) thread.join();  // each has returned already
}

void CoordinatorService::Impl::StartRunsLocked() {
  while (!queue_.empty() && !stopping_) {
    RunEntry* entry = FindLocked(queue_.front());
    const int need = entry->config.min_workers() > 0 ? entry->config.min_workers()
                                                     : entry->summary.workers();
    if (directory_.free_count() < need) return;
    queue_.pop_front();
    entry->summary.set_state("running");
    entry->summary.set_started_at(UnixNow());
    PublishLocked(*entry);
    if (options_.metrics != nullptr) {
      options_.metrics->QueueWait(entry->summary.started_at() - entry->summary.submitted_at());
    }
    entry->source = directory_.SourceFor(entry->summary.run_id());
    entry->records_in_feed = true;
    Log(absl::StrCat(entry->summary.run_id(), " started (", entry->summary.workers(),
                     " slots, ", directory_.free_count(), " workers free)"));
    entry->thread = std::thread([this, entry] { Execute(entry); });
  }
}

void CoordinatorService::Impl::Execute(RunEntry* entry) {
  RunOptions run;
  run.config = entry->config;
  run.source = entry->source.get();
  run.slots = entry->summary.workers();
  run.out_dir = entry->dir;
  run.credentials = options_.worker_credentials;
  run.tls_server_name = options_.tls_server_name;
  run.diagnose_connect_failure = options_.diagnose_connect_failure;
  run.data_root = options_.data_root;
  run.observer = options_.run_observer;
  run.listener = entry->feed.get();
  run.cancel = &entry->cancel;
  const std::string id = entry->summary.run_id();
  run.log = [this, id](const std::string& line) { Log(absl::StrCat(id, ": ", line)); };
  absl::StatusOr<RunResult> result = RunCoordinator(run);
  absl::MutexLock lock(&mu_);
  v1::RunSummary& summary = entry->summary;
  summary.set_ended_at(UnixNow());
  if (!result.ok()) {
    summary.set_state("failed");
    summary.set_error(std::string(result.status().message()));
  } else {
    summary.set_state(result->status);
    summary.set_stop_reason(result->stop_reason);
    summary.set_error(result->error);
    summary.set_iterations(result->iterations);
    summary.set_epochs(result->epochs);
    summary.set_elapsed_s(result->elapsed_s);
    summary.clear_answer_count();
    for (int64_t count : result->answer_count) summary.add_answer_count(count);
  }
  summary.set_exit_status(summary.state() == "completed" ? 0 : 1);
  PublishLocked(*entry);
  Log(absl::StrCat(id, " ", summary.state(),
                   summary.error().empty() ? "" : absl::StrCat(": ", summary.error())));
  entry->ended = true;
  MaybeDropRecordsLocked(*entry);
  wake_ = true;
}

void CoordinatorService::Impl::UpdateMetrics() {
  if (options_.metrics == nullptr) return;
  std::map<std::string, int> by_state;
  std::map<std::string, int64_t> answers;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : runs_) {
      ++by_state[entry->summary.state()];
      if (entry->summary.state() == "running") answers[id] = entry->feed->answers();
    }
  }
  int idle = 0, busy = 0, down = 0;
  for (const v1::PoolWorker& worker : directory_.List()) {
    idle += worker.state() == "idle";
    busy += worker.state() == "busy";
    down += worker.state() == "down";
  }
  options_.metrics->SetRuns(by_state);
  options_.metrics->SetPool(idle, busy, down);
  options_.metrics->SetRunAnswers(answers);
}

grpc::ServerUnaryReactor* CoordinatorService::Impl::SubmitRun(
    grpc::CallbackServerContext* context, const v1::SubmitRunRequest* request,
    v1::SubmitRunResponse* response) {
  if (request->config_text().size() > kMaxConfigBytes) {
    return Reply(context, Invalid(absl::StrCat("config_text is ", request->config_text().size(),
                                               " bytes; at most ", kMaxConfigBytes)));
  }
  if (request->overrides_size() > static_cast<int>(kMaxOverrides)) {
    return Reply(context, Invalid(absl::StrCat("at most ", kMaxOverrides, " overrides")));
  }
  if (request->source().size() > kMaxSourceBytes) {
    return Reply(context, Invalid(absl::StrCat("source is longer than ", kMaxSourceBytes,
                                               " bytes")));
  }
  if (request->workers() < 1 || request->workers() > kMaxSlots) {
    return Reply(context, Invalid(absl::StrCat("workers must be in 1..", kMaxSlots, ", got ",
                                               request->workers())));
  }
  const std::string source = request->source().empty() ? "config" : ValidUtf8(request->source());
  absl::StatusOr<v1::RunConfig> config = ParseConfig(request->config_text(), source);
  if (!config.ok()) return Reply(context, Invalid(std::string(config.status().message())));
  for (const std::string& assignment : request->overrides()) {
    if (assignment.size() > kMaxOverrideBytes) {
      return Reply(context, Invalid(absl::StrCat("an override is longer than ",
                                                 kMaxOverrideBytes, " bytes")));
    }
    if (absl::Status applied = ApplyOverride(*config, assignment); !applied.ok()) {
      return Reply(context, Invalid(std::string(applied.message())));
    }
  }
  if (absl::Status valid = ValidateConfig(*config, request->workers()); !valid.ok()) {
    return Reply(context, Invalid(absl::StrCat(source, ": ", valid.message())));
  }
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    return Reply(context, grpc::Status(grpc::StatusCode::UNAVAILABLE, "the service is stopping"));
  }
  if (static_cast<int>(queue_.size()) >= options_.max_queued) {
    return Reply(context, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                       absl::StrCat(queue_.size(), " runs are queued, the limit")));
  }
  auto entry = std::make_unique<RunEntry>();
  const std::string id = absl::StrCat("run-", next_number_++);
  entry->dir = (std::filesystem::path(options_.runs_dir) / id).string();
  std::error_code error;
  std::filesystem::create_directories(entry->dir, error);
  if (error) {
    return Reply(context, grpc::Status(grpc::StatusCode::INTERNAL,
                                       absl::StrCat("cannot create the run directory: ",
                                                    error.message())));
  }
  entry->config = *std::move(config);
  v1::RunSummary& summary = entry->summary;
  summary.set_run_id(id);
  summary.set_name(entry->config.name());
  summary.set_algorithm(entry->config.algorithm().name());
  summary.set_state("queued");
  summary.set_run_dir(std::filesystem::absolute(entry->dir, error).string());
  summary.set_workers(request->workers());
  summary.set_min_workers(entry->config.min_workers());
  summary.set_submitted_at(UnixNow());
  summary.set_source(source);
  entry->feed = std::make_unique<RunFeed>(summary);
  RunEntry* added = entry.get();
  runs_.emplace(id, std::move(entry));
  order_.push_back(id);
  queue_.push_back(id);
  PublishLocked(*added);
  wake_ = true;
  Log(absl::StrCat(id, " queued: ", source, ", ", request->workers(), " slots"));
  response->set_run_id(id);
  return Reply(context, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::RunUpdate>* CoordinatorService::Impl::WatchRun(
    grpc::CallbackServerContext* context, const v1::WatchRunRequest* request) {
  RunEntry* entry = nullptr;
  {
    absl::MutexLock lock(&mu_);
    entry = FindLocked(request->run_id());
    if (entry == nullptr || watchers_ >= options_.max_watchers) {
      return new RefusedWatch(
          entry == nullptr
              ? NotFound(request->run_id())
              : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat(watchers_, " watchers at once, the limit")));
    }
    ++watchers_;
    ++entry->watching;  // keeps the records in the feed from now on
  }
  // An ended run's records are on disk: read back once for its watchers (its
  // directory no longer changes), outside the service's lock.
  absl::MutexLock load(&entry->load_mu);
  bool load_records = false;
  {
    absl::MutexLock lock(&mu_);
    load_records = !entry->records_in_feed && IsFinalState(entry->summary.state());
  }
  if (load_records) {
    absl::StatusOr<std::vector<v1::Record>> records = ReadHistory(entry->dir);
    if (records.ok()) {
      entry->feed->SetRecords(*std::move(records));
    } else {
      Log(std::string(records.status().message()));
    }
    absl::MutexLock lock(&mu_);
    entry->records_in_feed = true;
  }
  return new Watch(this, entry, request->from_record());
}

grpc::ServerUnaryReactor* CoordinatorService::Impl::CancelRun(grpc::CallbackServerContext* context,
                                                              const v1::CancelRunRequest* request,
                                                              v1::RunSummary* response) {
  absl::MutexLock lock(&mu_);
  RunEntry* entry = FindLocked(request->run_id());
  if (entry == nullptr) return Reply(context, NotFound(request->run_id()));
  const std::string& state = entry->summary.state();
  if (IsFinalState(state)) {
    return Reply(context,
                 grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              absl::StrCat("run ", request->run_id(), " has already ended (",
                                           state, ")")));
  }
  if (state == "queued") {
    queue_.erase(std::find(queue_.begin(), queue_.end(), request->run_id()));
    entry->summary.set_state("cancelled");
    entry->summary.set_error("cancelled before it started");
    entry->summary.set_exit_status(1);
    entry->summary.set_ended_at(UnixNow());
    PublishLocked(*entry);
  } else {
    CancelLocked(*entry);  // the run ends within about 0.1 s
  }
  Log(absl::StrCat(request->run_id(), ": cancel requested"));
  *response = SummaryLocked(*entry);
  return Reply(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* CoordinatorService::Impl::ListRuns(grpc::CallbackServerContext* context,
                                                             const v1::ListRunsRequest*,
                                                             v1::ListRunsResponse* response) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : order_) *response->add_runs() = SummaryLocked(*runs_.at(id));
  return Reply(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* CoordinatorService::Impl::GetRun(grpc::CallbackServerContext* context,
                                                           const v1::GetRunRequest* request,
                                                           v1::RunSummary* response) {
  absl::MutexLock lock(&mu_);
  RunEntry* entry = FindLocked(request->run_id());
  if (entry == nullptr) return Reply(context, NotFound(request->run_id()));
  *response = SummaryLocked(*entry);
  return Reply(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* CoordinatorService::Impl::ListWorkers(
    grpc::CallbackServerContext* context, const v1::ListWorkersRequest*,
    v1::ListWorkersResponse* response) {
  for (v1::PoolWorker& worker : directory_.List()) *response->add_workers() = std::move(worker);
  return Reply(context, grpc::Status::OK);
}

absl::StatusOr<std::unique_ptr<CoordinatorService>> CoordinatorService::Start(
    const Options& options) {
  auto impl = std::make_unique<Impl>(options);
  if (absl::Status loaded = impl->Load(); !loaded.ok()) return loaded;
  if (absl::Status served = impl->Serve(); !served.ok()) return served;
  return std::unique_ptr<CoordinatorService>(new CoordinatorService(std::move(impl)));
}

CoordinatorService::CoordinatorService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CoordinatorService::~CoordinatorService() { Shutdown(); }

int CoordinatorService::port() const { return impl_->port; }

void CoordinatorService::Shutdown() { impl_->Stop(); }

}  // namespace aia
