// tls_bench: the cost of transport security, measured against plaintext in the same
// run on this machine (docs/performance.md, "Transport security").
//
//   bazel run -c opt //bench:tls_bench -- [--dimensions=10,1000000]
//       [--iterations=20000,200] [--rounds=3] [--workers=1]
//
// For every dimension D (doubles per message) and each of three modes
//   plaintext        aia_worker with no credentials, plaintext channels
//   tls              aia_worker --tls_cert/--tls_key; aia run --tls_ca
//   mtls+token       aia_worker --tls_cert/--tls_key/--tls_ca/--token_file; aia run with
//                    a client certificate and the token
// it runs the echo plugin (RunCoordinator, W aia_worker daemons started through a
// wrapper that adds the flags) for `iterations` answers. The modes alternate within
// each of --rounds rounds, so that they share the machine's state; the table gives
// each mode's median answers/s and its ratio to plaintext. Certificates are made by
// scripts/make_certs.sh in a scratch directory.
//
// Exit status: 0 every case ran, 1 a case failed, 2 bad flags or a missing binary.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "bench/harness.h"
#include "coordinator/engine.h"
#include "coordinator/local_workers.h"
#include "grpcpp/grpcpp.h"
#include "proto/config.pb.h"
#include "security/credentials.h"

ABSL_FLAG(std::string, dimensions, "10,1000000",
          "comma-separated message sizes, in doubles (each in [1, 25000000])");
ABSL_FLAG(std::string, iterations, "20000,200", "answers per run, one per --dimensions entry");
ABSL_FLAG(int, rounds, 3, "rounds; each runs every mode once");
ABSL_FLAG(int, workers, 1, "worker daemons per run");
ABSL_FLAG(std::string, worker_binary, "", "aia_worker executable (default: found as aia does)");
ABSL_FLAG(std::string, make_certs, "", "scripts/make_certs.sh (default: in the runfiles)");

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

struct Mode {
  std::string name;
  std::vector<std::string> worker_flags;
  security::ClientSecurityOptions client;
};

std::string SelfPath() {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/self/exe", error).string();
}

