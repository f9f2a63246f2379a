#include "coordinator/service/run_feed.h"

#include <utility>

namespace aia {

bool IsFinalState(const std::string& state) {
  return state == "completed" || state == "failed" || state == "cancelled" ||
         state == "interrupted";
}

RunFeed::RunFeed(v1::RunSummary summary) : summary_(std::move(summary)) {}

void RunFeed::Started() {}

void RunFeed::Record(const RecordRow& row) {
  {
    absl::MutexLock lock(&mu_);
    v1::Record& record = records_.emplace_back();
    record.set_record(row.record);
    record.set_iteration(row.iteration);
    record.set_epoch(row.epoch);
    record.set_time_s(row.time_s);
    if (row.precision.has_value()) record.set_precision(*row.precision);
    record.set_worker(row.worker);
    for (double value : row.values) record.add_values(value);
  }
  WakeAll();
}

void RunFeed::Progress(const ProgressSnapshot& snapshot) {
  {
    absl::MutexLock lock(&mu_);
    progress_.Clear();
    progress_.set_iteration(snapshot.iteration);
    progress_.set_epoch(snapshot.epoch);
    progress_.set_elapsed_s(snapshot.elapsed_s);
    if (snapshot.precision.has_value()) progress_.set_precision(*snapshot.precision);
    for (int64_t count : snapshot.answer_count) progress_.add_answer_count(count);
    for (bool live : snapshot.live) progress_.add_live(live);
    if (snapshot.fraction.has_value()) progress_.set_fraction(*snapshot.fraction);
    for (const auto& [name, value] : snapshot.values) {
      v1::NamedValue* named = progress_.add_values();
      named->set_name(name);
      named->set_value(value);
    }
    ++progress_version_;
  }
  WakeAll();
}

void RunFeed::Event(const std::string& line) {
  {
    absl::MutexLock lock(&mu_);
    events_.push_back(line);
    if (events_.size() > kEventsKept) {
      events_.pop_front();
      ++first_event_;
    }
  }
  WakeAll();
}

void RunFeed::SetSummary(const v1::RunSummary& summary) {
  {
    absl::MutexLock lock(&mu_);
    summary_ = summary;
    ++summary_version_;
  }
  WakeAll();
}

v1::RunSummary RunFeed::summary() const {
  absl::MutexLock lock(&mu_);
  return summary_;
}

int64_t RunFeed::answers() const {
  absl::MutexLock lock(&mu_);
  int64_t total = 0;
  for (int64_t count : progress_.answer_count()) total += count;
  return total;
}

void RunFeed::AddProgress(v1::RunSummary& summary) const {
  absl::MutexLock lock(&mu_);
  if (progress_version_ == 0) return;
  summary.set_iterations(progress_.iteration());
  summary.set_epochs(progress_.epoch());
  summary.set_elapsed_s(progress_.elapsed_s());
  *summary.mutable_answer_count() = progress_.answer_count();
}

void RunFeed::SetRecords(std::vector<v1::Record> records) {
  {
    absl::MutexLock lock(&mu_);
    records_ = std::move(records);
  }
  WakeAll();
}

std::optional<v1::RunUpdate> RunFeed::Next(Cursor& cursor, bool* ended) {
  absl::MutexLock lock(&mu_);
  *ended = false;
  v1::RunUpdate update;
  if (cursor.summary_sent < 0) {
    cursor.summary_sent = summary_version_;
    *update.mutable_summary() = summary_;
    return update;
  }
  if (cursor.next_record < static_cast<int64_t>(records_.size())) {
    *update.mutable_record() = records_[cursor.next_record++];
    return update;
  }
  if (cursor.next_event < first_event_) cursor.next_event = first_event_;
  if (cursor.next_event < first_event_ + static_cast<int64_t>(events_.size())) {
    update.set_event(events_[cursor.next_event++ - first_event_]);
    return update;
  }
  if (cursor.summary_sent < summary_version_) {
    cursor.summary_sent = summary_version_;
    *update.mutable_summary() = summary_;
    return update;
  }
  if (IsFinalState(summary_.state())) {
    *ended = true;
    return std::nullopt;
  }
  if (cursor.progress_sent < progress_version_) {
    cursor.progress_sent = progress_version_;
    *update.mutable_progress() = progress_;
    return update;
  }
  return std::nullopt;
}

void RunFeed::Subscribe(Watcher* watcher) {
  absl::MutexLock lock(&watchers_mu_);
  watchers_.insert(watcher);
}

void RunFeed::Unsubscribe(Watcher* watcher) {
  absl::MutexLock lock(&watchers_mu_);
  watchers_.erase(watcher);
}

int RunFeed::watchers() const {
  absl::MutexLock lock(&watchers_mu_);
  return static_cast<int>(watchers_.size());
}

void RunFeed::WakeAll() {
  absl::MutexLock lock(&watchers_mu_);
  for (Watcher* watcher : watchers_) watcher->Wake();
}

}  // namespace aia
