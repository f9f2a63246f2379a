// Text that crosses the wire or lands in a file must be valid UTF-8 (proto3
// strings, JSON): ValidUtf8 makes it so.
#ifndef AIA_BASE_UTF8_H_
#define AIA_BASE_UTF8_H_

#include <string>

#include "absl/strings/string_view.h"

namespace aia {

// `text` with every byte that is not part of a valid UTF-8 sequence (overlong
// forms, surrogates and values past U+10FFFF included) replaced by '?'.
std::string ValidUtf8(absl::string_view text);

}  // namespace aia

#endif  // AIA_BASE_UTF8_H_
