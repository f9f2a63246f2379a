// The Problem interface: a worker's share of the data (or, on the coordinator, all
// of it) and the functions algorithms evaluate on it.
//
// A problem is built from a ProblemSpec by the factory registered under its name:
//
//   ProblemContext context{spec, "/srv/data", /*worker_index=*/2, /*worker_count=*/4};
//   ASSIGN_OR_RETURN(std::unique_ptr<Problem> problem, NewProblem(context));
//
// Algorithms ask for the capability they need with dynamic_cast (FiniteSumProblem
// for gradient methods) and answer FailedPrecondition when it is missing.
//
// Thread safety: const methods may be called from several threads at once.
#ifndef AIA_PROBLEMS_PROBLEM_H_
#define AIA_PROBLEMS_PROBLEM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "Eigen/SparseCore"
#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "base/registry.h"
#include "proto/problems.pb.h"

namespace aia {

class Problem {
 public:
  virtual ~Problem() = default;

  // Length of the decision vector x.
  virtual int64_t dimension() const = 0;
  // Number of data rows this instance holds (its shard); 0 if not row-based.
  virtual int64_t rows() const = 0;
  // One line for logs: "least_squares: rows 135..269 of 270 from heart_scale".
  virtual std::string Describe() const = 0;
  // A digest of the data this instance holds ("fnv1a64:" and 16 hex digits), the
  // same on every machine for the same data; "" if the problem has none. Workers
  // report it at Ready.
  virtual std::string digest() const { return ""; }
  // The digest() that instance `index` of `count` of the same spec would have,
  // if this instance can tell (the coordinator's central problem holds every
  // row); "" if it cannot.
  virtual std::string ShardDigest(int index, int count) const { return ""; }
  // About how many bytes of memory the instance holds (its data, its solver's
  // model); 0 if the problem does not say. The worker's cache bounds its total.
  virtual int64_t memory_bytes() const { return 0; }
};

// f(x) = sum over this instance's rows i of f_i(x), with f_i smooth.
class FiniteSumProblem : public Problem {
 public:
  // f(x) over the rows held. x.size() == dimension().
  virtual double Objective(const Eigen::Ref<const Vector>& x) const = 0;
  // The gradient of f at x, written to `gradient` (resized to dimension()).
  virtual void Gradient(const Eigen::Ref<const Vector>& x, Vector& gradient) const = 0;
  // The gradient of f_i at x for local row i in [0, rows()).
  virtual void RowGradient(const Eigen::Ref<const Vector>& x, int64_t i,
                           Vector& gradient) const = 0;
};

// The first-stage (or only) constraints of a decomposable problem:
//   min c'x  s.t.  row_lower <= A x <= row_upper,  lower <= x <= upper.
// Infinite bounds are +-infinity. A is sparse, by rows.
struct LinearConstraints {
  Vector c;
  Eigen::SparseMatrix<double, Eigen::RowMajor> a;
  Vector row_lower, row_upper;
  Vector lower, upper;
};

// What a piece of a decomposable function says at a point x.
struct PieceEvaluation {
  // False when x is outside the piece's domain (an infeasible recourse LP); then
  // `subgradient` and `value` describe a feasibility cut g'x >= r with g =
  // subgradient, r = value, which x violates.
  bool feasible = true;
  // f_j(x) (weighted by the piece's probability where that applies).
  double value = 0;
  // A subgradient of f_j at x.
  Vector subgradient;
};

// f(x) = c'x + sum over pieces j of f_j(x), each f_j convex and piecewise linear
// (the recourse function of a scenario, the absolute residual of a data row),
// over a polyhedral first-stage set. Cutting-plane methods build models of the
// f_j from Evaluate and minimize them over the first stage.
class DecomposableProblem : public Problem {
 public:
  // Number of pieces f_j (scenarios, rows). Every instance has all pieces: tasks
  // may name any of them.
  virtual int64_t pieces() const = 0;
  virtual const LinearConstraints& first_stage() const = 0;
  // Evaluates piece j at x (dimension()). Not const: a piece may keep a warm start.
  virtual absl::StatusOr<PieceEvaluation> Evaluate(int64_t j,
                                                   const Eigen::Ref<const Vector>& x) = 0;
  // A valid lower bound on each f_j over the first stage, if known (cutting-plane
  // masters need one before the first cut of a piece).
  virtual double piece_lower_bound() const { return -1e9; }
};

// Where and what a problem is built for.
struct ProblemContext {
  const v1::ProblemSpec& spec;
  // Data file paths are resolved under this directory and may not leave it.
  std::string data_root;
  // This worker's shard: index in [0, worker_count). The coordinator's central
  // problem uses index 0 of count 1 (all rows).
  int worker_index = 0;
  int worker_count = 1;
};

using ProblemFactory =
    std::function<absl::StatusOr<std::unique_ptr<Problem>>(const ProblemContext&)>;

// Problems register here: AIA_REGISTER(ProblemRegistry(), "least_squares", New...).
Registry<ProblemFactory>& ProblemRegistry();

// Checks what every problem plugin refuses in its spec: parameters of another
// problem (the params field must be named like spec.name(), or be absent), and
// fields this build does not know (most likely another problem's parameters from
// a newer config; ignoring them would run a different problem than asked for).
// InvalidArgument saying which.
absl::Status CheckProblemSpec(const v1::ProblemSpec& spec);

// Builds the problem spec.name names; InvalidArgument for an unknown name (listing
// the known ones), a bad spec or bad data (naming file and line).
absl::StatusOr<std::unique_ptr<Problem>> NewProblem(const ProblemContext& context);

}  // namespace aia

#endif  // AIA_PROBLEMS_PROBLEM_H_
