#include "algorithms/testing/simulate.h"

#include <random>
#include <utility>
#include <vector>

#include "Eigen/Cholesky"
#include "Eigen/Eigenvalues"
#include "absl/strings/str_cat.h"
#include "algorithms/typed_algorithm.h"
#include "base/status_macros.h"

namespace aia {

absl::StatusOr<Simulation> Simulate(const v1::AlgorithmSpec& algorithm,
                                    const v1::ProblemSpec& problem,
                                    const SimulateOptions& options) {
  const int count = options.workers;
  Simulation run;
  ASSIGN_OR_RETURN(run.central, NewProblem(ProblemContext{problem, options.data_root, 0, 1}));
  ASSIGN_OR_RETURN(run.coordinator, NewAlgorithm(AlgorithmContext{algorithm, options.seed,
                                                                  /*worker_index=*/-1, count}));
  if (run.coordinator->query_type() != kDenseVectorType) {
    return absl::InvalidArgumentError(
        absl::StrCat("Simulate needs dense vector queries, not ", run.coordinator->query_type()));
  }
  std::vector<std::unique_ptr<Problem>> locals;
  std::vector<std::unique_ptr<Algorithm>> workers;
  std::vector<WorkerInfo> infos;
  for (int i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<Problem> local,
                     NewProblem(ProblemContext{problem, options.data_root, i, count}));
    ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> worker,
                     NewAlgorithm(AlgorithmContext{algorithm, options.seed + i + 1, i, count}));
    infos.push_back(WorkerInfo{local->rows()});
    locals.push_back(std::move(local));
    workers.push_back(std::move(worker));
  }
  run.coordinator->OnWorkersReady(infos);
  ASSIGN_OR_RETURN(Payload q0, run.coordinator->Initialize(*run.central));
  std::vector<Payload> pending(count, q0);
  std::vector<int64_t> pending_iteration(count, 0);  // when each pending query was made
  Payload query = q0;
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int> pick(0, count - 1);
  for (int64_t step = 1; step <= options.steps; ++step) {
    if (options.synchronous) {
      std::vector<Payload> bytes(count);
      std::vector<WorkerAnswer> answers;
      for (int i = 0; i < count; ++i) {
        ASSIGN_OR_RETURN(bytes[i], workers[i]->Answer(query, *locals[i]));
      }
      for (int i = 0; i < count; ++i) answers.push_back(WorkerAnswer{i, bytes[i]});
      ASSIGN_OR_RETURN(query, run.coordinator->UpdateSynchronous(answers, *run.central));
    } else {
      const int i = pick(rng);
      ASSIGN_OR_RETURN(Payload answer, workers[i]->Answer(pending[i], *locals[i]));
      ASSIGN_OR_RETURN(
          pending[i], run.coordinator->Update(answer, AnswerInfo(i, pending_iteration[i], step - 1),
                                              *run.central));
      pending_iteration[i] = step;
      query = pending[i];
    }
    if (options.observe) {
      ASSIGN_OR_RETURN(ConstVectorRef view, Codec<Vector>::Decode(query));
      options.observe(step, Vector(view));
    }
  }
  ASSIGN_OR_RETURN(ConstVectorRef view, Codec<Vector>::Decode(query));
  run.query = view;
  return run;
}

LeastSquaresSolution SolveLeastSquares(const LeastSquares& problem) {
  const Eigen::MatrixXd a = problem.A();
  const Eigen::MatrixXd normal = a.transpose() * a;
  LeastSquaresSolution solution;
  solution.x = normal.ldlt().solve(a.transpose() * problem.b());
  solution.objective = problem.Objective(solution.x);
  return solution;
}

double LargestEigenvalue(const LeastSquares& problem) {
  const Eigen::MatrixXd a = problem.A();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(a.transpose() * a, Eigen::EigenvaluesOnly);
  return solver.eigenvalues().maxCoeff();
}

}  // namespace aia
