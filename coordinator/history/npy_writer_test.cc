#include "coordinator/history/npy_writer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/eigen.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// The preamble NumPy itself writes for shape (rows, 3): 128 bytes, header
// length 118 (0x76), the dict padded with spaces, then '\n'.
std::string ExpectedPreamble3(const std::string& rows) {
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + rows + ", 3), }";
  std::string out("\x93NUMPY\x01\x00\x76\x00", 10);
  out += dict;
  out += std::string(128 - 1 - out.size(), ' ');
  out += '\n';
  return out;
}

std::string DoubleBytes(const std::vector<double>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
}

TEST(NpyWriter, EmptyFileHeaderBytes) {
  const std::string path = TempPath("empty.npy");
  {
    auto writer = NpyWriter::Create(path, 3);
    ASSERT_TRUE(writer.ok()) << writer.status();
    EXPECT_EQ((*writer)->rows(), 0);
    // The header is on disk before any Flush.
    EXPECT_EQ(ReadFile(path), ExpectedPreamble3("0"));
  }
  const std::string bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 128u);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  EXPECT_EQ(bytes, ExpectedPreamble3("0"));
}

TEST(NpyWriter, OneRowHeaderAndData) {
  const std::string path = TempPath("one.npy");
  auto writer = NpyWriter::Create(path, 3);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const double row[3] = {1.5, -2.0, 1e300};
  ASSERT_TRUE((*writer)->Append(row).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  EXPECT_EQ(ReadFile(path), ExpectedPreamble3("1") + DoubleBytes({1.5, -2.0, 1e300}));
}

TEST(NpyWriter, ManyRowsHeaderStaysValidAfterEachFlush) {
  const std::string path = TempPath("many.npy");
  auto writer = NpyWriter::Create(path, 3);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<double> all;
  for (int i = 0; i < 150; ++i) {
    Vector row(3);
    row << i, i + 0.25, -i;
    ASSERT_TRUE((*writer)->Append(row).ok());
    ASSERT_TRUE((*writer)->Flush().ok());
    all.insert(all.end(), row.data(), row.data() + 3);
    auto read = ReadNpy(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->first, (std::vector<int64_t>{i + 1, 3}));
    ASSERT_EQ(read->second, all);
  }
  EXPECT_EQ(ReadFile(path), ExpectedPreamble3("150") + DoubleBytes(all));
}

TEST(NpyWriter, PreambleSizeDoesNotDependOnRows) {
  for (int64_t columns : std::vector<int64_t>{0, 1, 7, 1000000, 123456789012}) {
    const int64_t size = NpyWriter::PreambleSize(columns);
    EXPECT_EQ(size % 64, 0) << columns;
    for (int64_t rows :
         {int64_t{0}, int64_t{9}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
      const std::string preamble = NpyWriter::Preamble(rows, columns);
      ASSERT_EQ(static_cast<int64_t>(preamble.size()), size) << rows << " " << columns;
      const int header_size =
          static_cast<unsigned char>(preamble[8]) | static_cast<unsigned char>(preamble[9]) << 8;
      EXPECT_EQ(10 + header_size, size);
      EXPECT_EQ(preamble.back(), '\n');
      EXPECT_NE(preamble.find(absl::StrCat("'shape': (", rows, ", ", columns, "), }")),
                std::string::npos);
    }
  }
}

TEST(NpyWriter, RejectsRowsOfTheWrongSize) {
  auto writer = NpyWriter::Create(TempPath("wrong.npy"), 3);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const absl::Status status = (*writer)->Append(Vector::Zero(4));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("size 4"), std::string::npos) << status;
  EXPECT_EQ((*writer)->AppendBytes(std::string(23, '\0')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*writer)->AppendBytes(std::string(24, '\0')).ok());
  EXPECT_EQ((*writer)->rows(), 1);
}

TEST(NpyWriter, RejectsNegativeColumnsAndUnwritablePath) {
  EXPECT_EQ(NpyWriter::Create(TempPath("neg.npy"), -1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NpyWriter::Create(TempPath("no/such/dir.npy"), 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ReadNpy, RejectsOtherFormats) {
  const std::string path = TempPath("bad.npy");
  WriteFile(path, "not numpy at all");
  EXPECT_EQ(ReadNpy(path).status().code(), absl::StatusCode::kInvalidArgument);
  // Data shorter than the shape says.
  WriteFile(path, ExpectedPreamble3("2") + DoubleBytes({1, 2, 3}));
  EXPECT_EQ(ReadNpy(path).status().code(), absl::StatusCode::kInvalidArgument);
  // Another dtype.
  std::string f4 = ExpectedPreamble3("0");
  f4.replace(f4.find("<f8"), 3, "<f4");
  WriteFile(path, f4);
  EXPECT_EQ(ReadNpy(path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadNpy(TempPath("missing.npy")).status().code(), absl::StatusCode::kNotFound);
}

std::string RunCommand(const std::string& command) {
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  pclose(pipe);
  return out;
}

// NumPy itself loads the file while the writer still has it open.
TEST(NpyWriter, NumpyLoadsTheFile) {
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  }
  const std::string path = TempPath("numpy.npy");
  auto writer = NpyWriter::Create(path, 3);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string command = "/usr/bin/python3 -c \"import numpy; a=numpy.load('" + path +
                              "'); print(a.shape, a.dtype, a.sum())\" 2>&1";
  EXPECT_EQ(RunCommand(command), "(0, 3) float64 0.0\n");
  for (int i = 0; i < 5; ++i) {
    const double row[3] = {3.0 * i, 3.0 * i + 1, 3.0 * i + 2};
    ASSERT_TRUE((*writer)->Append(row).ok());
    ASSERT_TRUE((*writer)->Flush().ok());
  }
  EXPECT_EQ(RunCommand(command), "(5, 3) float64 105.0\n");
}

}  // namespace
}  // namespace aia
