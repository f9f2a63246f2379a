// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status and absl::StatusOr
// (Debian's Abseil 20220623 has none of its own).
//
// Example:
//   RETURN_IF_ERROR(writer.Append(record));
//   ASSIGN_OR_RETURN(std::unique_ptr<Problem> problem, NewProblem(context));
#ifndef AIA_BASE_STATUS_MACROS_H_
#define AIA_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define AIA_STATUS_CONCAT_INNER(a, b) a##b
#define AIA_STATUS_CONCAT(a, b) AIA_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status aia_status_ = (expr);       \
    if (!aia_status_.ok()) return aia_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  AIA_ASSIGN_OR_RETURN_IMPL(AIA_STATUS_CONCAT(aia_statusor_, __LINE__), lhs, expr)

#define AIA_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()

#endif  // AIA_BASE_STATUS_MACROS_H_
