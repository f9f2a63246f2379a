// A row-based problem's data: the source a ProblemSpec names (a data file or
// seeded synthetic data), cut down to one worker's shard. Shared by every
// problem whose data is a matrix with one label per row.
//
// Example (in a problem's factory):
//   ASSIGN_OR_RETURN(DataShard shard, LoadShard(context));
//   // shard.data.features: this worker's rows; shard.total_rows: all workers'
//   rows.
//
// Thread safety: the functions keep no state and may be called from several
// threads at once.
#ifndef AIA_PROBLEMS_DATA_H_
#define AIA_PROBLEMS_DATA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "problems/problem.h"
#include "problems/readers.h"
#include "proto/problems.pb.h"

namespace aia {

// One worker's rows of a data set.
struct DataShard {
  // This worker's rows in their order in the full data set; at least one row.
  // data.features.cols() is the full data set's number of features, the same on
  // every worker.
  Dataset data;
  // Rows of the full data set (over all workers).
  int64_t total_rows = 0;
  // For Describe(): "135 of 270 rows (contiguous shard 1 of 2) of
  // /srv/heart_scale" or "270 rows of /srv/heart_scale" for a single worker.
  std::string description;
};

// Loads context.spec's source and keeps the rows of worker context.worker_index
// of context.worker_count, cut by context.spec.sharding() (see ShardRows).
//   file: opened with OpenBeneath under context.data_root; the format is
//     file.format, else from the name (*.csv and *.csv.gz are CSV, anything
//     else LIBSVM).
//   synthetic: GenerateSynthetic.
// Errors: InvalidArgument (no source, bad spec fields named as in the config,
// bad data), NotFound (missing file), PermissionDenied (path outside the data
// root), FailedPrecondition ("worker 5 of 6 gets no rows: the data has 4
// rows").
absl::StatusOr<DataShard> LoadShard(const ProblemContext& context);

// Reads `file` (see LoadShard), all rows.
absl::StatusOr<Dataset> LoadDataFile(const v1::DataFile& file, const std::string& data_root);

// The seeded synthetic data set, keeping only rows `keep` (increasing row
// indices below spec.rows(); every row if `keep` is null). With one
// std::mt19937_64 seeded with spec.seed() and
// std::normal_distribution<double>(0, 1), the draws are, in this order: x*
// (columns values), then for each row i: a_i (columns values) and e_i; b_i =
// a_i' x* + noise * e_i. Every worker draws all rows (so they agree on the full
// matrix) but stores only its own. The values depend on the standard library's
// normal_distribution: workers must be built with the same one. Errors:
// InvalidArgument naming problem.synthetic.rows, .columns (each >= 1, rows ×
// columns <= kMaxDenseElements) or .noise (finite, >= 0).
absl::StatusOr<Dataset> GenerateSynthetic(const v1::SyntheticData& spec,
                                          const std::vector<int64_t>* keep);

}  // namespace aia

#endif  // AIA_PROBLEMS_DATA_H_