absl::StatusOr<std::string> FindMakeCerts() {
  std::string flag = absl::GetFlag(FLAGS_make_certs);
  if (!flag.empty()) return flag;
  const std::string self = SelfPath();
  for (const std::string& candidate :
       {self + ".runfiles/aia/scripts/make_certs.sh", std::string("scripts/make_certs.sh")}) {
    if (access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  return absl::NotFoundError("cannot find scripts/make_certs.sh; give --make_certs");
}

// An executable that runs aia_worker with `flags` added: LocalWorkers starts it as
// it starts aia_worker.
absl::StatusOr<std::string> WorkerWrapper(const std::string& dir, const std::string& name,
                                          const std::string& binary,
                                          const std::vector<std::string>& flags) {
  const std::string path = absl::StrCat(dir, "/", name, "-worker.sh");
  std::ofstream script(path);
  script << "#!/bin/sh\nexec '" << binary << "'";
  for (const std::string& flag : flags) script << " '" << flag << "'";
  script << " \"$@\"\n";
  script.close();
  if (!script || chmod(path.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return path;
}

absl::StatusOr<double> RunOnce(const Mode& mode, const std::string& wrapper, int64_t dimension,
                               int64_t iterations, int worker_count, const std::string& scratch) {
  const std::string name = absl::StrCat(mode.name, "-d", dimension);
  LocalWorkers::Options worker_options;
  worker_options.count = worker_count;
  worker_options.binary = wrapper;
  worker_options.log_dir = absl::StrCat(scratch, "/", name, "-logs");
  RETURN_IF_ERROR(bench::MakeDirectory(worker_options.log_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalWorkers> workers, LocalWorkers::Start(worker_options));
  ASSIGN_OR_RETURN(security::ClientSecurity security, security::MakeClientSecurity(mode.client));
  RunOptions options;
  v1::RunConfig& config = options.config;
  config.set_name(name);
  config.mutable_algorithm()->set_name("echo");
  config.mutable_algorithm()->mutable_echo()->set_dimension(dimension);
  v1::ProblemSpec* problem = config.mutable_problem();
  problem->set_name("least_squares");
  problem->mutable_synthetic()->set_rows(std::max(8, worker_count));
  problem->mutable_synthetic()->set_columns(2);
  problem->mutable_synthetic()->set_seed(1);
  config.mutable_stop()->set_iteration(iterations);
  config.mutable_save()->set_iteration(iterations);
  options.workers = workers->addresses();
  options.credentials = security.credentials;
  options.tls_server_name = security.server_name;
  options.diagnose_connect_failure = security.diagnose;
  options.out_dir = absl::StrCat(scratch, "/", name, "-run");
  std::error_code ignored;
  std::filesystem::remove_all(options.out_dir, ignored);
  ASSIGN_OR_RETURN(RunResult result, RunCoordinator(options));
  std::filesystem::remove_all(options.out_dir, ignored);
  if (result.status != "completed" || result.elapsed_s <= 0) {
    return absl::InternalError(absl::StrCat(name, " ", result.status, ": ", result.error));
  }
  return result.iterations / result.elapsed_s;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Main() {
  absl::StatusOr<std::vector<int64_t>> dimensions =
      bench::ParseIntegers("dimensions", absl::GetFlag(FLAGS_dimensions), 1, 25'000'000);
  absl::StatusOr<std::vector<int64_t>> iterations =
      bench::ParseIntegers("iterations", absl::GetFlag(FLAGS_iterations), 1, int64_t{1} << 40);
  absl::StatusOr<std::string> binary = bench::WorkerBinary(absl::GetFlag(FLAGS_worker_binary));
  absl::StatusOr<std::string> make_certs = FindMakeCerts();
  for (const absl::Status& status :
       {dimensions.status(), iterations.status(), binary.status(), make_certs.status()}) {
    if (!status.ok()) {
      std::fprintf(stderr, "tls_bench: %s\n", std::string(status.message()).c_str());
      return kUsage;
    }
  }
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int worker_count = absl::GetFlag(FLAGS_workers);
  if (iterations->size() != dimensions->size() || rounds < 1 || worker_count < 1) {
    std::fprintf(stderr,
                 "tls_bench: give one --iterations entry per --dimensions entry, --rounds >= 1 "
                 "and --workers >= 1\n");
    return kUsage;
  }
  absl::StatusOr<std::string> made = bench::MakeScratchDirectory("tls_bench");
  if (!made.ok()) {
    std::fprintf(stderr, "tls_bench: %s\n", std::string(made.status().message()).c_str());
    return kFailed;
  }
  const std::string scratch = *made;
  const std::string certs = scratch + "/certs";
  const std::string command = absl::StrCat("/bin/bash '", *make_certs, "' '", certs,
                                           "' coordinator worker=localhost,127.0.0.1 > /dev/null");
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "tls_bench: %s failed\n", command.c_str());
    return kFailed;
  }
  auto file = [&](const std::string& name) { return absl::StrCat(certs, "/", name); };
  std::vector<Mode> modes(3);
  modes[0].name = "plaintext";
  modes[1].name = "tls";
  modes[1].worker_flags = {"--tls_cert=" + file("worker.pem"), "--tls_key=" + file("worker.key")};
  modes[1].client.ca_file = file("ca.pem");
  modes[2].name = "mtls+token";
  modes[2].worker_flags = modes[1].worker_flags;
  modes[2].worker_flags.push_back("--tls_ca=" + file("ca.pem"));
  modes[2].worker_flags.push_back("--token_file=" + file("token"));
  modes[2].client = modes[1].client;
  modes[2].client.cert_file = file("coordinator.pem");
  modes[2].client.key_file = file("coordinator.key");
  modes[2].client.token_file = file("token");
  std::vector<std::string> wrappers;
  for (const Mode& mode : modes) {
    absl::StatusOr<std::string> wrapper =
        WorkerWrapper(scratch, mode.name, *binary, mode.worker_flags);
    if (!wrapper.ok()) {
      std::fprintf(stderr, "tls_bench: %s\n", wrapper.status().ToString().c_str());
      return kFailed;
    }
    wrappers.push_back(*wrapper);
  }

  std::printf("%s\n", bench::MachineLine().c_str());
  std::printf("build: -c %s; gRPC %s (system library); %d worker(s); median of %d rounds\n",
              kCompilationMode, grpc::Version().c_str(), worker_count, rounds);
  std::printf("%-24s %-11s %11s %14s %18s\n", "size", "mode", "iterations", "answers/s",
              "ratio to plaintext");
  std::fflush(stdout);
  int exit_code = kOk;
  for (size_t d = 0; d < dimensions->size(); ++d) {
    std::map<std::string, std::vector<double>> rates;
    for (int round = 0; round < rounds; ++round) {
      for (size_t m = 0; m < modes.size(); ++m) {
        absl::StatusOr<double> rate = RunOnce(modes[m], wrappers[m], (*dimensions)[d],
                                              (*iterations)[d], worker_count, scratch);
        if (!rate.ok()) {
          std::fprintf(stderr, "tls_bench: %s (logs in %s)\n", rate.status().ToString().c_str(),
                       scratch.c_str());
          exit_code = kFailed;
          continue;
        }
        rates[modes[m].name].push_back(*rate);
      }
    }
    const int64_t bytes = (*dimensions)[d] * 8;
    const std::string size = absl::StrCat(
        (*dimensions)[d], " doubles (",
        bytes >= 1'000'000 ? absl::StrFormat("%.1f MB", bytes / 1e6) : absl::StrCat(bytes, " B"),
        ")");
    const double plain = rates["plaintext"].empty() ? 0 : Median(rates["plaintext"]);
    for (const Mode& mode : modes) {
      if (rates[mode.name].empty()) continue;
      const double rate = Median(rates[mode.name]);
      std::printf("%-24s %-11s %11lld %14.1f %18.3f\n", size.c_str(), mode.name.c_str(),
                  static_cast<long long>((*iterations)[d]), rate, plain > 0 ? rate / plain : 0.0);
    }
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
  return aia::bench::BenchMain(
      argc, argv, "tls_bench",
      "The cost of TLS against plaintext in the same run.\n"
      "Usage: tls_bench [--dimensions=10,1000000] [--iterations=20000,200] [--rounds=3]",
      aia::Main);
}
