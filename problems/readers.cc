#include "problems/readers.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace aia {
namespace {

// Reads a plain or gzip-compressed file line by line (zlib reads both).
class LineReader {
 public:
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(OpenedFile opened) {
    const std::string path = opened.name();
    const int fd = opened.Release();
    gzFile file = gzdopen(fd, "rb");
    if (file == nullptr) {
      ::close(fd);
      return absl::NotFoundError(absl::StrCat("cannot open '", path, "': ", std::strerror(errno)));
    }
    gzbuffer(file, 1 << 16);
    return std::unique_ptr<LineReader>(new LineReader(path, file));
  }

  ~LineReader() { gzclose(file_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its line end (LF or CRLF) in `line`; false at the
  // end.
  absl::StatusOr<bool> Next(std::string& line) {
    line.clear();
    bool any = false;
    while (gzgets(file_, buffer_, sizeof(buffer_)) != nullptr) {
      any = true;
      size_t length = std::strlen(buffer_);
      line.append(buffer_, length);
      if (length > 0 && buffer_[length - 1] == '\n') break;
    }
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_ERRNO) {
      return absl::DataLossError(
          absl::StrCat(path_, ":", line_number_ + 1, ": read error: ", std::strerror(errno)));
    }
    if (code != Z_OK && code != Z_STREAM_END) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", line_number_ + 1, ": bad gzip data: ", message));
    }
    if (!any) return false;
    ++line_number_;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  // 1-based number of the line Next returned last.
  int64_t line_number() const { return line_number_; }

 private:
  LineReader(std::string path, gzFile file) : path_(std::move(path)), file_(file) {}

  std::string path_;
  gzFile file_;
  int64_t line_number_ = 0;
  char buffer_[1 << 14];
};

absl::Status LineError(const std::string& path, int64_t line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

// A finite number, the whole of `text`.
bool ParseFinite(absl::string_view text, double& value) {
  return absl::SimpleAtod(text, &value) && std::isfinite(value);
}

absl::Status CheckSize(const std::string& path, int64_t rows, int64_t columns) {
  if (columns > 0 && rows > kMaxDenseElements / columns) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", rows, " rows × ", columns,
                                                   " features exceed the dense limit of ",
                                                   kMaxDenseElements, " elements"));
  }
  return absl::OkStatus();
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits a CSV line into fields, unquoting them. False with `error` set on an
// unterminated quote or text after a closing quote.
bool SplitCsv(absl::string_view line, std::vector<std::string>& fields, std::string& error) {
  fields.clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) {
        error = absl::StrCat("field ", fields.size() + 1, " has an unterminated quote");
        return false;
      }
      while (i < line.size() && IsBlank(line[i])) ++i;
      if (i < line.size() && line[i] != ',') {
        error = absl::StrCat("text after the closing quote of field ", fields.size() + 1);
        return false;
      }
    } else {
      size_t end = line.find(',', i);
      if (end == absl::string_view::npos) end = line.size();
      field = std::string(absl::StripTrailingAsciiWhitespace(line.substr(i, end - i)));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

std::string LexicallyNormal(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();  // ".." at the root stays at the root
      continue;
    }
    parts.push_back(part);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

bool IsUnder(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || absl::StartsWith(path, absl::StrCat(root, "/"));
}

constexpr char kRootName[] = "<data_root>";

// A descriptor closed at the end of its scope.
struct ScopedFd {
  int fd = -1;
  explicit ScopedFd(int f) : fd(f) {}
  ~ScopedFd() {
    if (fd >= 0) ::close(fd);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int Release() {
    const int f = fd;
    fd = -1;
    return f;
  }
};

// Flags of the final open: read only, no controlling terminal, and non-blocking
// so that a FIFO cannot hang the caller (cleared again for regular files).
constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

absl::Status OutsideRoot(const std::string& path) {
  return absl::PermissionDeniedError(
      absl::StrCat("data path '", path, "' is outside the data root"));
}

absl::Status OpenError(const std::string& name, int error) {
  return absl::NotFoundError(absl::StrCat("cannot open '", name, "': ", std::strerror(error)));
}

// Keeps `fd` if it is a regular file (blocking again), else closes it.
absl::StatusOr<OpenedFile> RegularFile(int fd, const std::string& name) {
  ScopedFd owned(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0) return OpenError(name, errno);
  if (S_ISDIR(info.st_mode)) return OpenError(name, EISDIR);
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("'", name, "' is not a regular file"));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return OpenError(name, errno);
  return OpenedFile(owned.Release(), name);
}

// The walk for kernels without openat2: one component at a time from the root,
// never following a link the walk has not read and checked itself.
absl::StatusOr<int> WalkBeneath(int root_fd, const std::string& relative, const std::string& path,
                                const std::string& name) {
  constexpr int kMaxLinks = 40;
  std::deque<std::string> parts;
  for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
    parts.emplace_back(part);
  }
  // Directories below the root, innermost last; closed on every return.
  struct FdStack {
    std::vector<int> fds;
    ~FdStack() {
      for (int fd : fds) ::close(fd);
    }
  } stack;
  auto current = [&] { return stack.fds.empty() ? root_fd : stack.fds.back(); };
  int links = 0;
  while (!parts.empty()) {
    const std::string part = std::move(parts.front());
    parts.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (stack.fds.empty()) return OutsideRoot(path);
      ::close(stack.fds.back());
      stack.fds.pop_back();
      continue;
    }
    struct stat info;
    if (::fstatat(current(), part.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      return OpenError(name, errno);
    }
    if (S_ISLNK(info.st_mode)) {
      if (++links > kMaxLinks) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", name, "': too many levels of symbolic links"));
      }
      char target[PATH_MAX + 1];
      const ssize_t length = ::readlinkat(current(), part.c_str(), target, PATH_MAX);
      if (length < 0) return OpenError(name, errno);
      if (length == 0 || target[0] == '/') return OutsideRoot(path);
      std::vector<std::string> more =
          absl::StrSplit(absl::string_view(target, length), '/', absl::SkipEmpty());
      parts.insert(parts.begin(), more.begin(), more.end());
      continue;
    }
    if (parts.empty()) {
      // O_NOFOLLOW: a link put here since the fstatat fails the open (ELOOP).
      const int fd = ::openat(current(), part.c_str(), kOpenFlags | O_NOFOLLOW);
      if (fd < 0) return errno == ELOOP ? OutsideRoot(path) : OpenError(name, errno);
      return fd;
    }
    const int fd = ::openat(current(), part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ELOOP ? OutsideRoot(path) : OpenError(name, errno);
    stack.fds.push_back(fd);
  }
  return OpenError(name, EISDIR);  // the path names the root itself
}

