// bench_averaging: the averaging wrapper (algorithms/wrappers/averaging.h) with a
// worker step that costs one pass over the query, so that transport_bench can
// measure what the coordinator holds for W workers at dimension D with nothing
// else of size D around it. (gd_averaging on a least-squares problem of
// dimension D would put W rows of D doubles in the coordinator's central problem
// and make every worker draw all of them.)
//
//   initialize  q0 = D doubles evenly spaced in [0, 1] (params.dimension)
//   worker i    answers a_i = q / 2 + (i + 1); the wrapper sends a_i minus what
//               this worker sent before
//   central     q = the uniform average of the latest a_i
//
// Any problem will do (queries do not match its dimension); transport_bench
// gives it the same small least-squares problem as the echo runs.
#include <memory>
#include <string>

#include "algorithms/wrappers/averaging.h"
#include "bench/averaging_plugin.pb.h"
#include "sdk/plugin.h"

namespace aia::bench {
namespace {

class BenchAveraging : public AveragingAlgorithm {
 public:
  BenchAveraging(int64_t dimension, int worker_index)
      : AveragingAlgorithm(Weights::kUniform), dimension_(dimension), offset_(worker_index + 1) {}

  std::string message_version() const override {
    return "bench_averaging/1: differences of q / 2 + worker index + 1";
  }
  bool queries_match_problem_dimension() const override { return false; }

 protected:
  absl::StatusOr<Vector> Init(const Problem&) override {
    return Vector::LinSpaced(dimension_, 0.0, 1.0);
  }
  absl::StatusOr<Vector> FullAnswer(const ConstVectorRef& q, Problem&) override {
    return Vector((q.array() * 0.5 + offset_).matrix());
  }
  absl::StatusOr<Vector> QueryFrom(const Vector& average, const Problem&) override {
    return average;
  }

 private:
  const int64_t dimension_;
  const double offset_;
};

absl::StatusOr<std::unique_ptr<Algorithm>> NewBenchAveraging(const AveragingBenchParams& params,
                                                             const AlgorithmContext& context) {
  const int64_t dimension = params.dimension() > 0 ? params.dimension() : 1'000'000;
  if (params.dimension() < 0 || dimension > 125'000'000) {
    return ParamsError(PluginKind::kAlgorithm, "dimension",
                       absl::StrCat("must be in [1, 125000000], got ", params.dimension()));
  }
  return std::make_unique<BenchAveraging>(dimension, context.worker_index);
}

}  // namespace
}  // namespace aia::bench

AIA_PLUGIN("bench_averaging", "1.0") {
  plugin.AddAlgorithm<aia::bench::AveragingBenchParams>("bench_averaging",
                                                        aia::bench::NewBenchAveraging);
}
