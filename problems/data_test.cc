#include "problems/data.h"

#include <fstream>
#include <string>

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
  EXPECT_EQ(csv->source, TempDirectory() + "/table.CSV");

  // The same bytes read as LIBSVM: "1,2" is not a label.
  file.set_format(v1::DataFile::LIBSVM);
  absl::StatusOr<Dataset> libsvm = LoadDataFile(file, TempDirectory());
  ASSERT_FALSE(libsvm.ok());
  EXPECT_THAT(std::string(libsvm.status().message()), HasSubstr("table.CSV:1: bad label '1,2'"));

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

}  // namespace
}  // namespace aia
