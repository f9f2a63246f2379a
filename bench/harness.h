// Pieces the benchmarks share: flag lists, the worker binary, the machine line,
// directories.
#ifndef AIA_BENCH_HARNESS_H_
#define AIA_BENCH_HARNESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace aia::bench {

// The integers of a comma-separated flag value, each in [low, high];
// InvalidArgument naming --flag and the bad item otherwise.
absl::StatusOr<std::vector<int64_t>> ParseIntegers(const std::string& flag, const std::string& text,
                                                   int64_t low, int64_t high);

// `flag_value` (a --worker_binary) if given and executable, else FindWorkerBinary().
absl::StatusOr<std::string> WorkerBinary(const std::string& flag_value);

// "machine: 2 cores online (2 usable), <CPU model>", for a benchmark's report.
std::string MachineLine();

// mkdir -p; PermissionDenied naming the directory if it cannot.
absl::Status MakeDirectory(const std::string& dir);

}  // namespace aia::bench

#endif  // AIA_BENCH_HARNESS_H_
