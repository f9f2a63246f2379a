#include "algorithms/payload.h"

#include <utility>

#include "absl/strings/escaping.h"

namespace aia {

Payload::Payload(std::string bytes) {
  if (bytes.empty()) return;
  auto owner = std::make_shared<const std::string>(std::move(bytes));
  view_ = *owner;
  owner_ = std::move(owner);
}

Payload Payload::FromVector(Vector vector) {
  static_assert(sizeof(double) == 8, "f64le needs 8-byte doubles");
  if (vector.size() == 0) return Payload();
  auto owner = std::make_shared<const Vector>(std::move(vector));
  const absl::string_view view(reinterpret_cast<const char*>(owner->data()),
                               static_cast<size_t>(owner->size()) * sizeof(double));
  return Payload(std::move(owner), view);
}

std::ostream& operator<<(std::ostream& out, const Payload& payload) {
  constexpr size_t kShown = 64;
  out << '"' << absl::CEscape(payload.view().substr(0, kShown)) << '"';
  if (payload.size() > kShown) out << "... (" << payload.size() << " bytes)";
  return out;
}

}  // namespace aia
