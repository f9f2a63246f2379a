#include "base/write_queue.h"

#include <string>

#include "gtest/gtest.h"

namespace aia {
namespace {

TEST(WriteQueue, OneWriteInFlightInOrder) {
  WriteQueue<std::string> queue;
  const std::string* first = queue.Push("a");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(*first, "a");
  EXPECT_EQ(queue.Push("b"), nullptr);  // "a" is being written
  EXPECT_EQ(queue.Push("c"), nullptr);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(*first, "a");  // still valid while in flight
  const std::string* next = queue.Done();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(*next, "b");
  EXPECT_EQ(*queue.Done(), "c");
  EXPECT_EQ(queue.Done(), nullptr);
  EXPECT_FALSE(queue.in_flight());
  EXPECT_TRUE(queue.empty());
  // Idle again: the next push starts a write at once.
  EXPECT_NE(queue.Push("d"), nullptr);
}

TEST(WriteQueue, ClearKeepsTheWriteInFlight) {
  WriteQueue<std::string> queue;
  const std::string* first = queue.Push("a");
  queue.Push("b");
  queue.Push("c");
  queue.Clear();
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_EQ(*first, "a");
  EXPECT_EQ(queue.Done(), nullptr);
  queue.Push("d");
  queue.Done();
  queue.Clear();
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace aia
