#include "coordinator/engine.h"

#include <memory>

#include "algorithms/algorithm.h"
#include "base/status_macros.h"
#include "config/config.h"
#include "coordinator/history/history.h"
#include "coordinator/run.h"
#include "plugins/exceptions.h"

namespace aia {

int SlotCount(const RunOptions& options) {
  return options.source != nullptr ? options.slots : static_cast<int>(options.workers.size());
}

absl::StatusOr<RunResult> RunCoordinator(const RunOptions& options) {
  const int slots = SlotCount(options);
  if (slots <= 0) {
    return absl::InvalidArgumentError(
        "no workers: give --local_workers, --workers, --workers_file or --in_process");
  }
  RETURN_IF_ERROR(ValidateConfig(options.config, slots));
  if (options.source == nullptr && options.config.min_workers() != 0 &&
      options.config.min_workers() != slots) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_workers ", options.config.min_workers(),
        " needs the coordinator service (aia serve), whose pool fills the other slots while the "
        "run goes on; with a fixed worker list every worker is set up before the run starts"));
  }
  AlgorithmContext context{options.config.algorithm(), options.config.seed(), -1, slots};
  std::unique_ptr<Algorithm> algorithm;
  RETURN_IF_ERROR(CatchPluginExceptions([&]() -> absl::Status {
    ASSIGN_OR_RETURN(algorithm, NewAlgorithm(context));
    return absl::OkStatus();
  }));
  ASSIGN_OR_RETURN(
      std::unique_ptr<RunDirectory> history,
      RunDirectory::Create(options.out_dir, options.config, algorithm->saved_value_names()));
  Run run(options, std::move(algorithm), std::move(history));
  return run.Execute();
}

}  // namespace aia
