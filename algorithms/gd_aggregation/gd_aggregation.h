// gd_aggregation: gradient descent on the aggregate of the workers' latest shard
// gradients (ToBeAggregatedGD in the docs of AsynchronousIterativeAlgorithms.jl).
//
//   initialize  q0 = 0 (the central problem's dimension)
//   worker      g_i = grad f_i(q), the gradient of its whole shard at q
//   central     q <- q - stepsize * sum_i g_i over the latest g_i of the live
//               workers (AggregationAlgorithm: asynchronous and synchronous)
//
// With every worker answering at one q this is full gradient descent on
// f = sum_i f_i; asynchronously some g_i are stale. A lost worker's gradient
// leaves the sum; a rejoined worker's enters it again with its next answer.
//
// Hooks: saved value "objective" (f(q) over the central problem, computed when a
// record is saved), progress value "objective" (the last one computed), final
// report {"objective": f(q_final)}.
//
// Needs a FiniteSumProblem (for example least_squares): FailedPrecondition
// otherwise; a query of the wrong dimension is InvalidArgument on the worker.
//
// Example config:
//   algorithm { name: "gd_aggregation" gd_aggregation { stepsize: 0.001 } }
#ifndef AIA_ALGORITHMS_GD_AGGREGATION_GD_AGGREGATION_H_
#define AIA_ALGORITHMS_GD_AGGREGATION_GD_AGGREGATION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"

namespace aia {

// Parameters: AlgorithmSpec.gd_aggregation (GdAggregationParams); stepsize
// (default 0.001) must be finite and > 0.
absl::StatusOr<std::unique_ptr<Algorithm>> NewGdAggregation(const AlgorithmContext& context);

}  // namespace aia

#endif  // AIA_ALGORITHMS_GD_AGGREGATION_GD_AGGREGATION_H_