absl::StatusOr<OpenedFile> OpenBeneathImpl(const std::string& data_root, const std::string& path,
                                           bool use_openat2) {
  if (data_root.empty()) return absl::InvalidArgumentError("the data root is empty");
  if (path.empty()) return absl::InvalidArgumentError("the data path is empty");
  const std::string name = path[0] == '/' ? path : absl::StrCat(kRootName, "/", path);

  std::string absolute_root = data_root;
  if (data_root[0] != '/') {
    char* cwd = ::getcwd(nullptr, 0);
    if (cwd == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot get the current directory: ", std::strerror(errno)));
    }
    absolute_root = absl::StrCat(cwd, "/", data_root);
    std::free(cwd);
  }
  const std::string root = LexicallyNormal(absolute_root);
  std::string relative = path;
  if (path[0] == '/') {
    const std::string normal = LexicallyNormal(path);
    if (!IsUnder(normal, root)) return OutsideRoot(path);
    relative = normal.size() > root.size() ? normal.substr(root == "/" ? 1 : root.size() + 1) : ".";
  }
  if (root == "/") {  // confines nothing: an ordinary open
    const int fd = ::open(absl::StrCat("/", relative).c_str(), kOpenFlags);
    if (fd < 0) return OpenError(name, errno);
    return RegularFile(fd, name);
  }

  ScopedFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot open the data root: ", std::strerror(errno)));
  }
  if (use_openat2) {
    struct open_how how;
    std::memset(&how, 0, sizeof(how));
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (int attempt = 0; attempt < 16; ++attempt) {
      const long fd = ::syscall(SYS_openat2, root_fd.fd, relative.c_str(), &how, sizeof(how));
      if (fd >= 0) return RegularFile(static_cast<int>(fd), name);
      if (errno == EAGAIN || errno == EINTR) continue;  // a rename raced the lookup: again
      if (errno == ENOSYS || errno == EPERM) break;     // no openat2 here: walk
      if (errno == EXDEV) return OutsideRoot(path);
      if (errno == ELOOP) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'", name, "': too many levels of symbolic links, or a link the data root refuses"));
      }
      return OpenError(name, errno);
    }
    if (errno == EAGAIN || errno == EINTR) return OpenError(name, errno);
  }
  ASSIGN_OR_RETURN(int fd, WalkBeneath(root_fd.fd, relative, path, name));
  return RegularFile(fd, name);
}

}  // namespace

OpenedFile& OpenedFile::operator=(OpenedFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    name_ = std::move(other.name_);
    other.fd_ = -1;
  }
  return *this;
}

