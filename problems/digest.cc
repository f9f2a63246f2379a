#include "problems/digest.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace aia {
namespace {

constexpr uint64_t kOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kPrime = 0x100000001b3ULL;

void Mix(uint64_t& hash, const double* values, int64_t count) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(values);
  for (int64_t i = 0; i < count * static_cast<int64_t>(sizeof(double)); ++i) {
    hash = (hash ^ bytes[i]) * kPrime;
  }
}

}  // namespace

std::string RowsDigest(const Matrix& a, const Vector& b, const std::vector<int64_t>* rows) {
  uint64_t hash = kOffset;
  const int64_t count = rows != nullptr ? static_cast<int64_t>(rows->size()) : a.rows();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = rows != nullptr ? (*rows)[k] : k;
    Mix(hash, a.row(i).data(), a.cols());  // row-major: a row is contiguous
    Mix(hash, &b[i], 1);
  }
  return absl::StrFormat("fnv1a64:%016x", hash);
}

}  // namespace aia
