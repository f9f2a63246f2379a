// transport_bench: aia's full stack against a raw gRPC ping-pong and against the
// same workload written for Dask, with the same message sizes, on this machine,
// for growing worker counts; and the coordinator's memory as W grows
// (bench/README.md).
//
//   bazel run -c opt //bench:transport_bench -- [--workers=1,2,4,8,16,32,64]
//       [--dimensions=10,1000,100000,1000000,10000000] [--modes=async,sync]
//       [--seconds=1.5] [--quick]
//
// For every worker count W, dimension D (doubles per message) and mode:
//   raw   W pingpong_server daemons, one stream each from this process
//         (RunPingPong): asynchronous, strict ping-pong on every stream;
//         synchronous, rounds of one payload on every stream and all W echoes
//         back. It runs for --seconds (at least 2W round trips, or 2 rounds),
//         which fixes the case's count.
//   aia   W aia_worker daemons (LocalWorkers), RunCoordinator with the echo
//         plugin of dimension D in that mode, for the same count of answers
//         (asynchronous) or rounds (synchronous). Also the coordinator's CPU
//         time per answer (getrusage of this process from q0 to the run's end;
//         the workers are other processes).
//   dask  bench/dask_echo.py: a Dask LocalCluster of W worker processes and an
//         as_completed loop keeping one echo task per worker in flight
//         (asynchronous only, W <= --dask_max_workers, D <= --dask_max_dimension).
// Cases with W * D * 8 bytes above --max_inflight_mb are skipped and listed.
// The daemons of one W serve all of its cases, raw and aia alternating per case.
//
// Then, for W in --memory_workers at D = --memory_dimension, the coordinator's
// peak RSS growth during a run of the averaging wrapper (the bench_averaging
// plugin, averaging_plugin.cc) and of echo, each in a fresh child process of this
// program (--memory_child): VmHWM is reset when q0 goes out (/proc/self/clear_refs)
// and read when RunCoordinator returns, against VmRSS at q0.
//
// Exit status: 0 every case ran, 1 a case failed, 2 bad flags or a missing
// binary.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "bench/harness.h"
#include "bench/pingpong_client.h"
#include "config/config.h"
#include "coordinator/engine.h"
#include "coordinator/local_workers.h"
#include "grpcpp/grpcpp.h"
#include "plugins/loader.h"
#include "proto/config.pb.h"

ABSL_FLAG(std::string, workers, "1,2,4,8,16,32,64",
          "comma-separated worker counts W to measure, each in [1, 64]");
ABSL_FLAG(std::string, dimensions, "10,1000,100000,1000000,10000000",
          "comma-separated message sizes, in doubles (each in [1, 25000000])");
ABSL_FLAG(std::string, modes, "async,sync", "comma-separated modes: async, sync");
ABSL_FLAG(double, seconds, 1.5,
          "time of the raw side of a case, which fixes its count (aia runs the same count); "
          "the Dask runs take as long per dimension");
ABSL_FLAG(std::string, iterations, "",
          "fixed counts instead of --seconds: answers (async) or rounds (sync) per case, one "
          "per --dimensions entry; needed with --only=aia");
ABSL_FLAG(int64_t, max_inflight_mb, 512,
          "skip a case whose W messages of D doubles exceed this many MiB (every message in "
          "flight is held about 5 times over the processes: 3.1 GB for 8 x 80 MB)");
ABSL_FLAG(bool, dask, true, "also run bench/dask_echo.py (asynchronous cases only)");
ABSL_FLAG(int, dask_max_workers, 16, "largest W for Dask (its cluster takes long to start)");
ABSL_FLAG(int64_t, dask_max_dimension, 1'000'000, "largest D for Dask");
ABSL_FLAG(std::string, python, "/usr/bin/python3",
          "the Python with Debian's python3-distributed (scripts/setup.sh)");
ABSL_FLAG(std::string, dask_script, "", "bench/dask_echo.py (default: in this program's runfiles)");
ABSL_FLAG(bool, memory, true, "also measure the coordinator's memory (--memory_workers)");
ABSL_FLAG(std::string, memory_workers, "1,2,4,8,16,32,64", "worker counts of the memory cases");
ABSL_FLAG(int64_t, memory_dimension, 1'000'000, "D of the memory cases");
ABSL_FLAG(int, memory_answers, 2, "answers per worker in a memory case (rounds, synchronous)");
ABSL_FLAG(bool, quick, false,
          "smoke run: W = 1,4, D = 10,100000, 0.3 s per case, memory at W = 1,4 and D = "
          "100000 (about a minute)");
ABSL_FLAG(std::string, only, "",
          "'aia' or 'raw' to run one side only (for profiling; no Dask, no memory cases)");
ABSL_FLAG(std::string, worker_binary, "",
          "aia_worker executable (default: found as `aia` finds it)");
ABSL_FLAG(std::string, pingpong_binary, "",
          "pingpong_server executable (default: beside this program or in its runfiles)");
ABSL_FLAG(std::string, memory_child, "",
          "internal: run one memory case, ALGORITHM:MODE:W, and print its line");
ABSL_FLAG(std::string, memory_plugin_dir, "", "internal: the memory child's plugin directory");

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
// The averaging plugin's library (BUILD.bazel).
constexpr char kPluginLibrary[] = "libbench_averaging.so";

