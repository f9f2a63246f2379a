// echo: the worker returns the query unchanged and the coordinator sends the answer
// back as the next query. A yardstick for the transport (bench/), not an algorithm.
//
// Parameters: AlgorithmSpec.echo (EchoParams): dimension in [1, 1.25e8]; delay_s
// in [0, 3600] makes a slow worker (for tests of time limits and stragglers).
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "algorithms/typed_algorithm.h"
#include "base/interrupt.h"

namespace aia {
namespace {

class Echo : public TypedAlgorithm<Vector, Vector> {
 public:
  std::string message_version() const override {
    return "echo/1: the answer is the query (after the configured delay)";
  }
  Echo(int64_t dimension, double delay_s) : dimension_(dimension), delay_s_(delay_s) {}

  bool queries_match_problem_dimension() const override { return false; }
  bool supports_synchronous() const override { return true; }

 protected:
  absl::StatusOr<Vector> Init(const Problem&) override {
    return Vector::LinSpaced(dimension_, 0.0, 1.0);
  }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
    if (delay_s_ > 0 && !SleepUnlessInterrupted(absl::Seconds(delay_s_))) {
      return absl::CancelledError("the session was cancelled");
    }
    return Vector(q);
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo&,
                                     const Problem&) override {
    if (a.size() != dimension_) {
      return absl::DataLossError(
          absl::StrCat("the echo has dimension ", a.size(), ", not ", dimension_));
    }
    return Vector(a);
  }
  // Synchronous: the first answer of the round goes back to everyone.
  absl::StatusOr<Vector> SyncCentralStep(const std::vector<std::pair<int, ConstVectorRef>>& answers,
                                         const Problem& central) override {
    return CentralStep(answers.front().second, answers.front().first, central);
  }

 private:
  const int64_t dimension_;
  const double delay_s_;
};

absl::StatusOr<std::unique_ptr<Algorithm>> NewEcho(const AlgorithmContext& context) {
  const v1::EchoParams& params = context.spec.echo();
  const int64_t dimension = params.has_dimension() ? params.dimension() : 10;
  if (dimension < 1 || dimension > 125'000'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("algorithm.echo.dimension must be in [1, 125000000], got ", dimension));
  }
  if (!std::isfinite(params.delay_s()) || params.delay_s() < 0 || params.delay_s() > 3600) {
    return absl::InvalidArgumentError(
        absl::StrCat("algorithm.echo.delay_s must be in [0, 3600], got ", params.delay_s()));
  }
  return std::make_unique<Echo>(dimension, params.delay_s());
}

}  // namespace

AIA_REGISTER(AlgorithmRegistry(), "echo", NewEcho);

}  // namespace aia
