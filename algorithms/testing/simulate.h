// Test support: runs an algorithm on a problem in one process, the way the
// engine does but with no gRPC and no clock, for plugin unit tests and for
// checking that the shipped examples converge.
//
//   asynchronous  each step, one worker drawn at random (seeded) answers the
//                 last query it was sent; the coordinator's Update gives it the
//                 next one (a random interleaving: stale answers included, with
//                 their staleness in the AnswerInfo, as a run counts it)
//   synchronous   each step, every worker answers the current query; one
//                 UpdateSynchronous gives the next query for all
//
// The coordinator instance gets context seed `seed`, worker i gets seed + i + 1
// and its own problem instance (shard i of `workers`), as in a run.
//
// Example:
//   SimulateOptions options;
//   options.steps = 1000;
//   ASSIGN_OR_RETURN(Simulation run, Simulate(config.algorithm(), config.problem(), options));
//   double f = run.coordinator->FinalReport(*run.central)["objective"];
//
// Thread safety: Simulate keeps no state.
#ifndef AIA_ALGORITHMS_TESTING_SIMULATE_H_
#define AIA_ALGORITHMS_TESTING_SIMULATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"
#include "base/eigen.h"
#include "problems/least_squares/least_squares.h"
#include "problems/problem.h"

namespace aia {

struct SimulateOptions {
  int workers = 4;
  // Answers (asynchronous) or rounds (synchronous).
  int64_t steps = 100;
  bool synchronous = false;
  uint64_t seed = 0;
  std::string data_root = "/";
  // Called after every central step with the step (1-based) and the new query.
  std::function<void(int64_t step, const Vector& query)> observe;
};

struct Simulation {
  std::unique_ptr<Problem> central;
  std::unique_ptr<Algorithm> coordinator;
  Vector query;  // the last central query
};

// Runs the simulation; the first error of any step (as the step returned it).
// Queries must be dense vectors ("f64le").
absl::StatusOr<Simulation> Simulate(const v1::AlgorithmSpec& algorithm,
                                    const v1::ProblemSpec& problem, const SimulateOptions& options);

// min_x 1/2 ||A x - b||^2 over `problem`'s rows, and the minimizer (normal
// equations by LDLT; A'A must be positive definite).
struct LeastSquaresSolution {
  Vector x;
  double objective = 0;
};
LeastSquaresSolution SolveLeastSquares(const LeastSquares& problem);

// The largest eigenvalue of A'A (the gradient's Lipschitz constant).
double LargestEigenvalue(const LeastSquares& problem);

}  // namespace aia

#endif  // AIA_ALGORITHMS_TESTING_SIMULATE_H_