enum class Mode { kAsync, kSync };

const char* ModeName(Mode mode) { return mode == Mode::kAsync ? "async" : "sync"; }

struct Case {
  Mode mode = Mode::kAsync;
  int workers = 0;
  int64_t dimension = 0;
  // From --iterations; 0: from the raw run.
  int64_t fixed_count = 0;
};

// What one case measured; a side that did not run stays at 0.
struct Row {
  Case c;
  int64_t count = 0;  // answers (async) or rounds (sync) of each side
  double aia_rate = 0;
  double aia_cpu_us = 0;
  bool aia_time_stop = false;
  double raw_rate = 0;
  double raw_cpu_us = 0;
  double dask_rate = 0;
};

struct Settings {
  std::vector<int64_t> workers;
  std::vector<int64_t> dimensions;
  std::vector<Mode> modes;
  std::vector<int64_t> iterations;  // empty: from --seconds
  double seconds = 0;
  std::vector<int64_t> memory_workers;
  int64_t memory_dimension = 0;
  std::string only;
};

absl::StatusOr<Settings> SettingsFromFlags() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  Settings s;
  ASSIGN_OR_RETURN(s.workers, bench::ParseIntegers(
                                  "workers", quick ? "1,4" : absl::GetFlag(FLAGS_workers), 1, 64));
  ASSIGN_OR_RETURN(
      s.dimensions,
      bench::ParseIntegers("dimensions", quick ? "10,100000" : absl::GetFlag(FLAGS_dimensions), 1,
                           25'000'000));
  for (absl::string_view word : absl::StrSplit(absl::GetFlag(FLAGS_modes), ',')) {
    if (word == "async") {
      s.modes.push_back(Mode::kAsync);
    } else if (word == "sync") {
      s.modes.push_back(Mode::kSync);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--modes=", absl::GetFlag(FLAGS_modes),
                                                     ": unknown '", word, "' (async, sync)"));
    }
  }
  s.seconds = quick ? 0.3 : absl::GetFlag(FLAGS_seconds);
  if (!(s.seconds > 0 && s.seconds <= 60)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--seconds must be in (0, 60], got ", absl::GetFlag(FLAGS_seconds)));
  }
  if (const std::string text = absl::GetFlag(FLAGS_iterations); !text.empty()) {
    ASSIGN_OR_RETURN(s.iterations, bench::ParseIntegers("iterations", text, 1, int64_t{1} << 40));
    if (s.iterations.size() != s.dimensions.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--iterations has ", s.iterations.size(), " entries but --dimensions has ",
                       s.dimensions.size(), ": give one count per dimension"));
    }
  }
  s.only = absl::GetFlag(FLAGS_only);
  if (!s.only.empty() && s.only != "aia" && s.only != "raw") {
    return absl::InvalidArgumentError(
        absl::StrCat("--only must be 'aia', 'raw' or empty, got '", s.only, "'"));
  }
  if (s.only == "aia" && s.iterations.empty()) {
    return absl::InvalidArgumentError("--only=aia needs --iterations (the raw run sets counts)");
  }
  ASSIGN_OR_RETURN(
      s.memory_workers,
      bench::ParseIntegers("memory_workers", quick ? "1,4" : absl::GetFlag(FLAGS_memory_workers), 1,
                           64));
  s.memory_dimension = quick ? 100'000 : absl::GetFlag(FLAGS_memory_dimension);
  if (s.memory_dimension < 1 || s.memory_dimension > 25'000'000 ||
      absl::GetFlag(FLAGS_memory_answers) < 1 || absl::GetFlag(FLAGS_max_inflight_mb) < 1 ||
      absl::GetFlag(FLAGS_dask_max_workers) < 0) {
    return absl::InvalidArgumentError(
        "--memory_dimension must be in [1, 25000000], --memory_answers and --max_inflight_mb "
        ">= 1, --dask_max_workers >= 0");
  }
  return s;
}

bool TooBig(int workers, int64_t dimension) {
  return workers * dimension * 8 > absl::GetFlag(FLAGS_max_inflight_mb) * (int64_t{1} << 20);
}

std::string SelfPath() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : self.string();
}

// A file this program depends on: `flag_value` if given, else NAME beside this
// program (bazel-bin/bench), else in its runfiles.
absl::StatusOr<std::string> FindBesideOrInRunfiles(const std::string& flag_name,
                                                   const std::string& flag_value,
                                                   const std::string& name, int access_mode) {
  if (!flag_value.empty()) {
    if (access(flag_value.c_str(), access_mode) != 0) {
      return absl::NotFoundError(absl::StrCat("--", flag_name, "=", flag_value, " is not usable"));
    }
    return flag_value;
  }
  const std::string self = SelfPath();
  const std::string dir = self.substr(0, self.rfind('/'));
  for (const std::string& candidate : {dir + "/" + name, self + ".runfiles/aia/bench/" + name}) {
    if (access(candidate.c_str(), access_mode) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("cannot find ", name,
                                          " beside transport_bench or in its runfiles; build "
                                          "//bench:all or give --",
                                          flag_name));
}

// Reads a "Name:   123 kB" field of /proc/self/status; -1 when absent.
int64_t StatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, field + ":")) continue;
    int64_t kb = 0;
    std::string digits(absl::StripSuffix(
        absl::StripAsciiWhitespace(absl::string_view(line).substr(field.size() + 1)), " kB"));
    if (absl::SimpleAtoi(digits, &kb)) return kb;
  }
  return -1;
}

