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
    absl::StatusOr<std::unique_ptr<Problem>> problem = NewProblem(ProblemContext{spec, "/", 1, 2});
    if (name == "two_stage_lp") {  // reads SMPS files only, and says so
      EXPECT_EQ(problem.status().code(), absl::StatusCode::kInvalidArgument) << problem.status();
      EXPECT_THAT(problem.status().message(), ::testing::HasSubstr("smps"));
      continue;
    }
    ASSERT_TRUE(problem.ok()) << name << ": " << problem.status();
    // Decomposable problems hold every piece on every worker (tasks may name any);
    // the others hold their shard: 4 of the 8 rows.
    const bool all_rows = dynamic_cast<DecomposableProblem*>(problem->get()) != nullptr;
    EXPECT_EQ((*problem)->rows(), all_rows ? 8 : 4) << name;
    EXPECT_FALSE((*problem)->Describe().empty()) << name;
  }
}

}  // namespace
}  // namespace aia
