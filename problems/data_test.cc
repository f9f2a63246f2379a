#include "problems/data.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

std::string TempDirectory() {
  std::string dir = testing::TempDir();
  if (!dir.empty() && dir.back() == '/') dir.pop_back();
  return dir;
}

void WriteFile(const std::string& name, const std::string& content) {
  std::ofstream out(TempDirectory() + "/" + name, std::ios::trunc);
  out << content;
}

TEST(LoadDataFile, ChoosesTheFormatByNameOrField) {
  WriteFile("table.CSV", "1,2\n3,4\n");
  v1::DataFile file;
  file.set_path("table.CSV");
  absl::StatusOr<Dataset> csv = LoadDataFile(file, TempDirectory());
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_EQ(csv->features.rows(), 2);
  EXPECT_EQ(csv->source, "<data_root>/table.CSV");

  // The same bytes read as LIBSVM: "1,2" is not a label.
  file.set_format(v1::DataFile::LIBSVM);
  absl::StatusOr<Dataset> libsvm = LoadDataFile(file, TempDirectory());
  ASSERT_FALSE(libsvm.ok());
  EXPECT_THAT(std::string(libsvm.status().message()), HasSubstr("table.CSV:1: field 1 (the label) is not a finite number"));

  WriteFile("table.txt", "1,2\n");
  file.set_path("table.txt");
  file.set_format(v1::DataFile::CSV);
  EXPECT_TRUE(LoadDataFile(file, TempDirectory()).ok());
}

TEST(LoadDataFile, RejectsFieldsOfTheOtherFormat) {
  WriteFile("rows.libsvm", "1 1:1\n");
  v1::DataFile file;
  file.set_path("rows.libsvm");
  file.set_label_column(1);
  absl::StatusOr<Dataset> data = LoadDataFile(file, TempDirectory());
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("problem.file.label_column"));

  WriteFile("two.csv", "1,2,3\n");
  file.set_path("two.csv");
  file.set_label_column(0);
  file.set_features(3);
  data = LoadDataFile(file, TempDirectory());
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(std::string(data.status().message()), HasSubstr("problem.file.features is 3 but"));
}

TEST(GenerateSynthetic, KeepsOnlyTheRowsAsked) {
  v1::SyntheticData spec;
  spec.set_rows(10);
  spec.set_columns(3);
  spec.set_seed(42);
  spec.set_noise(0.1);
  absl::StatusOr<Dataset> all = GenerateSynthetic(spec, nullptr);
  ASSERT_TRUE(all.ok()) << all.status();
  const std::vector<int64_t> keep = {2, 5, 9};
  absl::StatusOr<Dataset> some = GenerateSynthetic(spec, &keep);
  ASSERT_TRUE(some.ok()) << some.status();
  ASSERT_EQ(some->features.rows(), 3);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(some->features.row(k), all->features.row(keep[k]));
    EXPECT_EQ(some->labels(k), all->labels(keep[k]));
  }
}

TEST(LoadShard, DescribesASingleWorkerWithoutShard) {
  v1::ProblemSpec spec;
  spec.mutable_synthetic()->set_rows(6);
  spec.mutable_synthetic()->set_columns(2);
  absl::StatusOr<DataShard> shard = LoadShard(ProblemContext{spec, "/", 0, 1});
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->total_rows, 6);
  EXPECT_EQ(shard->description, "6 rows of synthetic data (seed 0, noise 0)");
}

TEST(LoadShard, RejectsABadWorkerIndex) {
  v1::ProblemSpec spec;
  spec.mutable_synthetic()->set_rows(6);
  spec.mutable_synthetic()->set_columns(2);
  absl::StatusOr<DataShard> shard = LoadShard(ProblemContext{spec, "/", 2, 2});
  ASSERT_FALSE(shard.ok());
  EXPECT_EQ(shard.status().code(), absl::StatusCode::kInvalidArgument);
}