// Watches a run start (q0 about to go out): takes the process's CPU time and,
// for the memory cases, resets the peak RSS (VmHWM) to the current RSS.
class StartProbe : public RunListener {
 public:
  explicit StartProbe(bool reset_peak) : reset_peak_(reset_peak) {}

  void Started() override {
    cpu_s_ = bench::ProcessCpuSeconds();
    if (!reset_peak_) return;
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5";  // resets VmHWM (Linux >= 4.0, proc(5))
    clear_refs.close();
    peak_reset_ = !clear_refs.fail();
    rss_kb_ = StatusKb("VmRSS");
  }
  void Record(const RecordRow&) override {}
  void Progress(const ProgressSnapshot&) override {}
  void Event(const std::string&) override {}

  std::optional<double> cpu_s() const { return cpu_s_; }
  bool peak_reset() const { return peak_reset_; }
  int64_t rss_kb() const { return rss_kb_; }

 private:
  const bool reset_peak_;
  std::optional<double> cpu_s_;
  bool peak_reset_ = false;
  int64_t rss_kb_ = -1;
};

// The small least-squares problem the echo and averaging runs carry (they
// ignore it; every worker needs a row).
void SetSmallProblem(int workers, v1::RunConfig& config) {
  v1::ProblemSpec* problem = config.mutable_problem();
  problem->set_name("least_squares");
  problem->mutable_synthetic()->set_rows(std::max(8, workers));
  problem->mutable_synthetic()->set_columns(2);
  problem->mutable_synthetic()->set_seed(1);
}

struct AiaOutcome {
  int64_t answers = 0;
  double elapsed_s = 0;
  // From q0 to RunCoordinator's return.
  double cpu_s = 0;
  std::string stop_reason;
};

// One run through RunCoordinator; `probe` watches its start.
absl::StatusOr<AiaOutcome> RunOnce(RunOptions options, StartProbe& probe) {
  options.listener = &probe;
  ASSIGN_OR_RETURN(RunResult result, RunCoordinator(options));
  const double cpu_end = bench::ProcessCpuSeconds();
  std::error_code ignored;
  std::filesystem::remove_all(options.out_dir, ignored);  // up to 2 queries
  const std::string& name = options.config.name();
  if (result.status != "completed") {
    return absl::InternalError(
        absl::StrCat("aia run ", name, " ", result.status, ": ", result.error));
  }
  if (result.elapsed_s <= 0 || !probe.cpu_s().has_value()) {
    return absl::InternalError(absl::StrCat("aia run ", name, " took no time"));
  }
  AiaOutcome outcome;
  outcome.answers =
      std::accumulate(result.answer_count.begin(), result.answer_count.end(), int64_t{0});
  outcome.elapsed_s = result.elapsed_s;
  outcome.cpu_s = cpu_end - *probe.cpu_s();
  outcome.stop_reason = result.stop_reason;
  return outcome;
}

// The full stack: `count` answers (async) or rounds (sync) of the echo plugin.
absl::StatusOr<AiaOutcome> RunAia(const Case& c, int64_t count,
                                  const std::vector<std::string>& addresses,
                                  const std::string& scratch, double seconds) {
  RunOptions options;
  v1::RunConfig& config = options.config;
  config.set_name(absl::StrCat("aia-", ModeName(c.mode), "-d", c.dimension, "-w", c.workers));
  config.set_mode(c.mode == Mode::kSync ? v1::RunConfig::SYNCHRONOUS : v1::RunConfig::ASYNCHRONOUS);
  config.mutable_algorithm()->set_name("echo");
  config.mutable_algorithm()->mutable_echo()->set_dimension(c.dimension);
  SetSmallProblem(c.workers, config);
  // Only record 0 and the final record are saved. The time limit only guards
  // against a case far slower than its raw counterpart (reported if it stops it).
  config.mutable_stop()->set_iteration(count);
  config.mutable_stop()->set_time_s(10 * seconds + 20);
  config.mutable_save()->set_iteration(count);
  options.workers = addresses;
  options.out_dir = absl::StrCat(scratch, "/", config.name());
  StartProbe probe(/*reset_peak=*/false);
  return RunOnce(std::move(options), probe);
}

struct RawOutcome {
  int64_t count = 0;  // round trips (async) or rounds (sync)
  int64_t answers = 0;
  double elapsed_s = 0;
  double cpu_s = 0;
};

