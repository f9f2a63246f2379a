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

// A fresh directory TMPDIR/aia_NAME.XXXXXX for a benchmark's runs; Unavailable
// naming TMPDIR if it cannot be made.
absl::StatusOr<std::string> MakeScratchDirectory(const std::string& name);

// A benchmark's main: parses its flags (with `usage` for --help) and runs `body`;
// exit status 2, naming `name`, for a positional argument.
int BenchMain(int argc, char** argv, const char* name, const char* usage, int (*body)());

}  // namespace aia::bench

#endif  // AIA_BENCH_HARNESS_H_
