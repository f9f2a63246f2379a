// NpyWriter appends rows of float64 to a NumPy .npy (format version 1.0) file
// whose row count grows while it is written, so that the file can be loaded
// with numpy.load at any time after a Flush.
//
// File layout (the NumPy format, version 1.0):
//   bytes 0..5  magic "\x93NUMPY"
//   bytes 6..7  version 1, 0
//   bytes 8..9  header length H, uint16 little-endian
//   bytes 10..  the header: "{'descr': '<f8', 'fortran_order': False,
//               'shape': (R, C), }" padded with spaces and ending in '\n',
//               so that 10 + H is a multiple of 64
//   then        R * C little-endian float64 values, row-major
//
// H is fixed when the file is created: it leaves room for a 20-digit R, so a
// growing R only rewrites the header in place and never moves the data.
//
// On a full disk a row is written whole or not at all (AppendFile), so the data
// always holds exactly the rows the header counts after a Flush.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<NpyWriter> writer,
//                    NpyWriter::Create("queries.npy", 3));
//   const double row[3] = {1, 2, 3};
//   RETURN_IF_ERROR(writer->Append(row));
//   RETURN_IF_ERROR(writer->Flush());  // numpy.load now sees shape (1, 3)
//
// Thread safety: an NpyWriter is not thread-safe; use it from one thread.
#ifndef AIA_COORDINATOR_HISTORY_NPY_WRITER_H_
#define AIA_COORDINATOR_HISTORY_NPY_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/eigen.h"
#include "coordinator/history/append_file.h"

namespace aia {

class NpyWriter {
 public:
  // Creates (or truncates) `path` and writes the header of a (0, columns)
  // array. InvalidArgument if columns < 0; an errno-derived status if the file
  // cannot be written.
  static absl::StatusOr<std::unique_ptr<NpyWriter>> Create(const std::string& path,
                                                           int64_t columns);

  // Flushes (as Flush) and closes the file.
  ~NpyWriter();

  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  // Appends one row of columns() doubles read from `row`. The header on disk
  // is updated only by Flush.
  absl::Status Append(const double* row);
  // As above; InvalidArgument unless row.size() == columns().
  absl::Status Append(const Eigen::Ref<const Vector>& row);
  // As above from 8 * columns() bytes of little-endian float64 (for example a
  // dense payload off the wire, which need not be aligned for double);
  // InvalidArgument for any other size.
  absl::Status AppendBytes(absl::string_view row);

  // Rewrites the header in place with the current shape (no fsync), so that
  // the file on disk is a valid .npy of rows() rows.
  absl::Status Flush();

  // Removes the last row (data and shape), for a record whose other files
  // could not be written.
  absl::Status RemoveLastRow();

  int64_t rows() const { return rows_; }
  int64_t columns() const { return columns_; }
  const std::string& path() const { return path_; }

  // Total length of magic, version, header length and header for an array of
  // `columns` columns: a multiple of 64 that does not depend on the row count.
  static int64_t PreambleSize(int64_t columns);
  // The full preamble for shape (rows, columns), PreambleSize(columns) bytes.
  static std::string Preamble(int64_t rows, int64_t columns);

 private:
  NpyWriter(std::string path, std::unique_ptr<AppendFile> file, int64_t columns);

  std::string path_;
  std::unique_ptr<AppendFile> file_;
  int64_t columns_;
  int64_t rows_ = 0;
  // The first error; later calls return it (the file may be inconsistent).
  absl::Status error_;
};

// Reads a .npy file in the format NpyWriter writes (version 1.0, '<f8',
// C order): returns its shape and its values in row-major order.
// InvalidArgument if the file is not in exactly that format or its size does
// not match the shape. Meant for tests and tools; it reads the whole file.
absl::StatusOr<std::pair<std::vector<int64_t>, std::vector<double>>> ReadNpy(
    const std::string& path);

}  // namespace aia

#endif  // AIA_COORDINATOR_HISTORY_NPY_WRITER_H_