// The raw baseline: exactly `count` when given, else for `seconds`.
absl::StatusOr<RawOutcome> RunRaw(const Case& c, int64_t count,
                                  const std::vector<std::string>& addresses, double seconds) {
  bench::PingPongOptions options;
  options.addresses = addresses;
  options.payload_bytes = c.dimension * 8;
  options.mode = c.mode == Mode::kSync ? bench::PingPongMode::kSynchronous
                                       : bench::PingPongMode::kAsynchronous;
  if (count > 0) {
    options.count = count;
  } else {
    options.count = c.mode == Mode::kSync ? 2 : 2 * c.workers;
    options.min_duration = absl::Seconds(seconds);
  }
  options.max_message_bytes = kMaxMessageBytes;
  options.run_timeout = absl::Seconds(10 * seconds + 120);
  ASSIGN_OR_RETURN(bench::PingPongResult result, bench::RunPingPong(options));
  if (result.elapsed_s <= 0) return absl::InternalError("raw ping-pong took no time");
  RawOutcome outcome;
  outcome.count = c.mode == Mode::kSync ? result.rounds : result.round_trips;
  outcome.answers = result.round_trips;
  outcome.elapsed_s = result.elapsed_s;
  outcome.cpu_s = result.cpu_s;
  return outcome;
}

// W daemons of a kind (aia_worker or pingpong_server), or none.
absl::StatusOr<std::unique_ptr<LocalWorkers>> StartDaemons(const std::string& binary, int count,
                                                           const std::string& log_dir) {
  LocalWorkers::Options options;
  options.binary = binary;
  options.count = count;
  options.max_message_bytes = kMaxMessageBytes;
  options.log_dir = log_dir;
  RETURN_IF_ERROR(bench::MakeDirectory(log_dir));
  return LocalWorkers::Start(options);
}

// "key=value" of one line of dask_echo.py's or a memory child's output.
std::map<std::string, std::string> Fields(absl::string_view line) {
  std::map<std::string, std::string> fields;
  for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    const size_t equals = word.find('=');
    if (equals != absl::string_view::npos) {
      fields[std::string(word.substr(0, equals))] = std::string(word.substr(equals + 1));
    }
  }
  return fields;
}

double Number(const std::map<std::string, std::string>& fields, const std::string& key) {
  double value = 0;
  auto it = fields.find(key);
  return it != fields.end() && absl::SimpleAtod(it->second, &value) ? value : 0;
}

// Runs dask_echo.py for W workers over `dimensions`; answers/s by dimension.
absl::StatusOr<std::map<int64_t, double>> RunDask(const std::string& script, int workers,
                                                  const std::vector<int64_t>& dimensions,
                                                  double seconds, const std::string& scratch,
                                                  double* startup_s) {
  const std::string stem = absl::StrCat(scratch, "/dask-w", workers);
  // Start (about 0.5 s a worker here), then per dimension the run and its grace.
  const absl::Duration timeout =
      absl::Seconds(60 + 2 * workers + dimensions.size() * (3 * seconds + 30));
  ASSIGN_OR_RETURN(
      std::string out,
      bench::RunCommand({absl::GetFlag(FLAGS_python), script, absl::StrCat("--workers=", workers),
                         absl::StrCat("--dimensions=", absl::StrJoin(dimensions, ",")),
                         absl::StrCat("--seconds=", seconds),
                         absl::StrCat("--min_answers=", 2 * workers), "--grace_s=30"},
                        timeout, stem + ".out", stem + ".log"));
  std::map<int64_t, double> rates;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    const std::map<std::string, std::string> fields = Fields(line);
    if (fields.count("startup_s") > 0) *startup_s = Number(fields, "startup_s");
    const double elapsed = Number(fields, "elapsed_s");
    if (fields.count("dimension") > 0 && elapsed > 0) {
      rates[static_cast<int64_t>(Number(fields, "dimension"))] =
          Number(fields, "answers") / elapsed;
    }
  }
  if (rates.size() != dimensions.size()) {
    return absl::InternalError(absl::StrCat("dask_echo.py printed ", rates.size(), " rates for ",
                                            dimensions.size(), " dimensions (", stem, ".out)"));
  }
  return rates;
}

