#include "coordinator/history/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace aia {
namespace {

absl::Status ErrnoStatus(int error_number, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(what, " ", path));
}

// Writes all of `bytes` at `offset`; false with errno set otherwise.
bool WriteAll(int fd, int64_t offset, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t wrote = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (wrote == 0) {
      errno = EIO;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(wrote));
    offset += wrote;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AppendFile>> AppendFile::Create(const std::string& path,
                                                               bool exclusive) {
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", path);
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd));
}

AppendFile::~AppendFile() { ::close(fd_); }

absl::Status AppendFile::Append(absl::string_view bytes) {
  if (WriteAll(fd_, length_, bytes)) {
    length_ += static_cast<int64_t>(bytes.size());
    return absl::OkStatus();
  }
  const int error_number = errno;
  // Part of the record may be on disk: cut it off, so the file ends where the
  // last whole record does.
  while (::ftruncate(fd_, length_) != 0 && errno == EINTR) {
  }
  return ErrnoStatus(error_number, "cannot write", path_);
}

absl::Status AppendFile::WriteAt(int64_t offset, absl::string_view bytes) {
  if (offset < 0 || offset + static_cast<int64_t>(bytes.size()) > length_) {
    return absl::InternalError(absl::StrCat("AppendFile::WriteAt past the end of ", path_));
  }
  if (!WriteAll(fd_, offset, bytes)) return ErrnoStatus(errno, "cannot write", path_);
  return absl::OkStatus();
}

absl::Status AppendFile::Sync() {
  if (::fsync(fd_) != 0) return ErrnoStatus(errno, "cannot sync", path_);
  return absl::OkStatus();
}

absl::Status AppendFile::Truncate(int64_t length) {
  if (length < 0 || length > length_) {
    return absl::InternalError(absl::StrCat("AppendFile::Truncate past the end of ", path_));
  }
  int result;
  while ((result = ::ftruncate(fd_, length)) != 0 && errno == EINTR) {
  }
  if (result != 0) return ErrnoStatus(errno, "cannot truncate", path_);
  length_ = length;
  return absl::OkStatus();
}

}  // namespace aia
