#include "problems/readers.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string TempPath(const std::string& name) {
  std::string dir = testing::TempDir();
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + name;
}

std::string WriteFile(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  EXPECT_TRUE(out) << "cannot write " << path;
  return path;
}

std::string WriteGzip(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  gzFile file = gzopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  EXPECT_EQ(gzwrite(file, content.data(), content.size()), static_cast<int>(content.size()));
  EXPECT_EQ(gzclose(file), Z_OK);
  return path;
}

// --- LIBSVM ---

TEST(ReadLibsvm, ParsesSparseRowsCommentsAndBlankLines) {
  const std::string path = WriteFile("basic.libsvm",
                                     "+1 1:0.5 3:2\n\n# a comment\n  -1\t2:1.5 "
                                     "  \r\n  # indented comment\n0.25\n");
  absl::StatusOr<Dataset> data = ReadLibsvm(path, 0);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->features.rows(), 3);
  ASSERT_EQ(data->features.cols(), 3);
  EXPECT_THAT(std::vector<double>(data->labels.data(), data->labels.data() + 3),
              ElementsAre(1.0, -1.0, 0.25));
  Matrix expected(3, 3);
  expected << 0.5, 0, 2,  //
      0, 1.5, 0,          //
      0, 0, 0;
  EXPECT_EQ(data->features, expected);
  EXPECT_EQ(data->source, path);
}

TEST(ReadLibsvm, FeaturesArgumentSetsTheWidth) {
  const std::string path = WriteFile("width.libsvm", "1 2:1\n");
  absl::StatusOr<Dataset> data = ReadLibsvm(path, 5);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->features.cols(), 5);
  EXPECT_EQ(data->features(0, 1), 1.0);
}

TEST(ReadLibsvm, ReadsGzipTransparently) {
  const std::string content = "1 1:1 2:2\n-1 2:3\n";
  absl::StatusOr<Dataset> plain = ReadLibsvm(WriteFile("plain.libsvm", content), 0);
  absl::StatusOr<Dataset> gzipped = ReadLibsvm(WriteGzip("zipped.libsvm.gz", content), 0);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(gzipped.ok()) << gzipped.status();
  EXPECT_EQ(plain->features, gzipped->features);
  EXPECT_EQ(plain->labels, gzipped->labels);
  EXPECT_EQ(gzipped->features.rows(), 2);
}

TEST(ReadLibsvm, ReadsLinesLongerThanTheReadBuffer) {
  std::string line = "1";
  for (int i = 1; i <= 5000; ++i) absl::StrAppend(&line, " ", i, ":", i);
  absl::StatusOr<Dataset> data = ReadLibsvm(WriteGzip("long.libsvm.gz", line + "\n2 1:1\n"), 0);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->features.rows(), 2);
  EXPECT_EQ(data->features.cols(), 5000);
  EXPECT_EQ(data->features(0, 4999), 5000.0);
}

struct BadLine {
  std::string content;
  int64_t features;
  int line;
  std::string fragment;
};

// Errors go to clients: they name file, line and field, and say what is wrong in
// general terms, never quoting the line (whose content is the data itself).
void ExpectNoContent(const std::string& message, const std::string& content) {
  for (absl::string_view token :
       absl::StrSplit(content, absl::ByAnyChar(" ,\n\""), absl::SkipEmpty())) {
    if (token.size() < 2 || token == "1:1" || token[0] == '#') continue;
    EXPECT_THAT(message, Not(HasSubstr(absl::StrCat("'", token))))
        << "the error quotes the data: " << message;
    EXPECT_THAT(message, Not(HasSubstr(absl::StrCat(" ", token, " "))))
        << "the error quotes the data: " << message;
  }
}

