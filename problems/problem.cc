#include "problems/problem.h"

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {

Registry<ProblemFactory>& ProblemRegistry() {
  static auto* registry = new Registry<ProblemFactory>("problem");
  return *registry;
}

absl::StatusOr<std::unique_ptr<Problem>> NewProblem(const ProblemContext& context) {
  if (context.worker_count < 1 || context.worker_index < 0 ||
      context.worker_index >= context.worker_count) {
    return absl::InvalidArgumentError(absl::StrCat("worker index ", context.worker_index,
                                                   " is not in [0, ", context.worker_count, ")"));
  }
  ASSIGN_OR_RETURN(ProblemFactory factory, ProblemRegistry().Find(context.spec.name()));
  return factory(context);
}

}  // namespace aia
