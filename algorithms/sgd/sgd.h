// sgd: asynchronous stochastic gradient descent, the quick start of
// AsynchronousIterativeAlgorithms.jl.
//
//   initialize  q0 ~ U[0, 1)^n (or zeros with zero_start)
//   worker      a = stepsize * grad f_i(q) for one uniformly random row i of its shard
//   central     q <- q - a / (1 + staleness_damping * s), s the answer's staleness
//               (AnswerInfo; damping 0, the default, gives q - a), sent back to
//               the worker that answered
//   synchronous q <- q - mean of the round's answers (a minibatch step of one row
//               a worker), sent to all
//
// Needs a FiniteSumProblem (for example least_squares).
#ifndef AIA_ALGORITHMS_SGD_SGD_H_
#define AIA_ALGORITHMS_SGD_SGD_H_

#include <memory>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"

namespace aia {

// Parameters: AlgorithmSpec.sgd (SgdParams); stepsize must be finite and > 0,
// staleness_damping finite and >= 0.
absl::StatusOr<std::unique_ptr<Algorithm>> NewSgd(const AlgorithmContext& context);

}  // namespace aia

#endif  // AIA_ALGORITHMS_SGD_SGD_H_
