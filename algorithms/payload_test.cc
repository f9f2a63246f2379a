// A Payload holds its bytes without copying them: a string is moved in, a vector
// adopted; TypedAlgorithm hands the engine the very vector a step returned.
#include "algorithms/payload.h"

#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "algorithms/typed_algorithm.h"
#include "gtest/gtest.h"
#include "problems/problem.h"

namespace aia {
namespace {

TEST(Payload, TakesAStringsBytesWithoutACopy) {
  std::string bytes(1 << 16, 'x');
  const char* memory = bytes.data();
  const Payload payload(std::move(bytes));
  EXPECT_EQ(payload.data(), memory);
  EXPECT_EQ(payload.size(), size_t{1} << 16);
  const Payload copy = payload;  // copies share the bytes
  EXPECT_EQ(copy.data(), memory);
  EXPECT_EQ(copy.owner(), payload.owner());
}

TEST(Payload, EmptyHasNoOwner) {
  EXPECT_TRUE(Payload().empty());
  EXPECT_TRUE(Payload(std::string()).empty());
  EXPECT_EQ(Payload(std::string()).owner(), nullptr);
  EXPECT_TRUE(Payload::FromVector(Vector()).empty());
}

TEST(Payload, AdoptsAVectorsMemoryAsLittleEndianDoubles) {
  Vector v(3);
  v << 1.5, -2.0, 1e300;
  const double* memory = v.data();
  const Payload payload = Payload::FromVector(std::move(v));
  EXPECT_EQ(static_cast<const void*>(payload.data()), static_cast<const void*>(memory));
  ASSERT_EQ(payload.size(), 3 * sizeof(double));
  double values[3];
  std::memcpy(values, payload.data(), sizeof(values));
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], -2.0);
  EXPECT_EQ(values[2], 1e300);
  // The view lives as long as a copy of the payload.
  std::weak_ptr<const void> weak = payload.owner();
  EXPECT_FALSE(weak.expired());
}

TEST(Payload, PrintsAnEscapedPrefix) {
  std::ostringstream out;
  out << Payload(std::string(100, 'a') + "\n");
  EXPECT_EQ(out.str(), "\"" + std::string(64, 'a') + "\"... (101 bytes)");
  std::ostringstream short_out;
  short_out << Payload("a\nb");
  EXPECT_EQ(short_out.str(), "\"a\\nb\"");
}

class NoProblem : public Problem {
 public:
  int64_t dimension() const override { return 4; }
  int64_t rows() const override { return 0; }
  std::string Describe() const override { return "none"; }
};

// Remembers where the vectors its steps return live.
class Remembering : public TypedAlgorithm<Vector, Vector> {
 public:
  const double* last = nullptr;

 protected:
  absl::StatusOr<Vector> Init(const Problem&) override { return Keep(Vector::Ones(1 << 14)); }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    return Keep(2 * q);
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo&,
                                     const Problem&) override {
    return Keep(a / 2);
  }

 private:
  Vector Keep(Vector v) {
    last = v.data();
    return v;
  }
};

TEST(TypedAlgorithm, SendsTheVectorsItsStepsReturnNotCopies) {
  Remembering algorithm;
  NoProblem problem;
  absl::StatusOr<Payload> q0 = algorithm.Initialize(problem);
  ASSERT_TRUE(q0.ok()) << q0.status();
  EXPECT_EQ(static_cast<const void*>(q0->data()), static_cast<const void*>(algorithm.last));
  absl::StatusOr<Payload> answer = algorithm.Answer(*q0, problem);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(static_cast<const void*>(answer->data()), static_cast<const void*>(algorithm.last));
  absl::StatusOr<Payload> q1 = algorithm.Update(*answer, AnswerInfo(0), problem);
  ASSERT_TRUE(q1.ok()) << q1.status();
  EXPECT_EQ(static_cast<const void*>(q1->data()), static_cast<const void*>(algorithm.last));
  absl::StatusOr<ConstVectorRef> decoded = Codec<Vector>::Decode(*q1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, Vector::Ones(1 << 14));
}

}  // namespace
}  // namespace aia
