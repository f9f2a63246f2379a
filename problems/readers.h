// Data readers for row-based problems: LIBSVM and CSV files (plain or gzip),
// opening data files beneath a data root, and row sharding.
//
// Example:
//   ASSIGN_OR_RETURN(OpenedFile file, OpenBeneath("/srv/data", "ml/heart_scale"));
//   ASSIGN_OR_RETURN(Dataset data, ReadLibsvm(std::move(file), /*features=*/0));
//   std::vector<int64_t> mine = ShardRows(data.features.rows(), /*worker_index=*/1,
//                                         /*worker_count=*/4, v1::ProblemSpec::CONTIGUOUS);
//
// Errors in a file's content are InvalidArgument and read like a compiler's:
//   "<data_root>/heart.libsvm:17: field 3 is not index:value"
// (the file's name, a 1-based line number, the field; never the line's content,
// since errors go to clients, and never the absolute data root). A file that
// cannot be opened is NotFound with the name and the system's reason.
//
// Thread safety: every function here is thread-compatible and keeps no state;
// they may be called from several threads at once.
#ifndef AIA_PROBLEMS_READERS_H_
#define AIA_PROBLEMS_READERS_H_

#include <cstdint>
#include <string>
#include <utility>
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

// A data file open for reading, and the name errors give it: "<data_root>/" and
// the path as the config gave it for a relative path, the path itself for an
// absolute one (or for files opened by path). Move-only; closes the descriptor.
class OpenedFile {
 public:
  OpenedFile(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  OpenedFile(OpenedFile&& other) noexcept : fd_(other.fd_), name_(std::move(other.name_)) {
    other.fd_ = -1;
  }
  OpenedFile& operator=(OpenedFile&& other) noexcept;
  OpenedFile(const OpenedFile&) = delete;
  OpenedFile& operator=(const OpenedFile&) = delete;
  ~OpenedFile();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  // Gives up ownership of the descriptor.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
  std::string name_;
};

// Opens `path` (from a config) for reading, beneath `data_root`, in one step:
// openat2(root, path, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so that no
// component — `..`, a symbolic link, or one swapped while the call runs — can
// lead out of the root. On kernels without openat2 (ENOSYS, or EPERM from a
// seccomp filter) the path is walked one component at a time with openat and
// O_NOFOLLOW, following relative links by hand; a component that changes into a
// link during the walk fails the open. Absolute symbolic links are refused (they
// would name a place outside the root's own view); relative ones that stay
// inside are followed. A relative `path` is taken under `data_root`; an absolute
// one must lie lexically inside it. Only regular files open (a FIFO cannot
// block the caller: it is opened non-blocking, then refused). A relative
// `data_root` is taken from the current directory; "/" confines nothing.
//
// Errors: InvalidArgument (empty path or root, not a regular file, too many
// links), NotFound (no such file, or the data root is missing),
// PermissionDenied ("data path '...' is outside the data root"). The messages
// never name the absolute data root.
absl::StatusOr<OpenedFile> OpenBeneath(const std::string& data_root, const std::string& path);

namespace internal {
// OpenBeneath with the openat2 step skipped (the fallback walk), for tests.
absl::StatusOr<OpenedFile> OpenBeneathByWalking(const std::string& data_root,
                                                const std::string& path);
}  // namespace internal

// Opens `path` as given (no data root), named by the path itself.
absl::StatusOr<OpenedFile> OpenPath(const std::string& path);

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
absl::StatusOr<Dataset> ReadLibsvm(OpenedFile file, int64_t features);
// The same on OpenPath(path).
absl::StatusOr<Dataset> ReadLibsvm(const std::string& path, int64_t features);

// Reads a CSV file of numbers: fields separated by commas, optionally in double
// quotes ("" inside quotes is a literal quote), blanks around fields ignored,
// blank lines skipped. Column `label_column` (0-based) is the label, the other
// columns in order are the features. With HEADER_UNSPECIFIED the first line is
// a header if any of its fields is not a number. Every line (header included)
// must have the same number of fields. gzip-compressed files are read
// transparently. Errors: NotFound (cannot open), InvalidArgument (content,
// label_column out of range, no data rows, too large).
absl::StatusOr<Dataset> ReadCsv(OpenedFile file, int label_column, v1::DataFile::Header header);
// The same on OpenPath(path).
absl::StatusOr<Dataset> ReadCsv(const std::string& path, int label_column,
                                v1::DataFile::Header header);

// The whole content of `file`, gunzipped if it is gzip (for the SMPS reader).
// Errors: DataLoss (read error), InvalidArgument (bad gzip data; larger than
// `max_bytes`), each naming file.name().
absl::StatusOr<std::string> ReadWholeFile(OpenedFile file, int64_t max_bytes);

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