TEST(ReadLibsvm, RejectsMalformedLinesNamingFileLineAndField) {
  const std::vector<BadLine> cases = {
      {"1 1:1\n1 x:1\n", 0, 2, "field 2: the index is not a positive integer"},
      {"1 0:1\n", 0, 1, "field 2: the index is not a positive integer"},
      {"1 -2:1\n", 0, 1, "field 2: the index is not a positive integer"},
      {"1 1.5:1\n", 0, 1, "field 2: the index is not a positive integer"},
      {"# c\n\n1 2:1 2:3\n", 0, 3, "field 3: the index does not increase"},
      {"1 3:1 2:1\n", 0, 1, "field 3: the index does not increase"},
      {"abc 1:1\n", 0, 1, "field 1 (the label) is not a finite number"},
      {"nan 1:1\n", 0, 1, "field 1 (the label) is not a finite number"},
      {"1 1:abc\n", 0, 1, "field 2: the value is not a finite number"},
      {"1 1:\n", 0, 1, "field 2: the value is not a finite number"},
      {"1 1:nan\n", 0, 1, "field 2: the value is not a finite number"},
      {"1 1:-inf\n", 0, 1, "field 2: the value is not a finite number"},
      {"1 1:1e999\n", 0, 1, "field 2: the value is not a finite number"},
      {"1 1:1 7\n", 0, 1, "field 3 is not index:value"},
      {"1 1:1\n1 3:1\n", 2, 2, "field 2: the index is above the 2 features configured"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string name = absl::StrCat("bad", k, ".libsvm");
    const std::string path = WriteFile(name, cases[k].content);
    absl::StatusOr<Dataset> data = ReadLibsvm(path, cases[k].features);
    ASSERT_FALSE(data.ok()) << cases[k].content;
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                HasSubstr(absl::StrCat(name, ":", cases[k].line, ": ")));
    EXPECT_THAT(std::string(data.status().message()), HasSubstr(cases[k].fragment));
    ExpectNoContent(std::string(data.status().message()), cases[k].content);
  }
}

TEST(ReadLibsvm, RejectsFilesWithoutRows) {
  for (const std::string& content : {std::string(""), std::string("# only a comment\n\n  \n")}) {
    absl::StatusOr<Dataset> data = ReadLibsvm(WriteFile("empty.libsvm", content), 0);
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(data.status().message()), HasSubstr("empty.libsvm: no data rows"));
  }
}

TEST(ReadLibsvm, MissingFileIsNotFoundWithPathAndReason) {
  const std::string path = TempPath("does_not_exist.libsvm");
  absl::StatusOr<Dataset> data = ReadLibsvm(path, 0);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(data.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("No such file or directory"));
}

TEST(ReadLibsvm, DirectoryIsNotFound) {
  absl::StatusOr<Dataset> data = ReadLibsvm(testing::TempDir(), 0);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("Is a directory"));
}

TEST(ReadLibsvm, TruncatedGzipIsInvalidArgument) {
  std::string content;
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&content, i, " 1:", i, " 2:", i * 7 % 13, "\n");
  const std::string path = WriteGzip("truncated.libsvm.gz", content);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteFile("truncated.libsvm.gz", bytes.substr(0, bytes.size() / 2));
  absl::StatusOr<Dataset> data = ReadLibsvm(path, 0);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << data.status();
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("truncated.libsvm.gz:"));
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("bad gzip data"));
}

// --- CSV ---