// --memory_child=ALGORITHM:MODE:W: one run in this fresh process; prints
//   memory rss_q0_kb=... peak_kb=... answers=... elapsed_s=...
int MemoryChild(const std::string& spec) {
  const std::vector<std::string> parts = absl::StrSplit(spec, ':');
  int workers = 0;
  if (parts.size() != 3 || (parts[0] != "bench_averaging" && parts[0] != "echo") ||
      (parts[1] != "async" && parts[1] != "sync") || !absl::SimpleAtoi(parts[2], &workers) ||
      workers < 1 || workers > 64) {
    std::fprintf(stderr, "transport_bench: --memory_child=%s: expected ALGORITHM:MODE:W\n",
                 spec.c_str());
    return kUsage;
  }
  const std::string plugin_dir = absl::GetFlag(FLAGS_memory_plugin_dir);
  const bool averaging = parts[0] == "bench_averaging";
  auto fail = [&](const absl::Status& status) {
    std::fprintf(stderr, "transport_bench: memory case %s: %s\n", spec.c_str(),
                 status.ToString().c_str());
    return kFailed;
  };
  if (averaging) {
    // Before any thread, as the loader requires.
    absl::StatusOr<std::vector<LoadedPlugin>> loaded = LoadPlugins({plugin_dir}, "");
    if (!loaded.ok()) return fail(loaded.status());
  }
  absl::StatusOr<std::string> binary = bench::WorkerBinary(absl::GetFlag(FLAGS_worker_binary));
  if (!binary.ok()) return fail(binary.status());
  absl::StatusOr<std::string> scratch = bench::MakeScratchDirectory("transport_bench_memory");
  if (!scratch.ok()) return fail(scratch.status());
  LocalWorkers::Options worker_options;
  worker_options.count = workers;
  worker_options.binary = *binary;
  worker_options.log_dir = *scratch + "/logs";
  if (averaging) worker_options.plugin_dirs = {plugin_dir};
  if (absl::Status made = bench::MakeDirectory(worker_options.log_dir); !made.ok()) {
    return fail(made);
  }
  absl::StatusOr<std::unique_ptr<LocalWorkers>> daemons = LocalWorkers::Start(worker_options);
  if (!daemons.ok()) return fail(daemons.status());

  const int64_t dimension = absl::GetFlag(FLAGS_memory_dimension);
  const bool sync = parts[1] == "sync";
  absl::StatusOr<v1::RunConfig> parsed = ParseConfig(
      averaging ? absl::StrCat("algorithm { name: \"bench_averaging\" params { "
                               "[type.googleapis.com/aia.bench.AveragingBenchParams] { dimension: ",
                               dimension, " } } }")
                : absl::StrCat("algorithm { name: \"echo\" echo { dimension: ", dimension, " } }"),
      "transport_bench");
  if (!parsed.ok()) return fail(parsed.status());
  RunOptions options;
  v1::RunConfig& config = options.config;
  config = *std::move(parsed);
  config.set_name(absl::StrCat("memory-", parts[0], "-", parts[1], "-w", workers));
  config.set_mode(sync ? v1::RunConfig::SYNCHRONOUS : v1::RunConfig::ASYNCHRONOUS);
  SetSmallProblem(workers, config);
  const int64_t answers = absl::GetFlag(FLAGS_memory_answers);
  const int64_t count = sync ? answers : answers * workers;
  config.mutable_stop()->set_iteration(count);
  config.mutable_stop()->set_time_s(120);
  config.mutable_save()->set_iteration(count);
  options.workers = (*daemons)->addresses();
  options.out_dir = *scratch + "/run";
  StartProbe probe(/*reset_peak=*/true);
  absl::StatusOr<AiaOutcome> outcome = RunOnce(std::move(options), probe);
  const int64_t peak_kb = StatusKb("VmHWM");
  if (!outcome.ok()) return fail(outcome.status());
  if (!probe.peak_reset() || probe.rss_kb() < 0 || peak_kb < 0) {
    return fail(absl::UnavailableError(
        "cannot reset or read the peak RSS (/proc/self/clear_refs, VmHWM in /proc/self/status)"));
  }
  if (outcome->stop_reason != "iteration") {
    return fail(absl::InternalError(absl::StrCat("stopped by ", outcome->stop_reason)));
  }
  std::printf("memory rss_q0_kb=%lld peak_kb=%lld answers=%lld elapsed_s=%.3f\n",
              static_cast<long long>(probe.rss_kb()), static_cast<long long>(peak_kb),
              static_cast<long long>(outcome->answers), outcome->elapsed_s);
  std::fflush(stdout);
  daemons->reset();
  std::error_code ignored;
  std::filesystem::remove_all(*scratch, ignored);
  return kOk;
}

struct MemoryRow {
  std::string algorithm;
  std::string mode;
  int workers = 0;
  double rss_q0_mb = 0;
  double growth_mb = 0;
};

// One memory case in a child process (a fresh heap: in this process, memory freed
// by earlier cases would be reused without showing in the RSS).
absl::StatusOr<MemoryRow> RunMemoryCase(const std::string& algorithm, const std::string& mode,
                                        int workers, int64_t dimension,
                                        const std::string& worker_binary,
                                        const std::string& plugin_dir, const std::string& scratch) {
  const std::string stem = absl::StrCat(scratch, "/memory-", algorithm, "-", mode, "-w", workers);
  ASSIGN_OR_RETURN(
      std::string out,
      bench::RunCommand(
          {SelfPath(), absl::StrCat("--memory_child=", algorithm, ":", mode, ":", workers),
           "--memory_plugin_dir=" + plugin_dir, "--worker_binary=" + worker_binary,
           absl::StrCat("--memory_dimension=", dimension),
           absl::StrCat("--memory_answers=", absl::GetFlag(FLAGS_memory_answers))},
          absl::Seconds(240), stem + ".out", stem + ".log"));
  const std::map<std::string, std::string> fields = Fields(out);
  if (fields.count("peak_kb") == 0 || fields.count("rss_q0_kb") == 0) {
    return absl::InternalError(absl::StrCat("the memory child printed no result (", stem, ".out)"));
  }
  MemoryRow row;
  row.algorithm = algorithm;
  row.mode = mode;
  row.workers = workers;
  row.rss_q0_mb = Number(fields, "rss_q0_kb") / 1024;
  row.growth_mb = (Number(fields, "peak_kb") - Number(fields, "rss_q0_kb")) / 1024;
  return row;
}

// The memory series: the averaging wrapper in each mode of --modes, and echo
// asynchronous as the control (it keeps no state: what it grows is the engine's).
std::vector<std::pair<std::string, Mode>> MemorySeries(const std::vector<Mode>& modes) {
  std::vector<std::pair<std::string, Mode>> series;
  for (Mode mode : modes) series.push_back({"bench_averaging", mode});
  if (std::count(modes.begin(), modes.end(), Mode::kAsync) > 0) {
    series.push_back({"echo", Mode::kAsync});
  }
  return series;
}

