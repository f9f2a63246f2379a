// transport_bench: aia's full stack against a raw gRPC ping-pong with the same
// message sizes, on this machine (bench/README.md).
//
//   bazel run -c opt //bench:transport_bench -- [--workers=1,4]
//       [--dimensions=10,1000000] [--iterations=20000,200] [--quick]
//
// For every dimension D (doubles per message) and worker count W:
//   aia  W aia_worker daemons (LocalWorkers), RunCoordinator with the echo
//        plugin of dimension D for `iterations` answers; answers/s is
//        RunResult.iterations / RunResult.elapsed_s.
//   raw  W pingpong_server daemons, one stream each from this process, strict
//        ping-pong of D * 8 bytes (RunPingPong); answers/s is round trips / s.
// and prints one table row: size, W, both rates and their ratio (aia/raw).
//
// Exit status: 0 every case ran, 1 a case failed, 2 bad flags or a missing
// binary.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "bench/harness.h"
#include "bench/pingpong_client.h"
#include "coordinator/engine.h"
#include "coordinator/local_workers.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"

ABSL_FLAG(std::string, workers, "1,4",
          "comma-separated worker counts W to measure, each in [1, 64]");
ABSL_FLAG(std::string, dimensions, "10,1000000",
          "comma-separated message sizes, in doubles (each in [1, 25000000])");
ABSL_FLAG(std::string, iterations, "20000,200",
          "answers per case, one per --dimensions entry (about 1-5 s each on 2 "
          "cores)");
ABSL_FLAG(bool, quick, false, "smoke run: 200 answers per case for dimensions <= 10000, else 5");
ABSL_FLAG(std::string, only, "",
          "'aia' or 'raw' to run one side only (for profiling); empty for both");
ABSL_FLAG(std::string, worker_binary, "",
          "aia_worker executable (default: found as `aia` finds it)");
ABSL_FLAG(std::string, pingpong_binary, "",
          "pingpong_server executable (default: beside this program or in "
          "its runfiles)");

// The Bazel compilation mode, from BUILD.bazel.
#define AIA_STRINGIFY_INNER(x) #x
#define AIA_STRINGIFY(x) AIA_STRINGIFY_INNER(x)
#ifdef AIA_COMPILATION_MODE
constexpr char kCompilationMode[] = AIA_STRINGIFY(AIA_COMPILATION_MODE);
#else
constexpr char kCompilationMode[] = "unknown";
#endif

namespace aia {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

// Both sides' message limit: the worker's and the coordinator's default.
constexpr int64_t kMaxMessageBytes = int64_t{256} << 20;

struct Case {
  int64_t dimension = 0;
  int workers = 0;
  int64_t iterations = 0;
};

absl::StatusOr<std::vector<Case>> CasesFromFlags() {
  ASSIGN_OR_RETURN(std::vector<int64_t> workers,
                   bench::ParseIntegers("workers", absl::GetFlag(FLAGS_workers), 1, 64));
  ASSIGN_OR_RETURN(
      std::vector<int64_t> dimensions,
      bench::ParseIntegers("dimensions", absl::GetFlag(FLAGS_dimensions), 1, 25'000'000));
  std::vector<int64_t> iterations;
  if (absl::GetFlag(FLAGS_quick)) {
    for (int64_t dimension : dimensions) {
      iterations.push_back(dimension <= 10'000 ? 200 : 5);
    }
  } else {
    ASSIGN_OR_RETURN(iterations, bench::ParseIntegers("iterations", absl::GetFlag(FLAGS_iterations),
                                                      1, int64_t{1} << 40));
    if (iterations.size() != dimensions.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--iterations has ", iterations.size(), " entries but --dimensions ", "has ",
                       dimensions.size(), ": give one count per dimension"));
    }
  }
  const std::string only = absl::GetFlag(FLAGS_only);
  if (!only.empty() && only != "aia" && only != "raw") {
    return absl::InvalidArgumentError(
        absl::StrCat("--only must be 'aia', 'raw' or empty, got '", only, "'"));
  }
  std::vector<Case> cases;
  for (size_t d = 0; d < dimensions.size(); ++d) {
    for (int64_t w : workers) {
      cases.push_back({dimensions[d], static_cast<int>(w), iterations[d]});
    }
  }
  return cases;
}

