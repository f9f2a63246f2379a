// The numbers this project's linear programs accept, and the checks that keep
// every other number away from COIN-OR Clp.
//
// Clp has no NaN and no IEEE infinity: its infinity is COIN_DBL_MAX (DBL_MAX), and
// on load it treats bounds beyond 1e27 as infinite; its matrix checks flag
// elements beyond 1e20. Finite numbers far beyond that (1e99 .. DBL_MAX) in
// bounds, costs or coefficients make its simplex overflow and abort on an internal
// assertion, taking the whole process with it. So every number that reaches Clp
// here is either +-infinity in a bound (converted with ToClp) or finite with
// magnitude at most kMaxLpMagnitude = 1e20: data files, first-stage points sent in
// tasks, cuts sent in answers, and the numbers derived from them (T x, v - g'x0)
// are checked against it, and the error names the field.
//
// Example:
//   RETURN_IF_ERROR(CheckLpVector("CutTask.x", x));   // InvalidArgument naming x(k)
//   row_lower[r] = ToClp(lower(r));                   // -inf -> -COIN_DBL_MAX
//
// Thread safety: stateless.
#ifndef AIA_PROBLEMS_LP_VALUES_H_
#define AIA_PROBLEMS_LP_VALUES_H_

#include <cmath>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/eigen.h"

namespace aia {

// The largest magnitude of a finite number in an LP: costs, coefficients,
// right-hand sides, ranges, bounds and first-stage points.
inline constexpr double kMaxLpMagnitude = 1e20;
// "1e20", for messages.
inline constexpr char kMaxLpMagnitudeText[] = "1e20";

// Finite and |value| <= kMaxLpMagnitude.
inline bool IsLpNumber(double value) {
  return std::isfinite(value) && std::abs(value) <= kMaxLpMagnitude;
}

// An LP number, or +-infinity (for bounds).
inline bool IsLpBound(double value) { return std::isinf(value) || IsLpNumber(value); }

// Clp's infinity for +-infinity, the value itself otherwise.
inline double ToClp(double bound) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (bound == kInf) return std::numeric_limits<double>::max();
  if (bound == -kInf) return -std::numeric_limits<double>::max();
  return bound;
}

// InvalidArgument "<what> is not finite or beyond +-1e20" unless IsLpNumber.
absl::Status CheckLpNumber(absl::string_view what, double value);

// InvalidArgument "<what>(k) is not finite or beyond +-1e20" for the first
// element k of v that is not an LP number.
absl::Status CheckLpVector(absl::string_view what, const Eigen::Ref<const Vector>& v);

// The same for bounds: +-infinity allowed. InvalidArgument "<what>(k) is NaN or
// finite beyond +-1e20".
absl::Status CheckLpBounds(absl::string_view what, const Eigen::Ref<const Vector>& v);

}  // namespace aia

#endif  // AIA_PROBLEMS_LP_VALUES_H_
