// The Algorithm interface: the three steps a user writes, and the registry that
// config names pick plugins from.
//
//   step        runs on       input                         output
//   Initialize  coordinator   the central problem           q0
//   Answer      each worker   a query, the worker's shard   an answer
//   Update      coordinator   one answer, its worker        that worker's next query
//
// Queries and answers cross the wire as bytes in an encoding each plugin declares
// (`query_type`, `answer_type`): "f64le" for a dense vector of little-endian
// doubles, or a protobuf message's full name. Plugins normally derive from
// TypedAlgorithm<Q, A> (typed_algorithm.h), which does the encoding.
//
// Error convention: Update returns DataLoss when the answer bytes are malformed
// (the sending worker is at fault); any other error fails the run.
//
// Thread safety: an instance is used by one thread at a time. The coordinator and
// each worker session create their own instance from the same AlgorithmSpec.
#ifndef AIA_ALGORITHMS_ALGORITHM_H_
#define AIA_ALGORITHMS_ALGORITHM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/registry.h"
#include "problems/problem.h"
#include "proto/algorithms.pb.h"

namespace aia {

// The encoding name of a dense vector of little-endian float64.
inline constexpr absl::string_view kDenseVectorType = "f64le";

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // Payload encodings; checked between coordinator and worker at Setup.
  virtual std::string query_type() const = 0;
  virtual std::string answer_type() const = 0;

  // Coordinator: the first query, sent to every worker.
  virtual absl::StatusOr<std::string> Initialize(const Problem& central) = 0;
  // Coordinator: applies `answer` from `worker` (0-based); returns the next query
  // for that worker.
  virtual absl::StatusOr<std::string> Update(absl::string_view answer, int worker,
                                             const Problem& central) = 0;
  // Worker: the answer to `query` on this worker's problem.
  virtual absl::StatusOr<std::string> Answer(absl::string_view query, Problem& local) = 0;
};

// What an instance is built for.
struct AlgorithmContext {
  const v1::AlgorithmSpec& spec;
  // Seed of this instance's random choices.
  uint64_t seed = 0;
  // The worker this instance serves, or -1 on the coordinator.
  int worker_index = -1;
  int worker_count = 1;
};

using AlgorithmFactory =
    std::function<absl::StatusOr<std::unique_ptr<Algorithm>>(const AlgorithmContext&)>;

// Plugins register here: AIA_REGISTER(AlgorithmRegistry(), "sgd", NewSgd).
Registry<AlgorithmFactory>& AlgorithmRegistry();

// Builds the plugin spec.name names. InvalidArgument for an unknown name (listing
// the known ones), parameters of another plugin, or bad parameter values.
absl::StatusOr<std::unique_ptr<Algorithm>> NewAlgorithm(const AlgorithmContext& context);

}  // namespace aia

#endif  // AIA_ALGORITHMS_ALGORITHM_H_
