// AppendFile: a file that grows by whole records only. Each Append writes its
// bytes with write(2) (looping over short writes); if any part fails (a full
// disk, EFBIG past a file-size limit, an I/O error) the file is truncated back
// to its length before the call, so it always ends on a record boundary and
// the caller can tell exactly what is on disk.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> csv, AppendFile::Create("history.csv"));
//   RETURN_IF_ERROR(csv->Append("record,iteration\n"));   // all of it, or none
//
// Thread safety: not thread-safe; one thread uses a file.
#ifndef AIA_COORDINATOR_HISTORY_APPEND_FILE_H_
#define AIA_COORDINATOR_HISTORY_APPEND_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace aia {

class AppendFile {
 public:
  // Creates `path`, which must not exist (`exclusive`) or is truncated.
  static absl::StatusOr<std::unique_ptr<AppendFile>> Create(const std::string& path,
                                                            bool exclusive = true);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Appends all of `bytes`, or nothing: on failure the file is cut back to
  // length() and the error ("cannot write PATH: File too large") returned.
  absl::Status Append(absl::string_view bytes);
  // Writes `bytes` at `offset` < length() without growing the file (a header
  // rewritten in place).
  absl::Status WriteAt(int64_t offset, absl::string_view bytes);
  // fsync(2).
  absl::Status Sync();
  // Cuts the file back to `length` <= length() (to undo a record whose partner
  // in another file could not be written).
  absl::Status Truncate(int64_t length);

  int64_t length() const { return length_; }
  const std::string& path() const { return path_; }

 private:
  AppendFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  int64_t length_ = 0;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_HISTORY_APPEND_FILE_H_
