#include "algorithms/cutting_plane/candidates.h"

#include "gtest/gtest.h"

namespace aia {
namespace {

TEST(CandidateTracker, TriggersAtAlpha) {
  CandidateTracker tracker(0.6, 3);
  tracker.Open(1, 10);
  EXPECT_EQ(tracker.Threshold(10), 6);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(tracker.TaskBack(1)) << "task " << i;
  EXPECT_TRUE(tracker.TaskBack(1));                               // the 6th of 10
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(tracker.TaskBack(1));  // triggers once only
  EXPECT_TRUE(tracker.Complete(1));
}

TEST(CandidateTracker, AlphaOneIsTheSynchronousMethod) {
  CandidateTracker tracker(1.0, 1);
  tracker.Open(1, 4);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(tracker.TaskBack(1));
  EXPECT_TRUE(tracker.TaskBack(1));
  EXPECT_EQ(tracker.open(), 0);
}

TEST(CandidateTracker, BasketBoundsOpenCandidates) {
  CandidateTracker tracker(0.5, 2);
  tracker.Open(1, 4);
  tracker.TaskBack(1);
  EXPECT_TRUE(tracker.TaskBack(1));  // 2 of 4: candidate 2 opens
  tracker.Open(2, 4);
  tracker.TaskBack(2);
  // Candidate 2 reaches alpha, but 1 and 2 are both open: the basket of 2 is full.
  EXPECT_FALSE(tracker.TaskBack(2));
  EXPECT_EQ(tracker.open(), 2);
  EXPECT_FALSE(tracker.TaskBack(1));  // 3 of 4
  // Candidate 1 completes: a place frees and candidate 2's waiting trigger fires.
  EXPECT_TRUE(tracker.TaskBack(1));
  EXPECT_EQ(tracker.open(), 1);
  tracker.Open(3, 4);
  EXPECT_EQ(tracker.open(), 2);
}

TEST(CandidateTracker, ThresholdRoundsUpButToleratesRounding) {
  CandidateTracker tracker(0.3, 1);
  EXPECT_EQ(tracker.Threshold(10), 3);  // 0.3 * 10 = 3.0000000000000004
  EXPECT_EQ(tracker.Threshold(7), 3);   // 2.1 -> 3
  EXPECT_EQ(tracker.Threshold(1), 1);
}

}  // namespace
}  // namespace aia