// A data root with one file inside (label 1) and one outside it (label 666).
class ConfinementTest : public testing::Test {
 protected:
  void SetUp() override {
    base_ = TempDirectory() + "/confinement";
    root_ = base_ + "/root";
    ::mkdir(base_.c_str(), 0755);
    ::mkdir(root_.c_str(), 0755);
    ::mkdir((root_ + "/sub").c_str(), 0755);
    ::mkdir((base_ + "/secret").c_str(), 0755);
    std::ofstream(root_ + "/inside.libsvm") << "1 1:1\n";
    std::ofstream(root_ + "/sub/inside.libsvm") << "1 1:1\n";
    std::ofstream(base_ + "/outside.libsvm") << "666 1:1\n";
    std::ofstream(base_ + "/secret/inside.libsvm") << "666 1:1\n";
  }

  absl::StatusOr<Dataset> Load(const std::string& path) {
    v1::DataFile file;
    file.set_path(path);
    return LoadDataFile(file, root_);
  }

  void ExpectRefused(const std::string& path) {
    absl::StatusOr<Dataset> data = Load(path);
    ASSERT_FALSE(data.ok()) << path << " loaded " << data->labels.transpose();
    EXPECT_EQ(data.status().code(), absl::StatusCode::kPermissionDenied) << data.status();
    // The client is never told where the data root is.
    if (path[0] != '/') {
      EXPECT_THAT(std::string(data.status().message()), testing::Not(HasSubstr(base_))) << path;
    }
  }

  // Points root/<name> at `target` in one step (a new link renamed over the old).
  void Relink(const std::string& name, const std::string& target) {
    const std::string tmp = root_ + "/" + name + ".tmp";
    ::unlink(tmp.c_str());
    ASSERT_EQ(::symlink(target.c_str(), tmp.c_str()), 0);
    ASSERT_EQ(::rename(tmp.c_str(), (root_ + "/" + name).c_str()), 0);
  }

  std::string base_, root_;
};

TEST_F(ConfinementTest, DotDotAndSymlinkEscapesAreRefused) {
  ExpectRefused("../outside.libsvm");
  ExpectRefused("sub/../../outside.libsvm");
  ExpectRefused(base_ + "/outside.libsvm");
  ExpectRefused(root_ + "/../outside.libsvm");
  Relink("file_out", "../outside.libsvm");
  ExpectRefused("file_out");
  Relink("abs_out", base_ + "/outside.libsvm");
  ExpectRefused("abs_out");
  Relink("dir_out", "../secret");
  ExpectRefused("dir_out/inside.libsvm");
  // Inside the root, `..` and relative links are fine.
  Relink("file_in", "sub/inside.libsvm");
  for (const std::string& path :
       std::vector<std::string>{"inside.libsvm", "sub/../inside.libsvm", "./sub/inside.libsvm",
                                "file_in", root_ + "/sub/inside.libsvm"}) {
    absl::StatusOr<Dataset> data = Load(path);
    ASSERT_TRUE(data.ok()) << path << ": " << data.status();
    EXPECT_EQ(data->labels(0), 1) << path;
  }
}

// Checking a path and then opening it can be raced: a link swapped between the two
// loaded a file outside the root (86 of 19,389 Setups). Opening beneath the root in
// one step cannot be.
TEST_F(ConfinementTest, SwappingSymlinksDuringLoadsNeverLeavesTheRoot) {
  Relink("file", "inside.libsvm");
  Relink("dir", "sub");
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    for (bool out = false; !stop.load(); out = !out) {
      Relink("file", out ? "../outside.libsvm" : "inside.libsvm");
      Relink("dir", out ? "../secret" : "sub");
    }
  });
  int inside = 0, refused = 0, outside = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < deadline && outside == 0; ++i) {
    for (const char* path : {"file", "dir/inside.libsvm"}) {
      absl::StatusOr<Dataset> data = Load(path);
      if (!data.ok()) {
        ++refused;
      } else if (data->labels(0) == 666) {
        ++outside;
      } else {
        ++inside;
      }
    }
  }
  stop = true;
  swapper.join();
  EXPECT_EQ(outside, 0) << "loaded a file outside the root (" << inside << " inside, " << refused
                        << " refused)";
  // The race was run: both outcomes happened.
  EXPECT_GT(inside, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace aia
