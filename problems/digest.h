// Digests of a problem's data, for Ready.shard_digest: the same bytes give the
// same text on every machine ("fnv1a64:" and 16 hex digits, FNV-1a over the
// float64 values of each row, then its label). Not a cryptographic hash: it finds
// different data files, not an adversary's forgery.
#ifndef AIA_PROBLEMS_DIGEST_H_
#define AIA_PROBLEMS_DIGEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/eigen.h"

namespace aia {

// The digest of rows `rows` (in that order) of `a` and `b`; every row if null.
std::string RowsDigest(const Matrix& a, const Vector& b, const std::vector<int64_t>* rows);

}  // namespace aia

#endif  // AIA_PROBLEMS_DIGEST_H_