OpenedFile::~OpenedFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<OpenedFile> OpenBeneath(const std::string& data_root, const std::string& path) {
  return OpenBeneathImpl(data_root, path, /*use_openat2=*/true);
}

namespace internal {
absl::StatusOr<OpenedFile> OpenBeneathByWalking(const std::string& data_root,
                                                const std::string& path) {
  return OpenBeneathImpl(data_root, path, /*use_openat2=*/false);
}
}  // namespace internal

absl::StatusOr<OpenedFile> OpenPath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("the data path is empty");
  const int fd = ::open(path.c_str(), kOpenFlags);
  if (fd < 0) return OpenError(path, errno);
  return RegularFile(fd, path);
}

absl::StatusOr<std::string> ReadWholeFile(OpenedFile opened, int64_t max_bytes) {
  const std::string name = opened.name();
  const int fd = opened.Release();
  gzFile file = gzdopen(fd, "rb");
  if (file == nullptr) {
    ::close(fd);
    return OpenError(name, errno);
  }
  std::string content;
  char buffer[1 << 16];
  while (true) {
    const int got = gzread(file, buffer, sizeof(buffer));
    if (got < 0) {
      int code = Z_OK;
      const std::string message = gzerror(file, &code);
      const int error = errno;
      gzclose(file);
      if (code == Z_ERRNO) {
        return absl::DataLossError(absl::StrCat(name, ": read error: ", std::strerror(error)));
      }
      return absl::InvalidArgumentError(absl::StrCat(name, ": bad gzip data: ", message));
    }
    if (got == 0) break;
    if (static_cast<int64_t>(content.size()) + got > max_bytes) {
      gzclose(file);
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": larger than ", max_bytes, " bytes"));
    }
    content.append(buffer, got);
  }
  int code = Z_OK;
  const std::string message = gzerror(file, &code);
  gzclose(file);
  if (code != Z_OK && code != Z_STREAM_END) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": bad gzip data: ", message));
  }
  return content;
}

absl::StatusOr<Dataset> ReadLibsvm(const std::string& path, int64_t features) {
  ASSIGN_OR_RETURN(OpenedFile file, OpenPath(path));
  return ReadLibsvm(std::move(file), features);
}

absl::StatusOr<Dataset> ReadLibsvm(OpenedFile file, int64_t features) {
  const std::string path = file.name();
  if (features < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the number of features must be >= 0, not ", features));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(std::move(file)));

  // Rows are parsed sparse first: the dense width is known only at the end.
  std::vector<double> labels;
  std::vector<int64_t> row_starts = {0};
  std::vector<std::pair<int64_t, double>> entries;  // (0-based column, value)
  int64_t max_index = 0;
  std::string line;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(line));
    if (!more) break;
    const int64_t line_number = reader->line_number();
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(line);
    if (rest.empty() || rest[0] == '#') continue;

    std::vector<absl::string_view> tokens =
        absl::StrSplit(rest, absl::ByAnyChar(" \t\v\f\r"), absl::SkipEmpty());
    double label;
    if (!ParseFinite(tokens[0], label)) {
      return LineError(path, line_number, "field 1 (the label) is not a finite number");
    }
    int64_t previous = 0;
    // Messages name the field (1-based, the label is field 1) and never quote it:
    // they go to clients, and the line is the data.
    for (size_t t = 1; t < tokens.size(); ++t) {
      absl::string_view token = tokens[t];
      const std::string field = absl::StrCat("field ", t + 1);
      size_t colon = token.find(':');
      if (colon == absl::string_view::npos) {
        return LineError(path, line_number, absl::StrCat(field, " is not index:value"));
      }
      int64_t index;
      if (!absl::SimpleAtoi(token.substr(0, colon), &index) || index <= 0) {
        return LineError(path, line_number,
                         absl::StrCat(field, ": the index is not a positive integer"));
      }
      if (index <= previous) {
        return LineError(
            path, line_number,
            absl::StrCat(field, ": the index does not increase on the previous field's"));
      }
      if (features > 0 && index > features) {
        return LineError(path, line_number,
                         absl::StrCat(field, ": the index is above the ", features,
                                      " features configured"));
      }
      if (index > kMaxDenseElements) {
        return LineError(path, line_number,
                         absl::StrCat(field, ": the index exceeds the dense limit of ",
                                      kMaxDenseElements));
      }
      double value;
      if (!ParseFinite(token.substr(colon + 1), value)) {
        return LineError(path, line_number,
                         absl::StrCat(field, ": the value is not a finite number"));
      }
      previous = index;
      if (index > max_index) max_index = index;
      if (value != 0) entries.emplace_back(index - 1, value);
    }
    labels.push_back(label);
    row_starts.push_back(static_cast<int64_t>(entries.size()));
  }
  if (labels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no data rows"));
  }

  const int64_t rows = static_cast<int64_t>(labels.size());
  const int64_t columns = features > 0 ? features : max_index;
  RETURN_IF_ERROR(CheckSize(path, rows, columns));
  Dataset data;
  data.source = path;
  data.features = Matrix::Zero(rows, columns);
  data.labels = Eigen::Map<const Vector>(labels.data(), rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t e = row_starts[r]; e < row_starts[r + 1]; ++e) {
      data.features(r, entries[e].first) = entries[e].second;
    }
  }
  return data;
}

