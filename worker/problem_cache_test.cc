#include "worker/problem_cache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "problems/problem.h"
#include "proto/problems.pb.h"

namespace aia {
namespace {

// A problem that only knows its name, to tell cached instances apart.
class FakeProblem : public Problem {
 public:
  FakeProblem(std::string name, int64_t bytes) : name_(std::move(name)), bytes_(bytes) {}
  int64_t dimension() const override { return 1; }
  int64_t rows() const override { return 0; }
  std::string Describe() const override { return name_; }
  int64_t memory_bytes() const override { return bytes_; }

 private:
  std::string name_;
  int64_t bytes_;
};

std::unique_ptr<Problem> Fake(const std::string& name, int64_t bytes = 0) {
  return std::make_unique<FakeProblem>(name, bytes);
}

// A fresh directory under the test's temporary directory.
std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/cache_test.XXXXXX";
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr) << pattern;
  return pattern;
}

void WriteFile(const std::string& path, const std::string& contents) {
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(std::fwrite(contents.data(), 1, contents.size(), file), contents.size());
  ASSERT_EQ(std::fclose(file), 0);
}

v1::ProblemSpec SyntheticSpec(uint64_t seed) {
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_synthetic()->set_rows(10);
  spec.mutable_synthetic()->set_columns(3);
  spec.mutable_synthetic()->set_seed(seed);
  return spec;
}

TEST(ProblemCache, TakeReturnsWhatWasPutOnce) {
  ProblemCache cache(4);
  EXPECT_EQ(cache.Take("a"), nullptr);
  cache.Put("a", Fake("first"));
  EXPECT_EQ(cache.size(), 1);
  EXPECT_EQ(cache.Take("b"), nullptr);
  std::unique_ptr<Problem> taken = cache.Take("a");
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->Describe(), "first");
  // Taking checks the problem out: a second session gets nothing.
  EXPECT_EQ(cache.Take("a"), nullptr);
  EXPECT_EQ(cache.size(), 0);
}

TEST(ProblemCache, KeepsTwoInstancesUnderOneKey) {
  ProblemCache cache(4);
  cache.Put("a", Fake("one"));
  cache.Put("a", Fake("two"));
  EXPECT_EQ(cache.size(), 2);
  std::unique_ptr<Problem> first = cache.Take("a");
  std::unique_ptr<Problem> second = cache.Take("a");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->Describe(), second->Describe());
  EXPECT_EQ(cache.Take("a"), nullptr);
}

TEST(ProblemCache, EvictsLeastRecentlyReturned) {
  ProblemCache cache(2);
  cache.Put("a", Fake("a"));
  cache.Put("b", Fake("b"));
  // Using "a" again makes "b" the least recently returned.
  std::unique_ptr<Problem> a = cache.Take("a");
  ASSERT_NE(a, nullptr);
  cache.Put("a", std::move(a));
  cache.Put("c", Fake("c"));
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(cache.Take("b"), nullptr);
  std::unique_ptr<Problem> c = cache.Take("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Describe(), "c");
  ASSERT_NE(cache.Take("a"), nullptr);
}

TEST(ProblemCache, BoundsTheMemoryItHolds) {
  ProblemCache cache(8, /*max_bytes=*/1000);
  cache.Put("a", Fake("a", 400));
  cache.Put("b", Fake("b", 400));
  EXPECT_EQ(cache.bytes(), 800);
  // A third would make 1200 bytes: the least recently returned goes.
  cache.Put("c", Fake("c", 400));
  EXPECT_EQ(cache.size(), 2);
  EXPECT_EQ(cache.bytes(), 800);
  EXPECT_EQ(cache.Take("a"), nullptr);
  // One larger than the whole budget is not kept, and evicts nothing.
  cache.Put("huge", Fake("huge", 1001));
  EXPECT_EQ(cache.Take("huge"), nullptr);
  EXPECT_EQ(cache.size(), 2);
  std::unique_ptr<Problem> b = cache.Take("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(cache.bytes(), 400);
}

TEST(ProblemCache, ZeroCapacityKeepsNothing) {
  ProblemCache cache(0);
  cache.Put("a", Fake("a"));
  EXPECT_EQ(cache.size(), 0);
  EXPECT_EQ(cache.Take("a"), nullptr);
}

TEST(ProblemCache, IgnoresNullProblems) {
  ProblemCache cache(2);
  cache.Put("a", nullptr);
  EXPECT_EQ(cache.size(), 0);
}

TEST(ProblemCache, KeyDependsOnShardSpecAndDataRoot) {
  const v1::ProblemSpec spec = SyntheticSpec(1);
  const std::string key = ProblemCache::Key(spec, "/data", 1, 2);
  EXPECT_EQ(ProblemCache::Key(spec, "/data", 1, 2), key);
  EXPECT_NE(ProblemCache::Key(spec, "/data", 0, 2), key);
  EXPECT_NE(ProblemCache::Key(spec, "/data", 1, 3), key);
  EXPECT_NE(ProblemCache::Key(spec, "/other", 1, 2), key);
  EXPECT_NE(ProblemCache::Key(SyntheticSpec(2), "/data", 1, 2), key);
  v1::ProblemSpec strided = spec;
  strided.set_sharding(v1::ProblemSpec::STRIDED);
  EXPECT_NE(ProblemCache::Key(strided, "/data", 1, 2), key);
  v1::ProblemSpec intercept = spec;
  intercept.mutable_least_squares()->set_intercept(true);
  EXPECT_NE(ProblemCache::Key(intercept, "/data", 1, 2), key);
}

TEST(ProblemCache, KeyChangesWithTheDataFile) {
  const std::string root = MakeTempDir();
  WriteFile(root + "/d.libsvm", "1 1:0.5\n");
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_file()->set_path("d.libsvm");

  // Pin the modification time so the only change below is the one made.
  auto set_mtime = [&](time_t seconds) {
    struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (root + "/d.libsvm").c_str(), times, 0), 0);
  };
  set_mtime(1000000000);
  const std::string key = ProblemCache::Key(spec, root, 0, 1);
  EXPECT_EQ(ProblemCache::Key(spec, root, 0, 1), key);

  // Same size, new modification time.
  set_mtime(1000000001);
  const std::string touched = ProblemCache::Key(spec, root, 0, 1);
  EXPECT_NE(touched, key);

  // New size, the old modification time.
  WriteFile(root + "/d.libsvm", "1 1:0.5\n2 1:0.25\n");
  set_mtime(1000000001);
  const std::string grown = ProblemCache::Key(spec, root, 0, 1);
  EXPECT_NE(grown, touched);
  EXPECT_NE(grown, key);

  // A missing file gets a key without a stamp, different from an existing one.
  ASSERT_EQ(unlink((root + "/d.libsvm").c_str()), 0);
  EXPECT_NE(ProblemCache::Key(spec, root, 0, 1), grown);
}

}  // namespace
}  // namespace aia
