// Recorder: what a run writes, on top of its run directory (history/history.h):
// a record for each saved step (the counters, the query, the algorithm's saved
// values and, with save.answers, the answers behind it) while the run goes on,
// then workers.csv and, last, summary.json.
//
// The files are written by a writer thread of the recorder's, so that the central
// loop never waits on the disk: Save computes what only the central thread may
// (the algorithm's saved values) and queues the record. The queue is bounded
// (kMaxQueuedRecords records, kMaxQueuedBytes of answers): a full queue makes Save
// wait, never drops a record. Each record is flushed as the writer appends it,
// so a crash leaves a history readable up to the last record written. A write
// error is returned by the next Save (the run then fails) and by Finish.
//
// Example (the engine's use):
//   Recorder recorder(std::move(directory), config, algorithm.get());
//   RETURN_IF_ERROR(recorder.Save({iteration, epoch, time_s, precision, origin}, query,
//                                 answers, *central));
//   ...
//   RunResult result = recorder.Finish(std::move(result), workers, central.get());
//
// Thread safety: Save, records, last_values and Finish from the central loop's
// thread only.
#ifndef AIA_COORDINATOR_RECORDER_H_
#define AIA_COORDINATOR_RECORDER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "algorithms/algorithm.h"
#include "coordinator/engine.h"
#include "coordinator/history/history.h"
#include "coordinator/worker_pool.h"
#include "problems/problem.h"
#include "proto/config.pb.h"

namespace aia {

class Recorder {
 public:
  // `algorithm` gives the saved values and the final report; it must outlive the
  // recorder.
  Recorder(std::unique_ptr<RunDirectory> directory, const v1::RunConfig& config,
           Algorithm* algorithm);
  // Writes what is queued, then stops the writer.
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  static constexpr size_t kMaxQueuedRecords = 256;
  static constexpr size_t kMaxQueuedBytes = size_t{256} << 20;

  // One saved step.
  struct Step {
    int64_t iteration = 0;
    int64_t epoch = 0;
    double time_s = 0;
    std::optional<double> precision;
    int origin = -1;  // the worker whose answer made it; -1 for none (record 0, a round)
    // That answer's staleness (an asynchronous step); history.csv's `staleness`
    // column with save.staleness.
    std::optional<int64_t> staleness;
  };
  // Queues record records(): `query` (the central query after the step; shared,
  // not copied: it must not change afterwards) and the answers behind it (copied
  // with save.answers). An error says the history cannot be written.
  absl::Status Save(const Step& step, Payload query,
                    const std::vector<WorkerAnswer>& answers, const Problem& central);

  // Records saved (queued or written).
  int64_t records() const { return saved_; }
  // The algorithm's saved values of the last record saved.
  const std::vector<double>& last_values() const { return last_values_; }
  const std::string& path() const { return path_; }

  // Waits until every queued record is written, then writes workers.csv and
  // summary.json for `result` (the algorithm's final report when `central` is
  // given, i.e. the run started). The result turns "failed" if the history or
  // they cannot be written, saying why.
  RunResult Finish(RunResult result, const WorkerPool& workers, const Problem* central);

 private:
  struct Job {
    RunDirectory::Record record;
    Payload query;
    std::vector<std::pair<int, std::string>> answers;
    size_t bytes = 0;  // of the answers, for the bound
  };
  void WriterLoop();
  absl::Status Write(const Job& job);
  // Stops taking jobs once the queue is empty; joins the writer.
  void StopWriter();

  std::unique_ptr<RunDirectory> directory_;  // the writer's, once it runs
  const std::string path_;
  const v1::RunConfig& config_;
  Algorithm* const algorithm_;
  const bool dense_queries_;
  const bool dense_answers_;
  const size_t saved_value_count_;
  int64_t saved_ = 0;
  std::vector<double> last_values_;

  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);  // the first write error
  std::thread writer_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_RECORDER_H_
