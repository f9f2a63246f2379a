// Helpers shared by the gradient plugins (gd_aggregation, gd_averaging): the
// FiniteSumProblem capability check, shape and parameter checks, and the
// "objective" hooks.
//
// Example (in a plugin):
//   ASSIGN_OR_RETURN(const FiniteSumProblem* problem, AsFiniteSum(local, "gd_averaging"));
//   RETURN_IF_ERROR(CheckDimension("the query", q.size(), local));
//
// Thread safety: the functions keep no state; an ObjectiveHooks is used by one
// thread at a time (as the Algorithm that owns it).
#ifndef AIA_ALGORITHMS_FINITE_SUM_H_
#define AIA_ALGORITHMS_FINITE_SUM_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/eigen.h"
#include "problems/problem.h"

namespace aia {

// `problem` as a FiniteSumProblem; FailedPrecondition naming `algorithm` and the
// problem if it is not one.
absl::StatusOr<const FiniteSumProblem*> AsFiniteSum(const Problem& problem,
                                                    absl::string_view algorithm);

// InvalidArgument ("<what> has dimension 3 but the problem has 13") unless
// size == problem.dimension().
absl::Status CheckDimension(absl::string_view what, Eigen::Index size, const Problem& problem);

// InvalidArgument ("<field> must be finite and > 0, got -1") unless value is.
absl::Status CheckPositive(absl::string_view field, double value);

// The "objective" hooks of a plugin on a FiniteSumProblem: the central objective
// at the current query, computed only when a record is saved or the run ends
// (a full pass over the data is too dear for every step), and the last value
// computed shown under the progress bar.
class ObjectiveHooks {
 public:
  std::vector<std::string> names() const { return {"objective"}; }
  // {f(q)} over the central problem; NaN if it is not a FiniteSumProblem or q
  // does not fit it.
  std::vector<double> Saved(const Problem& central, const Vector& q);
  // {"objective", last value} ("-" before the first).
  std::vector<std::pair<std::string, std::string>> Progress() const;
  // {"objective": f(q)}.
  std::map<std::string, double> Final(const Problem& central, const Vector& q);

 private:
  double Evaluate(const Problem& central, const Vector& q);
  std::optional<double> last_;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_FINITE_SUM_H_
