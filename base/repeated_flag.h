// Flags that may be given more than once (--set, --plugin_dir), which absl flags
// cannot repeat.
#ifndef AIA_BASE_REPEATED_FLAG_H_
#define AIA_BASE_REPEATED_FLAG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aia {

// Pulls every "--NAME X", "-NAME X" and "--NAME=X" out of argv (call it before
// absl::ParseCommandLine) and returns the values in order. A last "--NAME" with
// no value sets *error to "--NAME needs WHAT".
std::vector<std::string> ExtractRepeatedFlag(int& argc, char** argv, absl::string_view name,
                                             absl::string_view what, std::string* error);

}  // namespace aia

#endif  // AIA_BASE_REPEATED_FLAG_H_
