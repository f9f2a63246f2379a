// Plugin code may throw; aia's own code does not. Calls into plugins go through
// CatchPluginExceptions, so that an exception ends a session or a run with its
// message instead of std::terminate taking the process down.
#ifndef AIA_PLUGINS_EXCEPTIONS_H_
#define AIA_PLUGINS_EXCEPTIONS_H_

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace aia {

// f() (returning absl::Status), or Internal "the plugin threw an exception: WHAT".
template <typename F>
absl::Status CatchPluginExceptions(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the plugin threw an exception: ", e.what()));
  } catch (...) {
    return absl::InternalError("the plugin threw an exception that is not a std::exception");
  }
}

}  // namespace aia

#endif  // AIA_PLUGINS_EXCEPTIONS_H_