TEST(ReadCsv, ParsesRowsWithTheLabelInAnyColumn) {
  const std::string path = WriteFile("plain.csv", "1,2,3\n\n4, 5 ,6\r\n");
  absl::StatusOr<Dataset> first = ReadCsv(path, 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(first.ok()) << first.status();
  Matrix expected(2, 2);
  expected << 2, 3, 5, 6;
  EXPECT_EQ(first->features, expected);
  EXPECT_EQ(first->labels, Eigen::Vector2d(1, 4));

  absl::StatusOr<Dataset> last = ReadCsv(path, 2, v1::DataFile::HEADER_ABSENT);
  ASSERT_TRUE(last.ok()) << last.status();
  expected << 1, 2, 4, 5;
  EXPECT_EQ(last->features, expected);
  EXPECT_EQ(last->labels, Eigen::Vector2d(3, 6));
}

TEST(ReadCsv, DetectsAHeaderOnlyWhenAFieldIsNotANumber) {
  absl::StatusOr<Dataset> with =
      ReadCsv(WriteFile("header.csv", "y,x1,x2\n1,2,3\n"), 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(with->features.rows(), 1);

  absl::StatusOr<Dataset> partly =
      ReadCsv(WriteFile("partly.csv", "1,2,x\n1,2,3\n"), 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(partly.ok()) << partly.status();
  EXPECT_EQ(partly->features.rows(), 1);

  absl::StatusOr<Dataset> without =
      ReadCsv(WriteFile("noheader.csv", "7,8,9\n1,2,3\n"), 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(without.ok()) << without.status();
  EXPECT_EQ(without->features.rows(), 2);
  EXPECT_EQ(without->labels(0), 7);
}

TEST(ReadCsv, HeaderPresentAndAbsentOverrideDetection) {
  const std::string numeric = WriteFile("numeric.csv", "7,8,9\n1,2,3\n");
  absl::StatusOr<Dataset> present = ReadCsv(numeric, 0, v1::DataFile::HEADER_PRESENT);
  ASSERT_TRUE(present.ok()) << present.status();
  EXPECT_EQ(present->features.rows(), 1);
  EXPECT_EQ(present->labels(0), 1);

  absl::StatusOr<Dataset> absent =
      ReadCsv(WriteFile("named.csv", "y,x\n1,2\n"), 0, v1::DataFile::HEADER_ABSENT);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(absent.status().message()), HasSubstr("named.csv:1: field 1 is not a finite number"));
}

TEST(ReadCsv, UnquotesFields) {
  absl::StatusOr<Dataset> data =
      ReadCsv(WriteFile("quoted.csv",
                        "\xEF\xBB\xBF\"label\",\"a, \"\"the\"\" b\"\n\"1.5\", "
                        "\"-2\" \n3,\"4e1\"\n"),
              0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->features.rows(), 2);
  ASSERT_EQ(data->features.cols(), 1);
  EXPECT_EQ(data->labels, Eigen::Vector2d(1.5, 3));
  EXPECT_EQ(data->features(0, 0), -2);
  EXPECT_EQ(data->features(1, 0), 40);
}

TEST(ReadCsv, ReadsGzipTransparently) {
  absl::StatusOr<Dataset> data =
      ReadCsv(WriteGzip("zipped.csv.gz", "y,x\n1,2\n3,4\n"), 1, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->labels, Eigen::Vector2d(2, 4));
  EXPECT_EQ(data->features(1, 0), 3);
}

TEST(ReadCsv, RejectsMalformedLinesNamingFileAndLine) {
  const std::vector<BadLine> cases = {
      {"1,2,3\n4,5\n", 0, 2, "expected 3 fields, got 2"},
      {"y,a,b\n1,2,3\n\n4,5,6,7\n", 0, 4, "expected 3 fields, got 4"},
      {"1,2\n3,abc\n", 0, 2, "field 2 is not a finite number"},
      {"1,2\n3,\n", 0, 2, "field 2 is not a finite number"},
      {"1,2\n3,inf\n", 0, 2, "field 2 is not a finite number"},
      {"1,2\n3,\"4 secret\n", 0, 2, "field 2 has an unterminated quote"},
      {"1,2\n3,\"4\"5\n", 0, 2, "text after the closing quote of field 2"},
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const std::string name = absl::StrCat("bad", k, ".csv");
    absl::StatusOr<Dataset> data =
        ReadCsv(WriteFile(name, cases[k].content), 0, v1::DataFile::HEADER_UNSPECIFIED);
    ASSERT_FALSE(data.ok()) << cases[k].content;
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument) << data.status();
    EXPECT_THAT(std::string(data.status().message()),
                HasSubstr(absl::StrCat(name, ":", cases[k].line, ": ")));
    EXPECT_THAT(std::string(data.status().message()), HasSubstr(cases[k].fragment));
    ExpectNoContent(std::string(data.status().message()), cases[k].content);
  }
}

TEST(ReadCsv, RejectsLabelColumnOutOfRange) {
  const std::string path = WriteFile("three.csv", "1,2,3\n");
  for (int column : {3, -1}) {
    absl::StatusOr<Dataset> data = ReadCsv(path, column, v1::DataFile::HEADER_UNSPECIFIED);
    ASSERT_FALSE(data.ok());
    EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(data.status().message()),
                HasSubstr(absl::StrCat("label_column ", column)));
    EXPECT_THAT(std::string(data.status().message()), HasSubstr("three.csv"));
  }
}

TEST(ReadCsv, RejectsHeaderOnlyAndMissingFiles) {
  absl::StatusOr<Dataset> header_only =
      ReadCsv(WriteFile("header_only.csv", "y,x\n"), 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_FALSE(header_only.ok());
  EXPECT_EQ(header_only.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(header_only.status().message()), HasSubstr("no data rows"));

  absl::StatusOr<Dataset> missing =
      ReadCsv(TempPath("missing.csv"), 0, v1::DataFile::HEADER_UNSPECIFIED);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing.csv"));
}

// --- OpenBeneath ---

// Both ways of opening beneath the root: openat2, and the walk for kernels without it.
class OpenBeneathTest : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    base_ = TempPath("beneath");
    root_ = base_ + "/root";
    for (const std::string& dir : {base_, root_, root_ + "/sub", base_ + "/root2"}) {
      ::mkdir(dir.c_str(), 0755);
    }
    WriteFile("beneath/root/a.txt", "inside a\n");
    WriteFile("beneath/root/sub/b.txt", "inside b\n");
    WriteFile("beneath/outside.txt", "outside\n");
    Link("../outside.txt", root_ + "/link_out");
    Link(base_ + "/outside.txt", root_ + "/abs_out");
    Link(base_, root_ + "/dir_out");
    Link("sub/b.txt", root_ + "/link_in");
    Link("../sub", root_ + "/sub/up_and_back");
    Link("loop", root_ + "/loop");
    Link("/proc/self/root", root_ + "/magic");
    ::mkfifo((root_ + "/fifo").c_str(), 0644);
  }

  static void Link(const std::string& target, const std::string& link) {
    ::unlink(link.c_str());
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << link;
  }

  absl::StatusOr<OpenedFile> Open(const std::string& root, const std::string& path) {
    return GetParam() ? OpenBeneath(root, path) : internal::OpenBeneathByWalking(root, path);
  }

  // The content read through the descriptor, or the error.
  std::string Read(const std::string& path) {
    absl::StatusOr<OpenedFile> file = Open(root_, path);
    if (!file.ok()) return std::string(file.status().message());
    absl::StatusOr<std::string> content = ReadWholeFile(*std::move(file), 1 << 20);
    return content.ok() ? *content : std::string(content.status().message());
  }

  void ExpectOutside(const std::string& path) {
    absl::StatusOr<OpenedFile> file = Open(root_, path);
    ASSERT_FALSE(file.ok()) << path << " opened";
    EXPECT_EQ(file.status().code(), absl::StatusCode::kPermissionDenied) << file.status();
    EXPECT_EQ(file.status().message(),
              absl::StrCat("data path '", path, "' is outside the data root"));
  }

  std::string base_;
  std::string root_;
};

