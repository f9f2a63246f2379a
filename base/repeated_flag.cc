#include "base/repeated_flag.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace aia {

std::vector<std::string> ExtractRepeatedFlag(int& argc, char** argv, absl::string_view name,
                                             absl::string_view what, std::string* error) {
  std::vector<std::string> values;
  const std::string flag = absl::StrCat("--", name);
  const std::string with_value = flag + "=";
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == flag || arg == absl::string_view(flag).substr(1)) {
      if (i + 1 >= argc) {
        *error = absl::StrCat(flag, " needs ", what);
        return values;
      }
      values.push_back(argv[++i]);
    } else if (absl::StartsWith(arg, with_value)) {
      values.push_back(std::string(arg.substr(with_value.size())));
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  return values;
}

}  // namespace aia
