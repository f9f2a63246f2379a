// RunFeed: what the watchers of one run (Coordinator.WatchRun) are sent — its
// summary at each state change, its saved records, its event lines and its
// latest progress — fed by the run (a RunListener) and by the service (state
// changes), and read by each watcher at its own pace through a Cursor.
//
// A watcher is sent, in this order of priority: the summary first; then every
// record from its cursor on; event lines; a newer summary; the latest progress
// (a slow watcher skips progress it had no time for, never a record). Once the
// run has ended and the watcher has everything, Next says so and the stream ends.
//
// Thread safety: every method may be called from any thread. Watchers are woken
// (Watcher::Wake) outside the feed's data lock, so Wake may call Next.
#ifndef AIA_COORDINATOR_SERVICE_RUN_FEED_H_
#define AIA_COORDINATOR_SERVICE_RUN_FEED_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/engine.h"
#include "proto/coordinator.pb.h"

namespace aia {

// Whether a run in `state` has ended (completed, failed, cancelled, interrupted).
bool IsFinalState(const std::string& state);

class RunFeed final : public RunListener {
 public:
  class Watcher {
   public:
    virtual ~Watcher() = default;
    // Something new may be there for the watcher.
    virtual void Wake() = 0;
  };

  struct Cursor {
    int64_t next_record = 0;
    int64_t next_event = 0;
    int64_t summary_sent = -1;  // the version sent last
    int64_t progress_sent = 0;
  };

  explicit RunFeed(v1::RunSummary summary);

  // RunListener: the run's thread.
  void Started() override;
  void Record(const RecordRow& row) override;
  void Progress(const ProgressSnapshot& snapshot) override;
  void Event(const std::string& line) override;

  // Replaces the summary (a state change, the final counts).
  void SetSummary(const v1::RunSummary& summary);
  v1::RunSummary summary() const;
  // Answers taken so far, by the latest progress.
  int64_t answers() const;
  // `summary` with the counts of the latest progress (a running run's summary
  // has its final counts only once it ends).
  void AddProgress(v1::RunSummary& summary) const;
  // The records of a run that ended before the service started (history.csv).
  void SetRecords(std::vector<v1::Record> records);

  // The next update for `cursor` (advanced), or nullopt with *ended set when the
  // run has ended and the cursor has everything.
  std::optional<v1::RunUpdate> Next(Cursor& cursor, bool* ended);

  void Subscribe(Watcher* watcher);
  // Once it returns, `watcher` is never woken again.
  void Unsubscribe(Watcher* watcher);
  int watchers() const;

 private:
  void WakeAll();

  static constexpr size_t kEventsKept = 200;

  mutable absl::Mutex mu_;
  v1::RunSummary summary_ ABSL_GUARDED_BY(mu_);
  int64_t summary_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::Record> records_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> events_ ABSL_GUARDED_BY(mu_);
  int64_t first_event_ ABSL_GUARDED_BY(mu_) = 0;  // the number of events_.front()
  v1::Progress progress_ ABSL_GUARDED_BY(mu_);
  int64_t progress_version_ ABSL_GUARDED_BY(mu_) = 0;

  mutable absl::Mutex watchers_mu_;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(watchers_mu_);
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_RUN_FEED_H_
