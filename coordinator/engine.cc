#include "coordinator/engine.h"

#include <memory>

#include "algorithms/algorithm.h"
#include "base/status_macros.h"
#include "config/config.h"
#include "coordinator/history/history.h"
#include "coordinator/run.h"

namespace aia {

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options) {
  if (options.workers.empty()) {
    return absl::InvalidArgumentError(
        "no workers: give --local_workers, --workers, --workers_file or --in_process");
  }
  RETURN_IF_ERROR(ValidateConfig(options.config, static_cast<int>(options.workers.size())));
  AlgorithmContext context{options.config.algorithm(), options.config.seed(), -1,
                           static_cast<int>(options.workers.size())};
  ASSIGN_OR_RETURN(std::unique_ptr<Algorithm> algorithm, NewAlgorithm(context));
  ASSIGN_OR_RETURN(
      std::unique_ptr<RunDirectory> history,
      RunDirectory::Create(options.out_dir, options.config, algorithm->saved_value_names()));
  Run run(options, std::move(algorithm), std::move(history));
  return run.Execute();
}

}  // namespace aia
