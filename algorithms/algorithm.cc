#include "algorithms/algorithm.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {

Registry<AlgorithmFactory>& AlgorithmRegistry() {
  static auto* registry = new Registry<AlgorithmFactory>("algorithm");
  return *registry;
}

absl::StatusOr<std::string> Algorithm::UpdateSynchronous(const std::vector<WorkerAnswer>&,
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
  // The parameter message's field is named after its plugin.
  if (spec.params_case() != v1::AlgorithmSpec::PARAMS_NOT_SET) {
    const auto* field = spec.GetDescriptor()->FindFieldByNumber(spec.params_case());
    if (field->name() != spec.name()) {
      return absl::InvalidArgumentError(absl::StrCat("algorithm.name is '", spec.name(),
                                                     "' but its parameters are algorithm.",
                                                     field->name()));
    }
  }
  return factory(context);
}

}  // namespace aia
