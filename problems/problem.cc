#include "problems/problem.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "sdk/plugin.h"
#include "google/protobuf/unknown_field_set.h"

namespace aia {

Registry<ProblemFactory>& ProblemRegistry() {
  static auto* registry = new Registry<ProblemFactory>("problem");
  return *registry;
}

absl::Status CheckProblemSpec(const v1::ProblemSpec& spec) {
  RETURN_IF_ERROR(CheckParamsField(spec, PluginKind::kProblem));
  const google::protobuf::UnknownFieldSet& unknown = spec.GetReflection()->GetUnknownFields(spec);
  if (!unknown.empty()) {
    std::vector<int> numbers;
    for (int k = 0; k < unknown.field_count(); ++k) numbers.push_back(unknown.field(k).number());
    return absl::InvalidArgumentError(
        absl::StrCat("problem has fields this build does not know (numbers ",
                     absl::StrJoin(numbers, ", "), "); is the config for another version?"));
  }
  return absl::OkStatus();
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