// The memory cases of --memory_workers, printed as they come, then the growth
// per added worker of each series. An error for the first case that fails.
absl::Status RunMemoryCases(const Settings& s, const std::string& worker_binary,
                            const std::string& scratch) {
  // The plugin alone in a directory: a plugin directory's every *.so is loaded.
  ASSIGN_OR_RETURN(std::string plugin,
                   FindBesideOrInRunfiles("memory_plugin_dir", "", kPluginLibrary, R_OK));
  const std::string plugin_dir = scratch + "/plugins";
  RETURN_IF_ERROR(bench::MakeDirectory(plugin_dir));
  std::error_code error;
  std::filesystem::copy_file(plugin, plugin_dir + "/" + kPluginLibrary, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot copy ", plugin, " to ", plugin_dir, ": ", error.message()));
  }
  const int64_t d = s.memory_dimension;
  std::printf(
      "\ncoordinator memory at D=%lld (%.1f MB a message), %d answers per worker (rounds, "
      "sync); each case a fresh child process; growth = VmHWM at the run's end (reset at q0) - "
      "VmRSS at q0\n",
      static_cast<long long>(d), d * 8 / 1e6, absl::GetFlag(FLAGS_memory_answers));
  std::printf("%-16s %-5s %3s %14s %12s %11s\n", "algorithm", "mode", "W", "RSS at q0 (MB)",
              "growth (MB)", "growth / W");
  std::string slopes;
  for (const auto& [algorithm, mode] : MemorySeries(s.modes)) {
    std::vector<MemoryRow> series;
    for (int64_t w : s.memory_workers) {
      ASSIGN_OR_RETURN(MemoryRow row, RunMemoryCase(algorithm, ModeName(mode), static_cast<int>(w),
                                                    d, worker_binary, plugin_dir, scratch));
      std::printf("%-16s %-5s %3d %14.1f %12.1f %11.1f\n", algorithm.c_str(), ModeName(mode),
                  row.workers, row.rss_q0_mb, row.growth_mb, row.growth_mb / w);
      std::fflush(stdout);
      series.push_back(row);
    }
    const MemoryRow& first = series.front();
    const MemoryRow& last = series.back();
    if (last.workers > first.workers) {
      absl::StrAppendFormat(&slopes, " %s %s %.1f;", algorithm, ModeName(mode),
                            (last.growth_mb - first.growth_mb) / (last.workers - first.workers));
    }
  }
  if (!slopes.empty()) {
    std::printf("growth per added worker, W=%lld to %lld (MB):%s a message is %.1f MB\n",
                static_cast<long long>(s.memory_workers.front()),
                static_cast<long long>(s.memory_workers.back()), slopes.c_str(), d * 8 / 1e6);
  }
  return absl::OkStatus();
}

std::string Cell(double value, const char* format) {
  return value > 0 ? absl::StrFormat(format, value) : std::string("-");
}

// The ratio a / b, or "-" when either side did not run.
std::string Ratio(double a, double b) {
  return a > 0 && b > 0 ? absl::StrFormat("%.2f", a / b) : "-";
}

// One matrix of ratios: a row per dimension, a column per worker count.
void PrintMatrix(const std::string& title, const Settings& s, const std::vector<Row>& rows,
                 Mode mode, double Row::*numerator, double Row::*denominator) {
  std::printf("\n%s\n%10s", title.c_str(), "D \\ W");
  for (int64_t w : s.workers) std::printf(" %6lld", static_cast<long long>(w));
  std::printf("\n");
  for (int64_t d : s.dimensions) {
    std::printf("%10lld", static_cast<long long>(d));
    for (int64_t w : s.workers) {
      std::string cell = "skip";
      for (const Row& row : rows) {
        if (row.c.mode == mode && row.c.dimension == d && row.c.workers == w) {
          cell = Ratio(row.*numerator, row.*denominator);
        }
      }
      std::printf(" %6s", cell.c_str());
    }
    std::printf("\n");
  }
}

