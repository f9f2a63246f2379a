#include "problems/lp_values.h"

#include "absl/strings/str_cat.h"

namespace aia {

absl::Status CheckLpNumber(absl::string_view what, double value) {
  if (IsLpNumber(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " is not finite or beyond +-", kMaxLpMagnitudeText));
}

absl::Status CheckLpVector(absl::string_view what, const Eigen::Ref<const Vector>& v) {
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    if (!IsLpNumber(v(k))) {
      return absl::InvalidArgumentError(absl::StrCat(what, "(", k, ") is not finite or beyond +-",
                                                     kMaxLpMagnitudeText));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLpBounds(absl::string_view what, const Eigen::Ref<const Vector>& v) {
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    if (!IsLpBound(v(k))) {
      return absl::InvalidArgumentError(absl::StrCat(what, "(", k, ") is NaN or finite beyond +-",
                                                     kMaxLpMagnitudeText));
    }
  }
  return absl::OkStatus();
}

}  // namespace aia
