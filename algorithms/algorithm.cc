#include "algorithms/algorithm.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "sdk/plugin.h"

namespace aia {

Registry<AlgorithmFactory>& AlgorithmRegistry() {
  static auto* registry = new Registry<AlgorithmFactory>("algorithm");
  return *registry;
}

absl::StatusOr<Payload> Algorithm::UpdateSynchronous(const std::vector<WorkerAnswer>&,
                                                     const Problem&) {
  return absl::UnimplementedError("this algorithm has no synchronous central step");
}

absl::StatusOr<std::vector<std::string>> Algorithm::InitialTasks(const Problem&) {
  return absl::UnimplementedError("this algorithm does not use a task pool");
}

absl::StatusOr<std::vector<std::string>> Algorithm::UpdateTask(absl::string_view, const AnswerInfo&,
                                                               const Problem&) {
  return absl::UnimplementedError("this algorithm does not use a task pool");
}

absl::StatusOr<std::unique_ptr<Algorithm>> NewAlgorithm(const AlgorithmContext& context) {
  const v1::AlgorithmSpec& spec = context.spec;
  ASSIGN_OR_RETURN(AlgorithmFactory factory, AlgorithmRegistry().Find(spec.name()));
  RETURN_IF_ERROR(CheckParamsField(spec, PluginKind::kAlgorithm));
  return factory(context);
}

}  // namespace aia
