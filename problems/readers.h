// Data readers for row-based problems: LIBSVM and CSV files (plain or gzip),
// the resolution of data paths under a data root, and row sharding.
//
// Example:
//   ASSIGN_OR_RETURN(std::string path, ResolveDataPath("/srv/data",
//   "ml/heart_scale")); ASSIGN_OR_RETURN(Dataset data, ReadLibsvm(path,
//   /*features=*/0)); std::vector<int64_t> mine =
//   ShardRows(data.features.rows(), /*worker_index=*/1,
//                                         /*worker_count=*/4,
//                                         v1::ProblemSpec::CONTIGUOUS);
//
// Errors in a file's content are InvalidArgument and read like a compiler's:
//   "heart.libsvm:17: bad feature 'x:1' (index must be a positive integer)"
// (the path as given, a 1-based line number, the offending token). A file that
// cannot be opened is NotFound with the path and the system's reason.
//
// Thread safety: every function here is thread-compatible and keeps no state;
// they may be called from several threads at once.
#ifndef AIA_PROBLEMS_READERS_H_
#define AIA_PROBLEMS_READERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "proto/problems.pb.h"

namespace aia {

// The largest data set (rows × features) the readers hold as a dense matrix:
// 1e8 doubles, 800 MB. Larger inputs are InvalidArgument, not a failed
// allocation.
inline constexpr int64_t kMaxDenseElements = 100'000'000;

// A data set in memory: row i is features.row(i) with label labels(i).
struct Dataset {
  // rows × features, dense and row-major; a LIBSVM entry that is absent is 0.
  Matrix features;
  // One label per row: labels.size() == features.rows().
  Vector labels;
  // Where the data came from, for logs ("/srv/data/heart_scale", "synthetic
  // ...").
  std::string source;
};

// Reads a LIBSVM file: one row per line, `label index:value index:value ...`,
// with 1-based, strictly increasing indices. Blank lines and lines whose first
// non-blank character is '#' are skipped; whitespace is spaces or tabs,
// trailing whitespace and CRLF line ends are fine. gzip-compressed files are
// read transparently.
//
// `features` > 0 fixes the number of columns (an index above it is an error);
// 0 takes the largest index in the file. Labels and values must be finite
// numbers. Errors: NotFound (cannot open), InvalidArgument (content, empty
// file, too large).
absl::StatusOr<Dataset> ReadLibsvm(const std::string& path, int64_t features);

// Reads a CSV file of numbers: fields separated by commas, optionally in double
// quotes ("" inside quotes is a literal quote), blanks around fields ignored,
// blank lines skipped. Column `label_column` (0-based) is the label, the other
// columns in order are the features. With HEADER_UNSPECIFIED the first line is
// a header if any of its fields is not a number. Every line (header included)
// must have the same number of fields. gzip-compressed files are read
// transparently. Errors: NotFound (cannot open), InvalidArgument (content,
// label_column out of range, no data rows, too large).
absl::StatusOr<Dataset> ReadCsv(const std::string& path, int label_column,
                                v1::DataFile::Header header);

// The path to open for the data file `path` of a config, which may not leave
// `data_root`. A relative `path` is taken under `data_root`; an absolute one
// must lie inside it. `.` and `..` are resolved lexically, and then, for the
// part of the path that exists, symbolic links are resolved (realpath) so that
// a link cannot lead out of the root either. A relative `data_root` is taken
// from the current directory; "/" allows every path.
//
// Returns the lexically normalized path (absolute; symbolic links inside the
// root are kept as they are). Errors: InvalidArgument (empty path or root),
// PermissionDenied("data path '...' is outside the data root '...'").
absl::StatusOr<std::string> ResolveDataPath(const std::string& data_root, const std::string& path);

// The rows, in increasing order, that worker `worker_index` of `worker_count`
// holds out of `rows`:
//   CONTIGUOUS (and SHARDING_UNSPECIFIED): [i*m/W, (i+1)*m/W), integer
//   division; STRIDED: i, i+W, i+2W, ... below m.
// Over all workers every row appears exactly once. A worker may get no rows
// (when W > m); callers decide whether that is an error. Returns an empty
// vector when rows < 0, worker_count < 1 or worker_index is not in [0,
// worker_count).
std::vector<int64_t> ShardRows(int64_t rows, int worker_index, int worker_count,
                               v1::ProblemSpec::Sharding sharding);

// "contiguous" or "strided", for messages.
const char* ShardingName(v1::ProblemSpec::Sharding sharding);

}  // namespace aia

#endif  // AIA_PROBLEMS_READERS_H_