int Main() {
  if (const std::string child = absl::GetFlag(FLAGS_memory_child); !child.empty()) {
    return MemoryChild(child);
  }
  const absl::Time bench_start = absl::Now();
  auto say = [](const absl::Status& status) {
    std::fprintf(stderr, "transport_bench: %s\n", std::string(status.message()).c_str());
  };
  absl::StatusOr<Settings> settings = SettingsFromFlags();
  if (!settings.ok()) {
    say(settings.status());
    return kUsage;
  }
  const Settings& s = *settings;
  absl::StatusOr<std::string> worker_binary =
      bench::WorkerBinary(absl::GetFlag(FLAGS_worker_binary));
  absl::StatusOr<std::string> pingpong_binary = FindBesideOrInRunfiles(
      "pingpong_binary", absl::GetFlag(FLAGS_pingpong_binary), "pingpong_server", X_OK);
  for (const absl::Status& status : {worker_binary.status(), pingpong_binary.status()}) {
    if (!status.ok()) {
      say(status);
      return kUsage;
    }
  }
  absl::StatusOr<std::string> made = bench::MakeScratchDirectory("transport_bench");
  if (!made.ok()) {
    say(made.status());
    return kFailed;
  }
  const std::string scratch = *made;
  int exit_code = kOk;
  auto failed = [&](const absl::Status& status) {
    std::fprintf(stderr, "transport_bench: %s (logs in %s)\n", status.ToString().c_str(),
                 scratch.c_str());
    exit_code = kFailed;
  };

  // Dask: the script and a Python that has it.
  const bool wants_async = std::count(s.modes.begin(), s.modes.end(), Mode::kAsync) > 0;
  std::string dask_script;
  std::string dask_note;
  if (!absl::GetFlag(FLAGS_dask) || !s.only.empty() || !wants_async) {
    dask_note = "not run (--nodask, --only or no async mode)";
  } else if (absl::StatusOr<std::string> script = FindBesideOrInRunfiles(
                 "dask_script", absl::GetFlag(FLAGS_dask_script), "dask_echo.py", R_OK);
             !script.ok()) {
    dask_note = absl::StrCat("not run: ", script.status().message());
  } else {
    absl::StatusOr<std::string> version = bench::RunCommand(
        {absl::GetFlag(FLAGS_python), "-c",
         "import dask.distributed, numpy; print(dask.distributed.__version__)"},
        absl::Seconds(60), scratch + "/dask-version.out", scratch + "/dask-version.log");
    if (version.ok()) {
      dask_script = *script;
      dask_note = absl::StrCat("Dask distributed ", absl::StripAsciiWhitespace(*version), " (",
                               absl::GetFlag(FLAGS_python),
                               "), W <= ", absl::GetFlag(FLAGS_dask_max_workers),
                               ", D <= ", absl::GetFlag(FLAGS_dask_max_dimension),
                               ", async only (its loop keeps one task per worker in flight)");
    } else {
      dask_note = absl::StrCat("not run: ", absl::GetFlag(FLAGS_python),
                               " cannot import dask.distributed and numpy (scripts/setup.sh "
                               "installs python3-distributed)");
    }
  }

  std::printf("%s; %.1f GiB\n", bench::MachineLine().c_str(),
              sysconf(_SC_PHYS_PAGES) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 30));
  std::printf("date: %s; build: -c %s; gRPC %s (system library); load average at start: %s\n",
              bench::Today().c_str(), kCompilationMode, grpc::Version().c_str(),
              bench::LoadAverage().c_str());
  if (s.iterations.empty()) {
    std::printf(
        "count per case: raw runs %.1f s (at least 2W round trips, or 2 rounds); aia runs the "
        "same count of answers (async) or rounds (sync)\n",
        s.seconds);
  } else {
    std::printf("count per case: --iterations=%s\n", absl::GetFlag(FLAGS_iterations).c_str());
  }
  std::printf("dask: %s\n", dask_note.c_str());
  std::vector<std::string> skipped;
  for (int64_t d : s.dimensions) {
    std::vector<int64_t> too_many;
    for (int64_t w : s.workers) {
      if (TooBig(static_cast<int>(w), d)) too_many.push_back(w);
    }
    if (!too_many.empty()) {
      skipped.push_back(absl::StrFormat("D=%d with W=%s (W x %.1f MB > %d MiB)", d,
                                        absl::StrJoin(too_many, ","), d * 8 / 1e6,
                                        absl::GetFlag(FLAGS_max_inflight_mb)));
    }
  }
  std::printf("skipped (--max_inflight_mb): %s\n",
              skipped.empty() ? "none" : absl::StrJoin(skipped, "; ").c_str());
  std::fflush(stdout);

  std::vector<Row> rows;
  std::vector<std::string> dask_startups;
  for (int64_t w64 : s.workers) {
    const int w = static_cast<int>(w64);
    std::vector<Case> cases;
    for (size_t d = 0; d < s.dimensions.size(); ++d) {
      if (TooBig(w, s.dimensions[d])) continue;
      for (Mode mode : s.modes) {
        cases.push_back({mode, w, s.dimensions[d], s.iterations.empty() ? 0 : s.iterations[d]});
      }
    }
    if (cases.empty()) continue;
    std::unique_ptr<LocalWorkers> aia_daemons;
    std::unique_ptr<LocalWorkers> raw_daemons;
    if (s.only != "raw") {
      absl::StatusOr<std::unique_ptr<LocalWorkers>> started =
          StartDaemons(*worker_binary, w, absl::StrCat(scratch, "/aia-w", w, "-logs"));
      if (!started.ok()) {
        failed(started.status());
        continue;
      }
      aia_daemons = *std::move(started);
    }
    if (s.only != "aia") {
      absl::StatusOr<std::unique_ptr<LocalWorkers>> started =
          StartDaemons(*pingpong_binary, w, absl::StrCat(scratch, "/raw-w", w, "-logs"));
      if (!started.ok()) {
        failed(started.status());
        continue;
      }
      raw_daemons = *std::move(started);
    }
    for (const Case& c : cases) {
      const absl::Time case_start = absl::Now();
      Row row;
      row.c = c;
      row.count = c.fixed_count;
      if (raw_daemons != nullptr) {
        absl::StatusOr<RawOutcome> raw =
            RunRaw(c, c.fixed_count, raw_daemons->addresses(), s.seconds);
        if (!raw.ok()) {
          failed(raw.status());
          continue;
        }
        row.count = raw->count;
        row.raw_rate = raw->answers / raw->elapsed_s;
        row.raw_cpu_us = 1e6 * raw->cpu_s / raw->answers;
      }
      if (aia_daemons != nullptr) {
        absl::StatusOr<AiaOutcome> aia =
            RunAia(c, row.count, aia_daemons->addresses(), scratch, s.seconds);
        if (!aia.ok()) {
          failed(aia.status());
          continue;
        }
        row.aia_rate = aia->answers / aia->elapsed_s;
        row.aia_cpu_us = 1e6 * aia->cpu_s / aia->answers;
        row.aia_time_stop = aia->stop_reason != "iteration";
      }
      std::printf("  done %-5s W=%-2d D=%-8lld count %-7lld aia %s/s raw %s/s (%.1f s)\n",
                  ModeName(c.mode), w, static_cast<long long>(c.dimension),
                  static_cast<long long>(row.count), Cell(row.aia_rate, "%.1f").c_str(),
                  Cell(row.raw_rate, "%.1f").c_str(),
                  absl::ToDoubleSeconds(absl::Now() - case_start));
      std::fflush(stdout);
      rows.push_back(row);
    }
    aia_daemons.reset();
    raw_daemons.reset();

    std::vector<int64_t> dask_dimensions;
    for (const Case& c : cases) {
      if (c.mode == Mode::kAsync && c.dimension <= absl::GetFlag(FLAGS_dask_max_dimension)) {
        dask_dimensions.push_back(c.dimension);
      }
    }
    if (dask_script.empty() || w > absl::GetFlag(FLAGS_dask_max_workers) ||
        dask_dimensions.empty()) {
      continue;
    }
    double startup_s = 0;
    absl::StatusOr<std::map<int64_t, double>> dask =
        RunDask(dask_script, w, dask_dimensions, s.seconds, scratch, &startup_s);
    if (!dask.ok()) {
      failed(dask.status());
      continue;
    }
    for (Row& row : rows) {
      if (row.c.mode == Mode::kAsync && row.c.workers == w && dask->count(row.c.dimension) > 0) {
        row.dask_rate = dask->at(row.c.dimension);
      }
    }
    dask_startups.push_back(absl::StrFormat("W=%d %.1f s", w, startup_s));
    std::printf("  done dask  W=%-2d (cluster started in %.1f s)\n", w, startup_s);
    std::fflush(stdout);
  }

  // The table: a block per mode and D, W growing within it.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.c.mode != b.c.mode) return a.c.mode < b.c.mode;
    if (a.c.dimension != b.c.dimension) return a.c.dimension < b.c.dimension;
    return a.c.workers < b.c.workers;
  });
  std::printf("\n%-5s %3s %9s %8s %12s %12s %8s %11s %9s %10s %10s\n", "mode", "W", "D", "count",
              "aia ans/s", "raw ans/s", "aia/raw", "dask ans/s", "aia/dask", "aia CPU", "raw CPU");
  std::printf("%-5s %3s %9s %8s %12s %12s %8s %11s %9s %10s %10s\n", "", "", "", "", "", "", "", "",
              "", "us/answer", "us/answer");
  for (const Row& row : rows) {
    std::printf("%-5s %3d %9lld %8lld %12s %12s %8s %11s %9s %10s %10s%s\n", ModeName(row.c.mode),
                row.c.workers, static_cast<long long>(row.c.dimension),
                static_cast<long long>(row.count), Cell(row.aia_rate, "%.1f").c_str(),
                Cell(row.raw_rate, "%.1f").c_str(), Ratio(row.aia_rate, row.raw_rate).c_str(),
                Cell(row.dask_rate, "%.1f").c_str(), Ratio(row.aia_rate, row.dask_rate).c_str(),
                Cell(row.aia_cpu_us, "%.0f").c_str(), Cell(row.raw_cpu_us, "%.0f").c_str(),
                row.aia_time_stop ? "  (aia stopped by its time limit)" : "");
  }
  for (Mode mode : s.modes) {
    PrintMatrix(absl::StrCat("aia/raw, ", ModeName(mode)), s, rows, mode, &Row::aia_rate,
                &Row::raw_rate);
  }
  if (!dask_script.empty()) {
    PrintMatrix("aia/dask, async", s, rows, Mode::kAsync, &Row::aia_rate, &Row::dask_rate);
    std::printf("dask cluster start: %s\n", absl::StrJoin(dask_startups, ", ").c_str());
  }
  std::fflush(stdout);

  if (absl::GetFlag(FLAGS_memory) && s.only.empty()) {
    if (absl::Status memory = RunMemoryCases(s, *worker_binary, scratch); !memory.ok()) {
      failed(memory);
    }
  }

  std::printf("\nload average at end: %s; total wall time %.0f s\n", bench::LoadAverage().c_str(),
              absl::ToDoubleSeconds(absl::Now() - bench_start));
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
      argc, argv, "transport_bench",
      "aia against raw gRPC and Dask, W and D growing; the coordinator's memory "
      "(bench/README.md).\n"
      "Usage: transport_bench [--workers=1,2,4,8,16,32,64] "
      "[--dimensions=10,1000,100000,1000000,10000000] [--modes=async,sync] [--seconds=1.5] "
      "[--quick]",
      aia::Main);
}
