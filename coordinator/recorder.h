// Recorder: what a run writes, on top of its run directory (history/history.h):
// a record for each saved step (the counters, the query, the algorithm's saved
// values and, with save.answers, the answers behind it) while the run goes on,
// then workers.csv and, last, summary.json.
//
// Example (the engine's use):
//   Recorder recorder(std::move(directory), config, algorithm.get());
//   RETURN_IF_ERROR(recorder.Save({iteration, epoch, time_s, precision, origin}, query,
//                                 answers, *central));
//   ...
//   RunResult result = recorder.Finish(std::move(result), workers, central.get());
//
// Thread safety: the central loop's thread only.
#ifndef AIA_COORDINATOR_RECORDER_H_
#define AIA_COORDINATOR_RECORDER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
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
  // Appends record records(): `query` (the central query after the step) and the
  // answers behind it. An error says the history cannot be written.
  absl::Status Save(const Step& step, const std::string& query,
                    const std::vector<WorkerAnswer>& answers, const Problem& central);

  int64_t records() const { return directory_->records(); }
  // The algorithm's saved values of the last record saved.
  const std::vector<double>& last_values() const { return last_values_; }
  const std::string& path() const { return directory_->path(); }

  // Writes workers.csv and summary.json for `result` (the algorithm's final
  // report when `central` is given, i.e. the run started). The result turns
  // "failed" if they cannot be written, saying why.
  RunResult Finish(RunResult result, const WorkerPool& workers, const Problem* central);

 private:
  std::unique_ptr<RunDirectory> directory_;
  const v1::RunConfig& config_;
  Algorithm* const algorithm_;
  const bool dense_queries_;
  const bool dense_answers_;
  const size_t saved_value_count_;
  std::vector<double> last_values_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_RECORDER_H_