TEST_P(OpenBeneathTest, OpensRelativeAndAbsolutePathsInsideTheRoot) {
  EXPECT_EQ(Read("a.txt"), "inside a\n");
  EXPECT_EQ(Read("./sub/../a.txt"), "inside a\n");
  EXPECT_EQ(Read("sub//b.txt"), "inside b\n");
  EXPECT_EQ(Read(root_ + "/sub/b.txt"), "inside b\n");
  EXPECT_EQ(Read(root_ + "/sub/../a.txt"), "inside a\n");
  // Relative links that stay inside are followed.
  EXPECT_EQ(Read("link_in"), "inside b\n");
  EXPECT_EQ(Read("sub/up_and_back/b.txt"), "inside b\n");
  // A relative root is taken from the current directory.
  absl::StatusOr<OpenedFile> file = OpenBeneath(".", "no_such_file_here");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
}

TEST_P(OpenBeneathTest, RefusesDotDotEscapes) {
  ExpectOutside("../outside.txt");
  ExpectOutside("sub/../../outside.txt");
  ExpectOutside(root_ + "/../outside.txt");
  ExpectOutside("/etc/passwd");
  // A sibling whose name starts with the root's name is not inside it.
  ExpectOutside(base_ + "/root2/x");
  ExpectOutside("../root2/x");
}

TEST_P(OpenBeneathTest, RefusesSymlinkEscapes) {
  ExpectOutside("link_out");
  ExpectOutside("abs_out");
  ExpectOutside("dir_out/outside.txt");
  ExpectOutside("dir_out/no_such_file");
}

TEST_P(OpenBeneathTest, RefusesWhatIsNotARegularFile) {
  absl::StatusOr<OpenedFile> file = Open(root_, "sub");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound) << file.status();
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("Is a directory"));
  // A FIFO would block a plain open forever.
  file = Open(root_, "fifo");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << file.status();
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("not a regular file"));
  file = Open(root_, "loop");
  EXPECT_FALSE(file.ok());
  file = Open(root_, "magic/etc/passwd");
  EXPECT_FALSE(file.ok());
  EXPECT_NE(file.status().code(), absl::StatusCode::kOk);
}

TEST_P(OpenBeneathTest, ErrorsNameThePathNeverTheRoot) {
  absl::StatusOr<OpenedFile> file = Open(root_, "sub/missing.txt");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(),
            "cannot open '<data_root>/sub/missing.txt': No such file or directory");
  file = Open(base_ + "/no_such_root", "a.txt");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(file.status().message()), Not(HasSubstr(base_)));
  file = Open(root_, "a.txt");
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->name(), "<data_root>/a.txt");
}

