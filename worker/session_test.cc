#include "worker/session.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace aia {
namespace {

TEST(LomaxDelay, RepeatsForASeed) {
  uint64_t a = 42, b = 42, c = 43;
  for (int i = 0; i < 100; ++i) {
    const double x = LomaxDelay(a, 2.5, 0.01);
    EXPECT_EQ(x, LomaxDelay(b, 2.5, 0.01));
    EXPECT_GE(x, 0);
  }
  EXPECT_NE(LomaxDelay(a, 2.5, 0.01), LomaxDelay(c, 2.5, 0.01));
}

TEST(LomaxDelay, HasTheLomaxMeanAndTail) {
  uint64_t state = 7;
  const double shape = 3, scale = 0.02;
  const int n = 200000;
  double sum = 0;
  int beyond = 0;
  for (int i = 0; i < n; ++i) {
    const double x = LomaxDelay(state, shape, scale);
    sum += x;
    beyond += x > 0.1;
  }
  EXPECT_NEAR(sum / n, scale / (shape - 1), 0.05 * scale / (shape - 1));  // mean 0.01
  const double tail = std::pow(1 + 0.1 / scale, -shape);                  // P(> 0.1) = 1/216
  EXPECT_NEAR(static_cast<double>(beyond) / n, tail, 0.15 * tail);
}

TEST(LomaxDelay, OffWithoutAModel) {
  uint64_t state = 1;
  EXPECT_EQ(LomaxDelay(state, 0, 0.5), 0);
  EXPECT_EQ(LomaxDelay(state, 2, 0), 0);
}

}  // namespace
}  // namespace aia