absl::StatusOr<Dataset> ReadCsv(const std::string& path, int label_column,
                                v1::DataFile::Header header) {
  ASSIGN_OR_RETURN(OpenedFile file, OpenPath(path));
  return ReadCsv(std::move(file), label_column, header);
}

absl::StatusOr<Dataset> ReadCsv(OpenedFile file, int label_column, v1::DataFile::Header header) {
  const std::string path = file.name();
  if (label_column < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": label_column ", label_column, " is negative"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(std::move(file)));

  std::vector<double> values;  // row-major, all fields including the label
  int64_t fields_per_line = -1;
  int64_t rows = 0;
  bool first = true;
  std::vector<std::string> fields;
  std::string error;
  std::string line;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(line));
    if (!more) break;
    const int64_t line_number = reader->line_number();
    absl::string_view text = line;
    if (line_number == 1) absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // UTF-8 byte order mark
    if (absl::StripAsciiWhitespace(text).empty()) continue;
    if (!SplitCsv(text, fields, error)) return LineError(path, line_number, error);

    if (fields_per_line < 0) {
      fields_per_line = static_cast<int64_t>(fields.size());
      if (label_column >= fields_per_line) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line_number, ": label_column ", label_column,
                         " is out of range: the file has ", fields_per_line, " columns"));
      }
    } else if (static_cast<int64_t>(fields.size()) != fields_per_line) {
      return LineError(path, line_number,
                       absl::StrCat("expected ", fields_per_line, " fields, got ", fields.size()));
    }

    const bool is_first = first;
    first = false;
    if (is_first && header != v1::DataFile::HEADER_ABSENT) {
      bool is_header = header == v1::DataFile::HEADER_PRESENT;
      double ignored;
      for (const std::string& field : fields) {
        if (!absl::SimpleAtod(field, &ignored)) is_header = true;
      }
      if (is_header) continue;
    }

    for (size_t f = 0; f < fields.size(); ++f) {
      double value;
      if (!ParseFinite(fields[f], value)) {
        return LineError(path, line_number,
                         absl::StrCat("field ", f + 1, " is not a finite number"));
      }
      values.push_back(value);
    }
    ++rows;
    RETURN_IF_ERROR(CheckSize(path, rows, fields_per_line));
  }
  if (rows == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": no data rows"));

  const int64_t columns = fields_per_line - 1;
  Dataset data;
  data.source = path;
  data.features.resize(rows, columns);
  data.labels.resize(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = values.data() + r * fields_per_line;
    data.labels(r) = row[label_column];
    for (int64_t c = 0, f = 0; f < fields_per_line; ++f) {
      if (f != label_column) data.features(r, c++) = row[f];
    }
  }
  return data;
}

std::vector<int64_t> ShardRows(int64_t rows, int worker_index, int worker_count,
                               v1::ProblemSpec::Sharding sharding) {
  std::vector<int64_t> mine;
  if (rows < 0 || worker_count < 1 || worker_index < 0 || worker_index >= worker_count) {
    return mine;
  }
  if (sharding == v1::ProblemSpec::STRIDED) {
    mine.reserve(rows / worker_count + 1);
    for (int64_t r = worker_index; r < rows; r += worker_count) mine.push_back(r);
    return mine;
  }
  // i*m may not fit in 64 bits for huge m; the quotient does.
  const auto begin =
      static_cast<int64_t>(static_cast<__int128>(worker_index) * rows / worker_count);
  const auto end =
      static_cast<int64_t>(static_cast<__int128>(worker_index + 1) * rows / worker_count);
  mine.reserve(end - begin);
  for (int64_t r = begin; r < end; ++r) mine.push_back(r);
  return mine;
}

const char* ShardingName(v1::ProblemSpec::Sharding sharding) {
  return sharding == v1::ProblemSpec::STRIDED ? "strided" : "contiguous";
}

}  // namespace aia
