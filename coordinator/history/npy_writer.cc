#include "coordinator/history/npy_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/base/config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

// The data is written as the host's doubles and declared '<f8'.
#ifndef ABSL_IS_LITTLE_ENDIAN
#error "NpyWriter writes host doubles as '<f8' and needs a little-endian host"
#endif

namespace aia {
namespace {

constexpr char kMagic[] = "\x93NUMPY";  // 6 bytes
constexpr int64_t kMagicSize = 6;
// Magic, version (2 bytes), header length (2 bytes).
constexpr int64_t kFixedSize = kMagicSize + 2 + 2;
constexpr char kDictPrefix[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
constexpr char kDictSuffix[] = "), }";
// Room reserved for the row count: more digits than any int64_t has.
constexpr int64_t kRowDigits = 20;

absl::Status ErrnoStatus(int error_number, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(what, " ", path));
}

std::string ShapeText(int64_t rows, int64_t columns) {
  return absl::StrCat(kDictPrefix, rows, ", ", columns, kDictSuffix);
}

}  // namespace

int64_t NpyWriter::PreambleSize(int64_t columns) {
  const int64_t dict = sizeof(kDictPrefix) - 1 + kRowDigits + 2 + absl::StrCat(columns).size() +
                       sizeof(kDictSuffix) - 1;
  const int64_t unpadded = kFixedSize + dict + 1;  // + '\n'
  return (unpadded + 63) / 64 * 64;
}

std::string NpyWriter::Preamble(int64_t rows, int64_t columns) {
  const int64_t total = PreambleSize(columns);
  const int64_t header_size = total - kFixedSize;
  std::string out(kMagic, kMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header_size & 0xff));
  out.push_back(static_cast<char>((header_size >> 8) & 0xff));
  out += ShapeText(rows, columns);
  out.resize(total - 1, ' ');
  out.push_back('\n');
  return out;
}

absl::StatusOr<std::unique_ptr<NpyWriter>> NpyWriter::Create(const std::string& path,
                                                             int64_t columns) {
  if (columns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("NpyWriter: negative column count ", columns, " for ", path));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<AppendFile> file,
                   AppendFile::Create(path, /*exclusive=*/false));
  if (absl::Status status = file->Append(Preamble(0, columns)); !status.ok()) {
    file.reset();
    ::unlink(path.c_str());  // not even a header: leave no file that does not load
    return status;
  }
  return std::unique_ptr<NpyWriter>(new NpyWriter(path, std::move(file), columns));
}

NpyWriter::NpyWriter(std::string path, std::unique_ptr<AppendFile> file, int64_t columns)
    : path_(std::move(path)), file_(std::move(file)), columns_(columns) {}

NpyWriter::~NpyWriter() {
  if (error_.ok()) Flush().IgnoreError();
}

absl::Status NpyWriter::Append(const double* row) {
  return AppendBytes(absl::string_view(reinterpret_cast<const char*>(row),
                                       static_cast<size_t>(columns_) * sizeof(double)));
}

absl::Status NpyWriter::Append(const Eigen::Ref<const Vector>& row) {
  if (row.size() != columns_) {
    return absl::InvalidArgumentError(absl::StrCat("NpyWriter: row of size ", row.size(), " for ",
                                                   path_, " whose rows have ", columns_,
                                                   " columns"));
  }
  return Append(row.data());
}

absl::Status NpyWriter::AppendBytes(absl::string_view row) {
  if (row.size() != static_cast<size_t>(columns_) * sizeof(double)) {
    return absl::InvalidArgumentError(absl::StrCat("NpyWriter: row of ", row.size(), " bytes for ",
                                                   path_, " whose rows are ",
                                                   columns_ * sizeof(double), " bytes"));
  }
  RETURN_IF_ERROR(error_);
  // The whole row or nothing (AppendFile cuts a partial row off), so the data
  // always holds exactly rows_ rows.
  if (absl::Status status = file_->Append(row); !status.ok()) {
    error_ = status;
    return error_;
  }
  ++rows_;
  return absl::OkStatus();
}

absl::Status NpyWriter::RemoveLastRow() {
  RETURN_IF_ERROR(error_);
  if (rows_ == 0) return absl::InternalError(absl::StrCat("NpyWriter: no row to remove in ", path_));
  const int64_t row_bytes = columns_ * static_cast<int64_t>(sizeof(double));
  if (absl::Status status = file_->Truncate(file_->length() - row_bytes); !status.ok()) {
    error_ = status;
    return error_;
  }
  --rows_;
  return Flush();
}

absl::Status NpyWriter::Flush() {
  RETURN_IF_ERROR(error_);
  // Same size as the header written at Create, so only the digits change and
  // the file does not grow: this cannot hit a full disk.
  if (absl::Status status = file_->WriteAt(0, Preamble(rows_, columns_)); !status.ok()) {
    error_ = status;
    return error_;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::vector<int64_t>, std::vector<double>>> ReadNpy(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  auto invalid = [&path](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("ReadNpy: ", path, ": ", why));
  };
  if (bytes.size() < kFixedSize ||
      absl::string_view(bytes).substr(0, kMagicSize) != absl::string_view(kMagic, kMagicSize)) {
    return invalid("no .npy magic");
  }
  if (bytes[6] != 1 || bytes[7] != 0) return invalid("not version 1.0");
  const size_t header_size =
      static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
  if (bytes.size() < kFixedSize + header_size) return invalid("short header");
  absl::string_view header(bytes.data() + kFixedSize, header_size);
  if (header.empty() || header.back() != '\n') {
    return invalid("header does not end in a newline");
  }
  header = absl::StripTrailingAsciiWhitespace(header);
  if (!absl::ConsumePrefix(&header, kDictPrefix) || !absl::ConsumeSuffix(&header, kDictSuffix)) {
    return invalid(absl::StrCat("unsupported header: ", header));
  }
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (absl::string_view dim : absl::StrSplit(header, ',')) {
    dim = absl::StripAsciiWhitespace(dim);
    if (dim.empty()) continue;  // "(3,)" or "()"
    int64_t n;
    if (!absl::SimpleAtoi(dim, &n) || n < 0) {
      return invalid(absl::StrCat("bad shape entry '", dim, "'"));
    }
    shape.push_back(n);
    count *= n;
  }
  const size_t data_size = bytes.size() - kFixedSize - header_size;
  if (data_size != static_cast<size_t>(count) * sizeof(double)) {
    return invalid(
        absl::StrCat("data is ", data_size, " bytes, shape needs ", count * sizeof(double)));
  }
  std::vector<double> values(count);
  if (count > 0) {
    std::memcpy(values.data(), bytes.data() + kFixedSize + header_size, data_size);
  }
  return std::make_pair(std::move(shape), std::move(values));
}

}  // namespace aia