TEST_P(OpenBeneathTest, RootSlashConfinesNothing) {
  EXPECT_TRUE(Open("/", base_ + "/outside.txt").ok());
  EXPECT_TRUE(Open("/", root_ + "/link_out").ok());
  EXPECT_TRUE(Open("/", "../" + base_ + "/outside.txt").ok());
}

TEST_P(OpenBeneathTest, RejectsEmptyArguments) {
  EXPECT_EQ(Open("", "a").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Open(root_, "").status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Openat2AndWalk, OpenBeneathTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Openat2" : "Walk";
                         });

// --- ShardRows ---

TEST(ShardRows, ContiguousCutsAtIMOverW) {
  EXPECT_THAT(ShardRows(10, 0, 3, v1::ProblemSpec::CONTIGUOUS), ElementsAre(0, 1, 2));
  EXPECT_THAT(ShardRows(10, 1, 3, v1::ProblemSpec::CONTIGUOUS), ElementsAre(3, 4, 5));
  EXPECT_THAT(ShardRows(10, 2, 3, v1::ProblemSpec::CONTIGUOUS), ElementsAre(6, 7, 8, 9));
  EXPECT_THAT(ShardRows(10, 2, 3, v1::ProblemSpec::SHARDING_UNSPECIFIED), ElementsAre(6, 7, 8, 9));
  EXPECT_THAT(ShardRows(4, 0, 6, v1::ProblemSpec::CONTIGUOUS), IsEmpty());
  EXPECT_THAT(ShardRows(4, 5, 6, v1::ProblemSpec::CONTIGUOUS), ElementsAre(3));
}

TEST(ShardRows, StridedTakesEveryWthRow) {
  EXPECT_THAT(ShardRows(10, 0, 3, v1::ProblemSpec::STRIDED), ElementsAre(0, 3, 6, 9));
  EXPECT_THAT(ShardRows(10, 1, 3, v1::ProblemSpec::STRIDED), ElementsAre(1, 4, 7));
  EXPECT_THAT(ShardRows(10, 2, 3, v1::ProblemSpec::STRIDED), ElementsAre(2, 5, 8));
  EXPECT_THAT(ShardRows(4, 5, 6, v1::ProblemSpec::STRIDED), IsEmpty());
}

TEST(ShardRows, EveryRowExactlyOnce) {
  for (auto sharding : {v1::ProblemSpec::CONTIGUOUS, v1::ProblemSpec::STRIDED}) {
    for (int64_t m = 0; m <= 23; ++m) {
      for (int w = 1; w <= 8; ++w) {
        std::vector<int> seen(m, 0);
        for (int i = 0; i < w; ++i) {
          std::vector<int64_t> rows = ShardRows(m, i, w, sharding);
          EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
          // Shard sizes differ by at most one.
          EXPECT_LE(rows.size(), static_cast<size_t>((m + w - 1) / w));
          EXPECT_GE(rows.size(), static_cast<size_t>(m / w));
          for (int64_t r : rows) {
            ASSERT_GE(r, 0);
            ASSERT_LT(r, m);
            ++seen[r];
          }
        }
        for (int64_t r = 0; r < m; ++r) {
          EXPECT_EQ(seen[r], 1) << "row " << r << " m=" << m << " W=" << w << " "
                                << ShardingName(sharding);
        }
      }
    }
  }
}

TEST(ShardRows, InvalidArgumentsGiveNoRows) {
  EXPECT_THAT(ShardRows(10, 3, 3, v1::ProblemSpec::CONTIGUOUS), IsEmpty());
  EXPECT_THAT(ShardRows(10, -1, 3, v1::ProblemSpec::STRIDED), IsEmpty());
  EXPECT_THAT(ShardRows(10, 0, 0, v1::ProblemSpec::CONTIGUOUS), IsEmpty());
  EXPECT_THAT(ShardRows(-1, 0, 1, v1::ProblemSpec::CONTIGUOUS), IsEmpty());
}

TEST(ShardRows, HugeRowCountsDoNotOverflow) {
  // (W-1)*m is 2^64 here: beyond int64_t, though the shard bounds are not.
  const int w = 1 << 30;
  const int64_t m = int64_t{16} * w;
  std::vector<int64_t> last = ShardRows(m, w - 1, w, v1::ProblemSpec::CONTIGUOUS);
  ASSERT_EQ(last.size(), 16u);
  EXPECT_EQ(last.front(), m - 16);
  EXPECT_EQ(last.back(), m - 1);
}

}  // namespace
}  // namespace aia
