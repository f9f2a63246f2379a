// RunStore: what the coordinator service keeps of each run on disk, beside the
// run directory itself: RUNS_DIR/ID/service.textproto, the run's RunSummary in
// protobuf text format, rewritten atomically at each state change; and the
// reading back, after a restart, of the runs and their records (history.csv).
//
// Thread safety: functions without state; one writer per run.
#ifndef AIA_COORDINATOR_SERVICE_RUN_STORE_H_
#define AIA_COORDINATOR_SERVICE_RUN_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/coordinator.pb.h"

namespace aia {

// Writes `summary` to DIR/service.textproto atomically.
absl::Status SaveServiceSummary(const std::string& dir, const v1::RunSummary& summary);

// The runs under `runs_dir` (each directory with a service.textproto), in
// submission order. A run that had not ended is returned `interrupted`, saved so,
// and given a summary.json (status "interrupted", the counts of its last record)
// if its directory has none. Directories whose service.textproto does not parse
// are skipped, each with a line in *warnings.
std::vector<v1::RunSummary> LoadServiceRuns(const std::string& runs_dir,
                                            std::vector<std::string>* warnings);

// The records of DIR/history.csv (empty if there is none); a staleness column
// (save.staleness) is skipped. InvalidArgument naming the line for a row that
// does not parse.
absl::StatusOr<std::vector<v1::Record>> ReadHistory(const std::string& dir);

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_RUN_STORE_H_
