// Pieces the benchmarks share: flag lists, the worker binary, the machine line,
// the date and load, CPU time, directories, child commands.
#ifndef AIA_BENCH_HARNESS_H_
#define AIA_BENCH_HARNESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aia::bench {

// The integers of a comma-separated flag value, each in [low, high];
// InvalidArgument naming --flag and the bad item otherwise.
absl::StatusOr<std::vector<int64_t>> ParseIntegers(const std::string& flag, const std::string& text,
                                                   int64_t low, int64_t high);

// `flag_value` (a --worker_binary) if given and executable, else FindWorkerBinary().
absl::StatusOr<std::string> WorkerBinary(const std::string& flag_value);

// "machine: 2 cores online (2 usable), <CPU model>", for a benchmark's report.
std::string MachineLine();

// "2026-12-01 15:18" (local time), for a benchmark's report.
std::string Today();

// The 1, 5 and 15 minute load averages of /proc/loadavg ("0.37 1.51 1.85"), or
// "unknown".
std::string LoadAverage();

// User plus system CPU seconds of this process so far, over all its threads
// (getrusage RUSAGE_SELF; child processes are not counted).
double ProcessCpuSeconds();

// mkdir -p; PermissionDenied naming the directory if it cannot.
absl::Status MakeDirectory(const std::string& dir);

// A fresh directory TMPDIR/aia_NAME.XXXXXX for a benchmark's runs; Unavailable
// naming TMPDIR if it cannot be made.
absl::StatusOr<std::string> MakeScratchDirectory(const std::string& name);

// `word` quoted for /bin/sh.
std::string ShellQuote(const std::string& word);

// Runs `argv` (through /bin/sh, under coreutils `timeout`, killed `timeout` plus
// 5 s after it starts) with stdout to `stdout_path` and stderr appended to
// `stderr_path`, waits for it and returns what it wrote on stdout. The output
// goes to a file, not a pipe, so that grandchildren which outlive the command
// cannot hold the wait. DeadlineExceeded when it timed out, Internal for
// another non-zero exit status (naming `stderr_path`).
absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                       const std::string& stdout_path,
                                       const std::string& stderr_path);

// A benchmark's main: parses its flags (with `usage` for --help) and runs `body`;
// exit status 2, naming `name`, for a positional argument.
int BenchMain(int argc, char** argv, const char* name, const char* usage, int (*body)());

}  // namespace aia::bench

#endif  // AIA_BENCH_HARNESS_H_
