// Every problem linked by :all_problems builds from a small synthetic config.
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "problems/problem.h"

namespace aia {
namespace {

TEST(AllProblems, RegistersLeastSquares) {
  EXPECT_THAT(ProblemRegistry().Names(), ::testing::Contains("least_squares"));
}

TEST(AllProblems, EveryRegisteredProblemBuildsFromSyntheticData) {
  for (const std::string& name : ProblemRegistry().Names()) {
    v1::ProblemSpec spec;
    spec.set_name(name);
    spec.mutable_synthetic()->set_rows(8);
    spec.mutable_synthetic()->set_columns(3);
    spec.mutable_synthetic()->set_seed(1);
    absl::StatusOr<std::unique_ptr<Problem>> problem =
        NewProblem(ProblemContext{spec, "/", 1, 2});
    ASSERT_TRUE(problem.ok()) << name << ": " << problem.status();
    EXPECT_EQ((*problem)->rows(), 4) << name;
    EXPECT_FALSE((*problem)->Describe().empty()) << name;
  }
}

}  // namespace
}  // namespace aia
