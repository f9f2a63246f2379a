#include "algorithms/finite_sum.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aia {

absl::StatusOr<const FiniteSumProblem*> AsFiniteSum(const Problem& problem,
                                                    absl::string_view algorithm) {
  const auto* finite_sum = dynamic_cast<const FiniteSumProblem*>(&problem);
  if (finite_sum == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        algorithm, " needs a problem with gradients (a finite sum), not ", problem.Describe()));
  }
  return finite_sum;
}

absl::Status CheckDimension(absl::string_view what, Eigen::Index size, const Problem& problem) {
  if (size != problem.dimension()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has dimension ", size, " but the problem has ", problem.dimension()));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view field, double value) {
  if (!std::isfinite(value) || value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be finite and > 0, got ", value));
  }
  return absl::OkStatus();
}

double ObjectiveHooks::Evaluate(const Problem& central, const Vector& q) {
  const auto* problem = dynamic_cast<const FiniteSumProblem*>(&central);
  if (problem == nullptr || q.size() != central.dimension()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  last_ = problem->Objective(q);
  return *last_;
}

std::vector<double> ObjectiveHooks::Saved(const Problem& central, const Vector& q) {
  return {Evaluate(central, q)};
}

std::vector<std::pair<std::string, std::string>> ObjectiveHooks::Progress() const {
  return {{"objective", last_.has_value() ? absl::StrFormat("%.6g", *last_) : "-"}};
}

std::map<std::string, double> ObjectiveHooks::Final(const Problem& central, const Vector& q) {
  return {{"objective", Evaluate(central, q)}};
}

}  // namespace aia