std::string SelfPath() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : self.string();
}

// pingpong_server: --pingpong_binary, else beside this program (bazel-bin/bench),
// else in its runfiles.
absl::StatusOr<std::string> FindPingPongBinary() {
  std::string flag = absl::GetFlag(FLAGS_pingpong_binary);
  if (!flag.empty()) {
    if (access(flag.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat("--pingpong_binary=", flag, " is not executable"));
    }
    return flag;
  }
  const std::string self = SelfPath();
  const std::string dir = self.substr(0, self.rfind('/'));
  for (const std::string& candidate :
       {dir + "/pingpong_server", self + ".runfiles/aia/bench/pingpong_server"}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(
      "cannot find pingpong_server beside transport_bench; build "
      "//bench:pingpong_server or give --pingpong_binary");
}

std::string SizeLabel(int64_t dimension) {
  const int64_t bytes = dimension * 8;
  std::string size = bytes >= 1'000'000 ? absl::StrFormat("%.1f MB", bytes / 1e6)
                     : bytes >= 1'000   ? absl::StrFormat("%.1f kB", bytes / 1e3)
                                        : absl::StrCat(bytes, " B");
  return absl::StrCat(dimension, " doubles (", size, ")");
}

// The full stack: answers per second of an echo run.
absl::StatusOr<double> RunAia(const Case& c, const std::string& binary,
                              const std::string& scratch) {
  const std::string name = absl::StrCat("aia-d", c.dimension, "-w", c.workers);
  // Started as `aia run --local_workers=W` starts them.
  LocalWorkers::Options worker_options;
  worker_options.count = c.workers;
  worker_options.binary = binary;
  worker_options.log_dir = absl::StrCat(scratch, "/", name, "-logs");
  RETURN_IF_ERROR(bench::MakeDirectory(worker_options.log_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalWorkers> workers, LocalWorkers::Start(worker_options));
  RunOptions options;
  v1::RunConfig& config = options.config;
  config.set_name(name);
  config.mutable_algorithm()->set_name("echo");
  config.mutable_algorithm()->mutable_echo()->set_dimension(c.dimension);
  // echo ignores the problem; every worker needs a row of it.
  v1::ProblemSpec* problem = config.mutable_problem();
  problem->set_name("least_squares");
  problem->mutable_synthetic()->set_rows(std::max(8, c.workers));
  problem->mutable_synthetic()->set_columns(2);
  problem->mutable_synthetic()->set_seed(1);
  // Only record 0 and the final record are saved.
  config.mutable_stop()->set_iteration(c.iterations);
  config.mutable_save()->set_iteration(c.iterations);
  options.workers = workers->addresses();
  options.out_dir = absl::StrCat(scratch, "/", name);
  ASSIGN_OR_RETURN(RunResult result, RunCoordinator(options));
  std::error_code ignored;
  std::filesystem::remove_all(options.out_dir, ignored);  // up to 2 queries
  if (result.status != "completed" || result.stop_reason != "iteration") {
    return absl::InternalError(
        absl::StrCat("aia run ", name, " ", result.status, ": ", result.error));
  }
  if (result.elapsed_s <= 0) {
    return absl::InternalError(absl::StrCat("aia run ", name, " took no time"));
  }
  return result.iterations / result.elapsed_s;
}

// The raw baseline: round trips per second of RunPingPong.
absl::StatusOr<double> RunRaw(const Case& c, const std::string& binary,
                              const std::string& scratch) {
  LocalWorkers::Options server_options;
  server_options.binary = binary;
  server_options.count = c.workers;
  server_options.max_message_bytes = kMaxMessageBytes;
  server_options.log_dir = absl::StrCat(scratch, "/raw-d", c.dimension, "-w", c.workers, "-logs");
  RETURN_IF_ERROR(bench::MakeDirectory(server_options.log_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalWorkers> servers, LocalWorkers::Start(server_options));
  bench::PingPongOptions options;
  options.addresses = servers->addresses();
  options.payload_bytes = c.dimension * 8;
  options.round_trips = c.iterations;
  options.max_message_bytes = kMaxMessageBytes;
  ASSIGN_OR_RETURN(bench::PingPongResult result, bench::RunPingPong(options));
  if (result.elapsed_s <= 0) {
    return absl::InternalError("raw ping-pong took no time");
  }
  return result.round_trips / result.elapsed_s;
}

int Main() {
  absl::StatusOr<std::vector<Case>> cases = CasesFromFlags();
  if (!cases.ok()) {
    std::fprintf(stderr, "transport_bench: %s\n", std::string(cases.status().message()).c_str());
    return kUsage;
  }
  absl::StatusOr<std::string> worker_binary =
      bench::WorkerBinary(absl::GetFlag(FLAGS_worker_binary));
  absl::StatusOr<std::string> pingpong_binary = FindPingPongBinary();
  for (const absl::Status& status : {worker_binary.status(), pingpong_binary.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "transport_bench: %s\n", std::string(status.message()).c_str());
      return kUsage;
    }
  }
  absl::StatusOr<std::string> made = bench::MakeScratchDirectory("transport_bench");
  if (!made.ok()) {
    std::fprintf(stderr, "transport_bench: %s\n", std::string(made.status().message()).c_str());
    return kFailed;
  }
  const std::string scratch = *made;

  std::printf("%s\n", bench::MachineLine().c_str());
  std::printf("build: -c %s; gRPC %s (system library)\n", kCompilationMode,
              grpc::Version().c_str());
  std::printf("%-26s %3s %11s %15s %15s %16s\n", "size", "W", "iterations", "aia answers/s",
              "raw answers/s", "ratio (aia/raw)");
  std::fflush(stdout);
  const std::string only = absl::GetFlag(FLAGS_only);
  int exit_code = kOk;
  for (const Case& c : *cases) {
    // A side that is not run reads as 0 and prints as "-".
    absl::StatusOr<double> aia = 0.0;
    absl::StatusOr<double> raw = 0.0;
    if (only != "raw") aia = RunAia(c, *worker_binary, scratch);
    if (only != "aia") raw = RunRaw(c, *pingpong_binary, scratch);
    for (const absl::Status& status : {aia.status(), raw.status()}) {
      if (!status.ok()) {
        std::fprintf(stderr, "transport_bench: %s (logs in %s)\n", status.ToString().c_str(),
                     scratch.c_str());
        exit_code = kFailed;
      }
    }
    if (!aia.ok() || !raw.ok()) continue;
    auto cell = [](double value, int decimals) {
      return value > 0 ? absl::StrFormat("%.*f", decimals, value) : std::string("-");
    };
    const double ratio = *aia > 0 && *raw > 0 ? *aia / *raw : 0.0;
    std::printf("%-26s %3d %11lld %15s %15s %16s\n", SizeLabel(c.dimension).c_str(), c.workers,
                static_cast<long long>(c.iterations), cell(*aia, 1).c_str(), cell(*raw, 1).c_str(),
                cell(ratio, 2).c_str());
    std::fflush(stdout);
  }
  if (exit_code == kOk) {
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
  }
  return exit_code;
}

}  // namespace
}  // namespace aia

int main(int argc, char** argv) {
  return aia::bench::BenchMain(argc, argv, "transport_bench",
                               "aia's full stack against a raw gRPC ping-pong (bench/README.md).\n"
                               "Usage: transport_bench [--workers=1,4] [--dimensions=10,1000000] "
                               "[--iterations=20000,200] [--quick]",
                               aia::Main);
}
