#include "coordinator/run_state.h"

#include <vector>

#include "gtest/gtest.h"

namespace aia {
namespace {

RunState::StepInfo At(double time_s, std::optional<double> precision = std::nullopt) {
  RunState::StepInfo info;
  info.time_s = time_s;
  info.precision = precision;
  return info;
}

v1::StopSpec StopAtIteration(int64_t n) {
  v1::StopSpec stop;
  stop.set_iteration(n);
  return stop;
}

// Steps workers in the given order at 1 s apart; returns the iterations saved.
std::vector<int64_t> SavedIterations(RunState& state, const std::vector<int>& order) {
  std::vector<int64_t> saved;
  double t = 0;
  for (int worker : order) {
    RunState::Decision d = state.Step(worker, At(t += 1));
    if (d.save) saved.push_back(state.iteration());
    if (d.stop) break;
  }
  return saved;
}

TEST(RunState, CountsIterationsAnswersAndEpochs) {
  RunState state(3, StopAtIteration(100), v1::SaveSpec());
  state.Step(0, At(0.1));
  state.Step(0, At(0.2));
  state.Step(1, At(0.3));
  EXPECT_EQ(state.iteration(), 3);
  EXPECT_EQ(state.epoch(), 0);  // worker 2 has not answered
  state.Step(2, At(0.4));
  EXPECT_EQ(state.epoch(), 1);
  EXPECT_EQ(state.answer_count(), (std::vector<int64_t>{2, 1, 1}));
}

TEST(RunState, StopsAtExactlyNIterations) {
  RunState state(2, StopAtIteration(5), v1::SaveSpec());
  int steps = 0;
  for (int i = 0; i < 100; ++i) {
    ++steps;
    if (state.Step(i % 2, At(i)).stop) break;
  }
  EXPECT_EQ(steps, 5);
  EXPECT_EQ(state.iteration(), 5);
}

TEST(RunState, SavesEveryKIterationsAndTheFinalStep) {
  v1::SaveSpec save;
  save.set_iteration(3);
  RunState state(2, StopAtIteration(10), save);
  EXPECT_EQ(SavedIterations(state, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}),
            (std::vector<int64_t>{3, 6, 9, 10}));
}

TEST(RunState, FinalStepSavedOnceWhenItIsAMultiple) {
  v1::SaveSpec save;
  save.set_iteration(5);
  RunState state(1, StopAtIteration(10), save);
  EXPECT_EQ(SavedIterations(state, std::vector<int>(20, 0)), (std::vector<int64_t>{5, 10}));
}

TEST(RunState, SavesOncePerEpochBoundary) {
  v1::SaveSpec save;
  save.set_epoch(1);
  RunState state(2, StopAtIteration(9), save);
  // Worker 0 answers three times before worker 1 answers once: the epoch reaches 1
  // at iteration 4 (saved once, not at iterations 1-3 too), 2 at 5, 3 at 6, stays 3
  // at 7, reaches 4 at 8; iteration 9 is the final step.
  EXPECT_EQ(SavedIterations(state, {0, 0, 0, 1, 1, 1, 0, 1, 1}),
            (std::vector<int64_t>{4, 5, 6, 8, 9}));
}

TEST(RunState, SavesEveryTwoEpochs) {
  v1::SaveSpec save;
  save.set_epoch(2);
  RunState state(2, StopAtIteration(8), save);
  EXPECT_EQ(SavedIterations(state, {0, 1, 0, 1, 0, 1, 0, 1}), (std::vector<int64_t>{4, 8}));
}

TEST(RunState, SavesByTime) {
  v1::SaveSpec save;
  save.set_time_s(2.5);
  RunState state(1, StopAtIteration(100), save);
  std::vector<double> saved_at;
  for (double t : {0.5, 1.0, 2.4, 2.6, 3.0, 7.9, 8.0}) {
    if (state.Step(0, At(t)).save) saved_at.push_back(t);
  }
  // 2.6 passes 2.5; 7.9 passes 5.0 and 7.5 (saved once); 8.0 is before 10.
  EXPECT_EQ(saved_at, (std::vector<double>{2.6, 7.9}));
}

TEST(RunState, StopsOnEpoch) {
  v1::StopSpec stop;
  stop.set_epoch(2);
  RunState state(2, stop, v1::SaveSpec());
  EXPECT_FALSE(state.Step(0, At(1)).stop);
  EXPECT_FALSE(state.Step(1, At(2)).stop);
  EXPECT_FALSE(state.Step(1, At(3)).stop);
  RunState::Decision d = state.Step(0, At(4));
  ASSERT_TRUE(d.stop.has_value());
  EXPECT_EQ(*d.stop, "epoch");
  EXPECT_TRUE(d.save);
}

TEST(RunState, StopsOnTimeWithAndWithoutSteps) {
  v1::StopSpec stop;
  stop.set_time_s(10);
  RunState state(1, stop, v1::SaveSpec());
  EXPECT_FALSE(state.TimeIsUp(9.99));
  EXPECT_TRUE(state.TimeIsUp(10));
  EXPECT_EQ(state.time_limit_s(), 10);
  EXPECT_FALSE(state.Step(0, At(5)).stop);
  EXPECT_EQ(state.Step(0, At(10.5)).stop.value_or(""), "time_s");
}

TEST(RunState, StopsOnPrecision) {
  v1::StopSpec stop;
  stop.set_precision(1e-3);
  RunState state(1, stop, v1::SaveSpec());
  EXPECT_FALSE(state.Step(0, At(1, 0.5)).stop);
  EXPECT_FALSE(state.Step(0, At(2)).stop);
  EXPECT_EQ(state.Step(0, At(3, 1e-3)).stop.value_or(""), "precision");
}

TEST(RunState, LostWorkersLeaveTheEpoch) {
  RunState state(3, StopAtIteration(100), v1::SaveSpec());
  state.Step(0, At(1));
  state.Step(1, At(2));
  EXPECT_EQ(state.epoch(), 0);
  state.MarkLost(2);
  EXPECT_EQ(state.epoch(), 1);
  state.Step(0, At(3));
  state.Step(1, At(4));
  EXPECT_EQ(state.epoch(), 2);
}

TEST(RunState, RejoinedWorkerCountsFromTheCurrentEpoch) {
  RunState state(2, StopAtIteration(100), v1::SaveSpec());
  state.Step(0, At(1));
  state.Step(1, At(2));
  state.MarkLost(1);
  for (int i = 0; i < 5; ++i) state.Step(0, At(3 + i));
  EXPECT_EQ(state.epoch(), 6);  // worker 0 alone makes the epochs
  state.MarkRejoined(1);
  EXPECT_EQ(state.epoch(), 6);  // never goes back
  state.Step(0, At(10));
  EXPECT_EQ(state.epoch(), 6);  // waits for the rejoined worker
  state.Step(1, At(11));
  EXPECT_EQ(state.epoch(), 7);
  EXPECT_EQ(state.answer_count(), (std::vector<int64_t>{7, 2}));
}

// Elastic runs (docs/semantics.md): a slot never filled does not hold the epoch
// back; once filled it counts from the epoch at which it filled, like a rejoin.
TEST(RunState, SlotsFilledLateCountFromTheEpochAtTheirFill) {
  RunState state(4, StopAtIteration(100), {});
  state.MarkLost(2);  // vacant at the start
  state.MarkLost(3);
  for (int i = 0; i < 3; ++i) {
    state.Step(0, At(i));
    state.Step(1, At(i));
  }
  EXPECT_EQ(state.epoch(), 3);  // slots 0 and 1 alone make the epochs
  state.MarkRejoined(2);        // filled at epoch 3
  EXPECT_EQ(state.epoch(), 3);
  state.Step(0, At(4));
  state.Step(1, At(4));
  EXPECT_EQ(state.epoch(), 3);  // waits for slot 2's first answer
  state.Step(2, At(5));
  EXPECT_EQ(state.epoch(), 4);
  state.MarkRejoined(3);  // filled at epoch 4: needs one answer for epoch 5
  state.Step(0, At(6));
  state.Step(1, At(6));
  state.Step(2, At(6));
  EXPECT_EQ(state.epoch(), 4);
  state.Step(3, At(7));
  EXPECT_EQ(state.epoch(), 5);
  EXPECT_EQ(state.answer_count(), (std::vector<int64_t>{5, 5, 2, 1}));
}

TEST(RunState, RoundsCountIterationsAndEpochsTogether) {
  v1::SaveSpec save;
  save.set_epoch(2);
  RunState state(3, StopAtIteration(4), save);
  EXPECT_FALSE(state.Round({0, 1, 2}, At(1)).save);
  EXPECT_TRUE(state.Round({0, 2}, At(2)).save);  // worker 1 dropped from round 2
  EXPECT_EQ(state.iteration(), 2);
  EXPECT_EQ(state.epoch(), 2);
  EXPECT_EQ(state.answer_count(), (std::vector<int64_t>{2, 1, 2}));
  state.Round({0, 1, 2}, At(3));
  RunState::Decision last = state.Round({0, 1, 2}, At(4));
  EXPECT_EQ(last.stop.value_or(""), "iteration");
  EXPECT_EQ(state.epoch(), 4);
}

TEST(RunState, AlgorithmHooksStopAndSave) {
  RunState state(1, StopAtIteration(100), v1::SaveSpec());
  RunState::StepInfo info = At(1);
  info.algorithm_save = true;
  RunState::Decision saved = state.Step(0, info);
  EXPECT_TRUE(saved.save);
  EXPECT_FALSE(saved.stop.has_value());
  info.algorithm_save = false;
  info.algorithm_stop = true;
  RunState::Decision stopped = state.Step(0, info);
  EXPECT_EQ(stopped.stop.value_or(""), "algorithm");
  EXPECT_TRUE(stopped.save);
}

}  // namespace
}  // namespace aia
