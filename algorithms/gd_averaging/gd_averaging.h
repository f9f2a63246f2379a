// gd_averaging: gradient descent by averaging (ToBeAveragedGD in the docs of
// AsynchronousIterativeAlgorithms.jl).
//
//   initialize  q0 = 0 (the central problem's dimension)
//   worker      x_i = q - stepsize * grad f_i(q) / rows_i, a gradient step on
//               the mean of its shard's rows
//   central     q = the weighted average of the latest x_i (weights: rows_i, or
//               1 with uniform_weights), kept by AveragingAlgorithm in
//               O(dimension) memory from the workers' answer differences
//
// With every worker answering at one q and weights by rows this is gradient
// descent on f / rows with step `stepsize`. The coordinator keeps no per-worker
// copy, so a lost worker's last x_i stays in the average and a restarted worker
// cannot rejoin (supports_rejoin() is false; see wrappers/averaging.h).
//
// Hooks: saved value "objective" (f(q) over the central problem, computed when a
// record is saved), progress value "objective" (the last one computed), final
// report {"objective": f(q_final)}.
//
// Needs a FiniteSumProblem (for example least_squares): FailedPrecondition
// otherwise; a query of the wrong dimension is InvalidArgument on the worker.
//
// Example config:
//   algorithm { name: "gd_averaging" gd_averaging { stepsize: 0.1 } }
#ifndef AIA_ALGORITHMS_GD_AVERAGING_GD_AVERAGING_H_
#define AIA_ALGORITHMS_GD_AVERAGING_GD_AVERAGING_H_

#include <memory>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"

namespace aia {

// Parameters: AlgorithmSpec.gd_averaging (GdAveragingParams); stepsize (default
// 0.1) must be finite and > 0.
absl::StatusOr<std::unique_ptr<Algorithm>> NewGdAveraging(const AlgorithmContext& context);

}  // namespace aia

#endif  // AIA_ALGORITHMS_GD_AVERAGING_GD_AVERAGING_H_
