// cutting_plane_bench: the asynchronous cutting-plane method against the
// synchronous one on real two-stage stochastic LPs, with and without simulated
// stragglers, for several local worker counts (bench/README.md).
//
//   bazel run -c opt //bench:cutting_plane_bench -- [--data=DIR]
//       [--instances=stormg2_1000,storm_sampled] [--workers=1,2,4,8]
//       [--stragglers=off,on] [--repeats=3] [--quick]
//
// Every case is one run of the `cutting_plane` plugin through the full stack: W
// fresh aia_worker daemons on loopback (LocalWorkers, as `aia run
// --local_workers=W` starts them) and RunCoordinator in this process, until the
// relative gap is <= --tolerance. The methods:
//   sync   alpha = 1, basket 1: the next candidate waits for every task of the
//          current one (the synchronous L-shaped method, one cut per chunk).
//   async  alpha = 0.6, basket 3: a candidate triggers the next once 60% of its
//          tasks are back; at most 3 candidates have tasks out.
// Both use chunk --chunk scenarios per task and block_size 1.
//
// Every case runs --repeats times in a row. Per case it prints the median time to
// the tolerance and the spread (min-max) over the repeats (RunResult.elapsed_s:
// from q0 to the stop, worker setup excluded); for the median run, subproblems
// per second (the report's evaluations * chunk / elapsed_s: recourse LPs solved,
// including those of candidates that were superseded), the candidates, the final
// objective and its distance to the reference; parallel efficiency (t1 / tW) / W
// of the medians against W = 1 of the same method, instance and straggler
// setting; and whether every repeat passed the check below.
//
// The check (CheckObjective): a run stops at relative gap g = (U - L) / max(1,
// |U|) <= --tolerance, U the objective of the best fully evaluated candidate
// (the objective reported), L the master's value, a lower bound. The optimum f*
// lies in [L, U], so 0 <= U - f* <= U - L = g * max(1, |U|): the reported
// objective is at or above the optimum by at most g * max(1, |U|), with g the
// run's own final gap. The reference stands for f* (the optimum certified by
// duality for stormG2-1000, 15802590.2445, given to 4 decimals; the extensive
// form solved by Clp for the sampled storm), so a run passes when
//   -(below + e) <= U - reference <= g * max(1, |U|) + above + e
// where [reference - below, reference + above] holds f* (below = above = 5e-5,
// the rounding of the certified value's last digit; 0 for the extensive form;
// for a reference taken from a first run, below = its own g * max(1, |U|)) and
// e = 1e-9 * max(1, |reference|) covers floating point in the sums of chunk
// values and the LP solver's tolerances. The published POSTS value
// (15802589.698, 3.5e-8 below the certified one) is printed for comparison only.
//
// Stragglers (RunConfig.stragglers): after each answer a worker sleeps a Lomax
// delay, P(delay > t) = (1 + t / scale_s)^-shape, seeded per worker. By default
// scale_s = --straggler_factor * the mean task time of the synchronous W = 1 run
// without stragglers on the same instance (measured first), so the delays are
// commensurate with the work on any machine.
//
// Exit status: 0 every run reached the tolerance and passed the check, 1 a run
// failed or its objective is outside the bound, 2 bad flags, a missing binary or
// missing data.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
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
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "bench/harness.h"
#include "coordinator/engine.h"
#include "coordinator/local_workers.h"
#include "problems/smps/smps.h"
#include "proto/config.pb.h"

ABSL_FLAG(std::string, data, "",
          "the shared data folder (holds smps/posts/storm and smps/wright/storm); default "
          "$AIA_SHARED_DATA, else ../shared/data beside the checkout (under bazel run)");
ABSL_FLAG(std::string, instances, "stormg2_1000,storm_sampled",
          "comma-separated instances: stormg2_1000 (stormG2, 1000 scenarios), "
          "storm_sampled (Linderoth & Wright's storm, --storm_sample scenarios)");
ABSL_FLAG(std::string, workers, "1,2,4,8", "comma-separated worker counts W, each in [1, 64]");
ABSL_FLAG(std::string, methods, "sync,async", "comma-separated methods: sync, async");
ABSL_FLAG(std::string, stragglers, "off,on", "comma-separated straggler settings: off, on");
ABSL_FLAG(int64_t, chunk, 25, "scenarios per task, the same for every case");
ABSL_FLAG(double, tolerance, 1e-6, "stop at this relative gap (upper - lower) / max(1, |upper|)");
ABSL_FLAG(double, time_s, 900, "a run that has not converged after this many seconds fails");
ABSL_FLAG(int64_t, storm_sample, 200, "storm_sampled: scenarios drawn from storm's distribution");
ABSL_FLAG(uint64_t, sample_seed, 3, "storm_sampled: the sampling seed");
ABSL_FLAG(double, straggler_shape, 2.5, "Lomax shape of the straggler delays (> 1)");
ABSL_FLAG(double, straggler_factor, 2.0,
          "scale_s = this * the mean task time of the sync W = 1 run without stragglers");
ABSL_FLAG(double, straggler_scale_s, 0,
          "a fixed straggler scale_s for every instance (0: from --straggler_factor)");
ABSL_FLAG(uint64_t, straggler_seed, 17, "seed of the straggler delays (worker i uses seed + i)");
ABSL_FLAG(bool, extensive_form, true,
          "storm_sampled: solve the extensive form with Clp for the reference (else the "
          "first case's objective is the reference)");
ABSL_FLAG(int, repeats, 3, "runs of every case (the table gives the median time and min-max)");
ABSL_FLAG(bool, quick, false,
          "smoke run: storm_sampled with 100 scenarios, W = 1,2 (about 2 minutes with 3 "
          "repeats)");
ABSL_FLAG(std::string, worker_binary, "",
          "aia_worker executable (default: found as `aia` finds it)");

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

// --data, else $AIA_SHARED_DATA, else ../shared/data beside the checkout (bazel run
// sets BUILD_WORKSPACE_DIRECTORY), else "." (and the instances' files are reported
// missing): never one machine's absolute path.
std::string SharedData() {
  if (std::string flag = absl::GetFlag(FLAGS_data); !flag.empty()) return flag;
  if (const char* env = std::getenv("AIA_SHARED_DATA"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY"); workspace != nullptr) {
    return absl::StrCat(workspace, "/../shared/data");
  }
  return ".";
}

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

// stormG2 with 1000 scenarios: the optimum certified by duality (issue 11), to
// 4 decimals, and the value POSTS publishes (posts/Post_Results), for comparison.
constexpr double kStormG2_1000Optimum = 15802590.2445;
constexpr double kStormG2_1000Rounding = 5e-5;
constexpr double kStormG2_1000Published = 15802589.698;
// Floating point in the objective's sums and the LP tolerances, relative.
constexpr double kEvaluationError = 1e-9;

struct Instance {
  std::string name;   // as in --instances
  std::string label;  // for the table
  std::string dir;    // under --data
  std::string cor, tim, sto;
  int64_t sample = 0;  // 0: every scenario
  uint64_t seed = 0;
  std::optional<double> reference;  // known in advance
  // The optimum lies in [reference - below, reference + above].
  double below = 0;
  double above = 0;
  std::string reference_source;
  std::optional<double> published;  // printed only
};

enum class Method { kSync, kAsync };

struct Case {
  const Instance* instance = nullptr;
  Method method = Method::kSync;
  int workers = 1;
  bool stragglers = false;
};

struct Outcome {
  double elapsed_s = 0;
  double evaluations = 0;
  double chunk = 0;
  double candidates = 0;
  double objective = 0;
  double gap = 0;
  double mean_task_s = 0;  // per answer, from workers.csv (stragglers included)
};

// A comma-separated list of words, each one of `known`.
absl::StatusOr<std::vector<std::string>> ParseWords(const std::string& flag,
                                                    const std::string& text,
                                                    const std::vector<std::string>& known) {
  std::vector<std::string> values;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    const std::string word(absl::StripAsciiWhitespace(item));
    if (std::find(known.begin(), known.end(), word) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", text, ": unknown '", word,
                                                     "' (known: ", absl::StrJoin(known, ", "),
                                                     ")"));
    }
    values.push_back(word);
  }
  return values;
}

std::vector<Instance> KnownInstances(int64_t storm_sample, uint64_t sample_seed) {
  Instance stormg2;
  stormg2.name = "stormg2_1000";
  stormg2.label = "stormG2-1000";
  stormg2.dir = "smps/posts/storm";
  stormg2.cor = "stormg2.cor";
  stormg2.tim = "stormg2.tim";
  stormg2.sto = "stormg2-1000.sto";
  stormg2.reference = kStormG2_1000Optimum;
  stormg2.below = kStormG2_1000Rounding;
  stormg2.above = kStormG2_1000Rounding;
  stormg2.reference_source = "the optimum certified by duality, +-5e-5";
  stormg2.published = kStormG2_1000Published;
  Instance storm;
  storm.name = "storm_sampled";
  storm.label = absl::StrCat("storm-", storm_sample);
  storm.dir = "smps/wright/storm";
  storm.cor = "storm.cor";
  storm.tim = "storm.tim";
  storm.sto = "storm.sto";
  storm.sample = storm_sample;
  storm.seed = sample_seed;
  return {stormg2, storm};
}

v1::SmpsFiles SmpsFilesOf(const Instance& instance) {
  v1::SmpsFiles files;
  files.set_cor(absl::StrCat(instance.dir, "/", instance.cor));
  files.set_tim(absl::StrCat(instance.dir, "/", instance.tim));
  files.set_sto(absl::StrCat(instance.dir, "/", instance.sto));
  files.set_sample(instance.sample);
  files.set_seed(instance.seed);
  return files;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The number after "key": in summary.json (its keys are unique in our reading).
absl::StatusOr<double> JsonNumber(const std::string& json, const std::string& key) {
  const std::string needle = absl::StrCat("\"", key, "\": ");
  const size_t at = json.find(needle);
  if (at == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("summary.json has no \"", key, "\""));
  }
  const char* begin = json.c_str() + at + needle.size();
  char* end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin) {
    return absl::DataLossError(
        absl::StrCat("summary.json: \"", key, "\" is not a number (", json.substr(at, 40), ")"));
  }
  return value;
}

// The mean compute time per answer over all workers, weighted by their answers
// (workers.csv: worker,address,answers,failures,mean_compute_s,state,cause).
double MeanTaskSeconds(const std::string& csv) {
  double total_s = 0;
  int64_t answers = 0;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    if (header) {
      header = false;
      continue;
    }
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    int64_t n = 0;
    double mean = 0;
    if (fields.size() < 5 || !absl::SimpleAtoi(fields[2], &n) ||
        !absl::SimpleAtod(fields[4], &mean)) {
      continue;
    }
    total_s += n * mean;
    answers += n;
  }
  return answers > 0 ? total_s / answers : 0;
}

const char* MethodName(Method method) { return method == Method::kSync ? "sync" : "async"; }

std::string CaseName(const Case& c) {
  return absl::StrCat(c.instance->name, "-", MethodName(c.method), "-w", c.workers,
                      c.stragglers ? "-stragglers" : "");
}

// One run to the tolerance. `straggler_scale_s` is used when c.stragglers.
absl::StatusOr<Outcome> RunCase(const Case& c, double straggler_scale_s, const std::string& binary,
                                const std::string& data, const std::string& scratch) {
  const std::string name = CaseName(c);
  LocalWorkers::Options worker_options;
  worker_options.count = c.workers;
  worker_options.binary = binary;
  worker_options.data_root = data;
  worker_options.log_dir = absl::StrCat(scratch, "/", name, "-logs");
  RETURN_IF_ERROR(bench::MakeDirectory(worker_options.log_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<LocalWorkers> workers, LocalWorkers::Start(worker_options));

  RunOptions options;
  v1::RunConfig& config = options.config;
  config.set_name(name);
  config.mutable_algorithm()->set_name("cutting_plane");
  v1::CuttingPlaneParams* params = config.mutable_algorithm()->mutable_cutting_plane();
  params->set_alpha(c.method == Method::kSync ? 1.0 : 0.6);
  params->set_basket(c.method == Method::kSync ? 1 : 3);
  params->set_block_size(1);
  params->set_chunk(absl::GetFlag(FLAGS_chunk));
  params->set_tolerance(absl::GetFlag(FLAGS_tolerance));
  config.mutable_problem()->set_name("two_stage_lp");
  *config.mutable_problem()->mutable_smps() = SmpsFilesOf(*c.instance);
  config.mutable_stop()->set_time_s(absl::GetFlag(FLAGS_time_s));
  // Record 0, then rarely: the history is not what is measured.
  config.mutable_save()->set_iteration(int64_t{1} << 40);
  // Eight daemons reading 1000 scenarios on 2 cores take a while to be ready.
  config.mutable_limits()->set_setup_timeout_s(600);
  if (c.stragglers) {
    v1::Stragglers* stragglers = config.mutable_stragglers();
    stragglers->set_shape(absl::GetFlag(FLAGS_straggler_shape));
    stragglers->set_scale_s(straggler_scale_s);
    stragglers->set_seed(absl::GetFlag(FLAGS_straggler_seed));
  }
  options.workers = workers->addresses();
  options.out_dir = absl::StrCat(scratch, "/", name);
  options.data_root = data;
  ASSIGN_OR_RETURN(RunResult result, RunCoordinator(options));
  if (result.status != "completed" || result.stop_reason != "algorithm") {
    return absl::InternalError(absl::StrCat(
        "run ", name, " ", result.status,
        result.status == "completed" ? absl::StrCat(" but stopped by ", result.stop_reason,
                                                    " before the tolerance (raise --time_s)")
                                     : absl::StrCat(": ", result.error)));
  }
  const std::string summary = ReadFile(options.out_dir + "/summary.json");
  Outcome outcome;
  outcome.elapsed_s = result.elapsed_s;
  ASSIGN_OR_RETURN(outcome.evaluations, JsonNumber(summary, "evaluations"));
  ASSIGN_OR_RETURN(outcome.chunk, JsonNumber(summary, "chunk"));
  ASSIGN_OR_RETURN(outcome.candidates, JsonNumber(summary, "candidates"));
  ASSIGN_OR_RETURN(outcome.objective, JsonNumber(summary, "objective"));
  ASSIGN_OR_RETURN(outcome.gap, JsonNumber(summary, "gap"));
  outcome.mean_task_s = MeanTaskSeconds(ReadFile(options.out_dir + "/workers.csv"));
  std::error_code ignored;
  std::filesystem::remove_all(options.out_dir, ignored);
  std::filesystem::remove_all(worker_options.log_dir, ignored);
  return outcome;
}

// The check of the file comment: U - reference against the bounds the stop rule
// implies for a run that stopped at relative gap `gap`.
struct Check {
  double error = 0;  // U - reference
  double low = 0;    // -(below + e)
  double high = 0;   // g * max(1, |U|) + above + e
  bool ok() const { return error >= low && error <= high; }
};

Check CheckObjective(const Instance& instance, double objective, double gap) {
  const double reference = instance.reference.value_or(NAN);
  const double e = kEvaluationError * std::max(1.0, std::abs(reference));
  Check check;
  check.error = objective - reference;
  check.low = -(instance.below + e);
  check.high = gap * std::max(1.0, std::abs(objective)) + instance.above + e;
  return check;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int Main() {
  const bool quick = absl::GetFlag(FLAGS_quick);
  const int64_t storm_sample = quick ? 100 : absl::GetFlag(FLAGS_storm_sample);
  const std::vector<Instance> known =
      KnownInstances(storm_sample, absl::GetFlag(FLAGS_sample_seed));
  auto usage = [](const absl::Status& status) {
    std::fprintf(stderr, "cutting_plane_bench: %s\n", std::string(status.message()).c_str());
    return kUsage;
  };
  absl::StatusOr<std::vector<std::string>> instance_names =
      ParseWords("instances", quick ? "storm_sampled" : absl::GetFlag(FLAGS_instances),
                 {"stormg2_1000", "storm_sampled"});
  if (!instance_names.ok()) return usage(instance_names.status());
  absl::StatusOr<std::vector<int64_t>> worker_counts =
      bench::ParseIntegers("workers", quick ? "1,2" : absl::GetFlag(FLAGS_workers), 1, 64);
  if (!worker_counts.ok()) return usage(worker_counts.status());
  absl::StatusOr<std::vector<std::string>> methods =
      ParseWords("methods", absl::GetFlag(FLAGS_methods), {"sync", "async"});
  if (!methods.ok()) return usage(methods.status());
  absl::StatusOr<std::vector<std::string>> straggler_settings =
      ParseWords("stragglers", absl::GetFlag(FLAGS_stragglers), {"off", "on"});
  if (!straggler_settings.ok()) return usage(straggler_settings.status());
  const int repeats = absl::GetFlag(FLAGS_repeats);
  if (absl::GetFlag(FLAGS_chunk) < 1 || storm_sample < 1 || repeats < 1 || repeats > 99 ||
      !(absl::GetFlag(FLAGS_time_s) > 0) || !(absl::GetFlag(FLAGS_tolerance) > 0) ||
      !(absl::GetFlag(FLAGS_straggler_shape) > 1) || !(absl::GetFlag(FLAGS_straggler_factor) > 0) ||
      !(absl::GetFlag(FLAGS_straggler_scale_s) >= 0)) {
    return usage(absl::InvalidArgumentError(
        "--chunk, --storm_sample, --time_s, --tolerance and --straggler_factor must be > 0, "
        "--repeats in [1, 99], --straggler_shape > 1 and --straggler_scale_s >= 0"));
  }
  absl::StatusOr<std::string> binary = bench::WorkerBinary(absl::GetFlag(FLAGS_worker_binary));
  if (!binary.ok()) return usage(binary.status());

  // The instances, their data checked before anything runs.
  const std::string data = SharedData();
  std::vector<Instance> instances;
  for (const std::string& name : *instance_names) {
    for (const Instance& instance : known) {
      if (instance.name != name) continue;
      for (const std::string& file : {instance.cor, instance.tim, instance.sto}) {
        const std::string path = absl::StrCat(data, "/", instance.dir, "/", file);
        if (!std::filesystem::exists(path)) {
          std::fprintf(stderr,
                       "cutting_plane_bench: %s needs %s, which is absent; give --data=DIR "
                       "with DIR/%s/ (the project's shared data, ../shared/data beside the "
                       "checkout; see its README.md) or leave it out of --instances\n",
                       instance.name.c_str(), path.c_str(), instance.dir.c_str());
          return kUsage;
        }
      }
      instances.push_back(instance);
    }
  }

  absl::StatusOr<std::string> made = bench::MakeScratchDirectory("cutting_plane_bench");
  if (!made.ok()) {
    std::fprintf(stderr, "cutting_plane_bench: %s\n", std::string(made.status().message()).c_str());
    return kFailed;
  }
  const std::string scratch = *made;

  std::printf("%s\n", bench::MachineLine().c_str());
  std::printf("date: %s; build: -c %s; load average at start: %s\n", bench::Today().c_str(),
              kCompilationMode, bench::LoadAverage().c_str());
  std::printf(
      "cutting_plane, chunk %lld scenarios a task, block_size 1, tolerance %g; sync = alpha 1 "
      "basket 1, async = alpha 0.6 basket 3\n",
      static_cast<long long>(absl::GetFlag(FLAGS_chunk)), absl::GetFlag(FLAGS_tolerance));
  std::fflush(stdout);

  const absl::Time bench_start = absl::Now();
  int exit_code = kOk;
  // Every run of a case, in order, with its check.
  struct Row {
    Case c;
    std::vector<Outcome> runs;
    std::vector<Check> checks;
  };
  std::vector<Row> rows;
  for (Instance& instance : instances) {
    if (!instance.reference.has_value() && absl::GetFlag(FLAGS_extensive_form)) {
      const absl::Time start = absl::Now();
      absl::StatusOr<TwoStageProgram> program = ReadSmpsFiles(SmpsFilesOf(instance), data);
      absl::StatusOr<ExtensiveFormSolution> ef =
          program.ok() ? SolveExtensiveForm(*program)
                       : absl::StatusOr<ExtensiveFormSolution>(program.status());
      if (!ef.ok()) {
        std::fprintf(stderr, "cutting_plane_bench: %s: extensive form: %s\n",
                     instance.label.c_str(), ef.status().ToString().c_str());
        exit_code = kFailed;
      } else {
        instance.reference = ef->objective;
        instance.reference_source = absl::StrFormat("its extensive form solved by Clp (%.0f s)",
                                                    absl::ToDoubleSeconds(absl::Now() - start));
      }
    }
    // The cases of this instance; the straggler calibration (sync, W = 1, off)
    // runs first.
    std::vector<Case> cases;
    for (const std::string& setting : *straggler_settings) {
      for (const std::string& method : *methods) {
        for (int64_t w : *worker_counts) {
          cases.push_back({&instance, method == "sync" ? Method::kSync : Method::kAsync,
                           static_cast<int>(w), setting == "on"});
        }
      }
    }
    const bool needs_calibration =
        absl::GetFlag(FLAGS_straggler_scale_s) == 0 &&
        std::any_of(cases.begin(), cases.end(), [](const Case& c) { return c.stragglers; });
    auto is_calibration = [](const Case& c) {
      return c.method == Method::kSync && c.workers == 1 && !c.stragglers;
    };
    std::stable_partition(cases.begin(), cases.end(), is_calibration);
    if (needs_calibration && (cases.empty() || !is_calibration(cases.front()))) {
      cases.insert(cases.begin(), Case{&instance, Method::kSync, 1, false});
    }
    double scale_s = absl::GetFlag(FLAGS_straggler_scale_s);
    std::printf(
        "%s: %s; reference %s%s\n", instance.label.c_str(),
        instance.sample > 0
            ? absl::StrCat(instance.sample, " scenarios sampled with seed ", instance.seed).c_str()
            : "every scenario",
        instance.reference.has_value()
            ? absl::StrFormat("%.4f, %s", *instance.reference, instance.reference_source).c_str()
            : "the objective of the first run",
        instance.published.has_value()
            ? absl::StrFormat(" (published, POSTS: %.3f, not checked)", *instance.published).c_str()
            : "");
    std::fflush(stdout);
    for (const Case& c : cases) {
      if (c.stragglers && scale_s == 0) {
        std::fprintf(stderr,
                     "cutting_plane_bench: %s: no straggler scale (the calibration "
                     "run failed); skipped\n",
                     CaseName(c).c_str());
        exit_code = kFailed;
        continue;
      }
      Row row{c, {}, {}};
      for (int r = 0; r < repeats; ++r) {
        absl::StatusOr<Outcome> outcome = RunCase(c, scale_s, *binary, data, scratch);
        if (!outcome.ok()) {
          std::fprintf(stderr, "cutting_plane_bench: %s (logs in %s)\n",
                       outcome.status().ToString().c_str(), scratch.c_str());
          exit_code = kFailed;
          continue;
        }
        if (!instance.reference.has_value()) {
          // The optimum is at or below this upper bound, by at most its gap.
          instance.reference = outcome->objective;
          instance.below = outcome->gap * std::max(1.0, std::abs(outcome->objective));
          instance.reference_source = absl::StrCat("the objective of ", CaseName(c));
        }
        const Check check = CheckObjective(instance, outcome->objective, outcome->gap);
        std::printf(
            "  done %-40s %d/%d %8.2f s  objective %.4f  U - ref %+.4f in [%.4f, %.4f] %s\n",
            CaseName(c).c_str(), r + 1, repeats, outcome->elapsed_s, outcome->objective,
            check.error, check.low, check.high, check.ok() ? "ok" : "MISMATCH");
        std::fflush(stdout);
        row.runs.push_back(*outcome);
        row.checks.push_back(check);
      }
      if (row.runs.empty()) continue;
      if (needs_calibration && is_calibration(c) && scale_s == 0) {
        std::vector<double> task_s;
        for (const Outcome& o : row.runs) task_s.push_back(o.mean_task_s);
        const double mean_task_s = Median(task_s);
        scale_s = absl::GetFlag(FLAGS_straggler_factor) * mean_task_s;
        std::printf(
            "%s: mean task time %.1f ms (sync, W = 1, median of its runs); stragglers: Lomax "
            "shape %g, scale_s %.1f ms (mean delay %.1f ms), seed %llu\n",
            instance.label.c_str(), 1e3 * mean_task_s, absl::GetFlag(FLAGS_straggler_shape),
            1e3 * scale_s, 1e3 * scale_s / (absl::GetFlag(FLAGS_straggler_shape) - 1),
            static_cast<unsigned long long>(absl::GetFlag(FLAGS_straggler_seed)));
      }
      rows.push_back(std::move(row));
    }
  }

  // The table: the median time and its spread; the per-run columns of the run
  // with the median time (the lower one of the middle two for an even count);
  // efficiency of the medians against W = 1 of the same instance, method and
  // straggler setting; the check over every run.
  auto median_time = [](const Row& row) {
    std::vector<double> times;
    for (const Outcome& o : row.runs) times.push_back(o.elapsed_s);
    return Median(times);
  };
  std::printf("\n%-14s %-10s %-6s %3s %9s %15s %13s %10s %10s %16s %10s %10s %s\n", "instance",
              "stragglers", "method", "W", "time (s)", "min-max (s)", "subproblems/s", "efficiency",
              "candidates", "objective", "U - ref", "bound", "check");
  int mismatches = 0;
  for (const Row& row : rows) {
    const Case& c = row.c;
    std::vector<size_t> order(row.runs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&row](size_t a, size_t b) { return row.runs[a].elapsed_s < row.runs[b].elapsed_s; });
    const size_t middle = order[(order.size() - 1) / 2];
    const Outcome& o = row.runs[middle];
    const double time_s = median_time(row);
    std::string efficiency = "-";
    for (const Row& base : rows) {
      if (base.c.instance == c.instance && base.c.method == c.method &&
          base.c.stragglers == c.stragglers && base.c.workers == 1) {
        efficiency = absl::StrFormat("%.2f", median_time(base) / time_s / c.workers);
      }
    }
    const int failed = static_cast<int>(std::count_if(row.checks.begin(), row.checks.end(),
                                                      [](const Check& k) { return !k.ok(); }));
    mismatches += failed;
    std::printf("%-14s %-10s %-6s %3d %9.2f %15s %13.0f %10s %10.0f %16.4f %+10.4f %10.4f %s\n",
                c.instance->label.c_str(), c.stragglers ? "on" : "off", MethodName(c.method),
                c.workers, time_s,
                absl::StrFormat("%.2f-%.2f", row.runs[order.front()].elapsed_s,
                                row.runs[order.back()].elapsed_s)
                    .c_str(),
                o.evaluations * o.chunk / o.elapsed_s, efficiency.c_str(), o.candidates,
                o.objective, row.checks[middle].error, row.checks[middle].high,
                absl::StrFormat("%s%d/%d ok", failed == 0 ? "" : "MISMATCH ",
                                static_cast<int>(row.runs.size()) - failed,
                                static_cast<int>(row.runs.size()))
                    .c_str());
  }
  std::printf("\ntotal wall time %.0f s (worker setup, calibration and references included)\n",
              absl::ToDoubleSeconds(absl::Now() - bench_start));
  if (mismatches > 0) {
    std::fprintf(stderr,
                 "cutting_plane_bench: %d run(s) ended with an objective outside the bound "
                 "their gap implies\n",
                 mismatches);
    exit_code = kFailed;
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
      argc, argv, "cutting_plane_bench",
      "sync against async cutting-plane runs on stormG2-1000 and sampled storm "
      "(bench/README.md).\n"
      "Usage: cutting_plane_bench [--data=DIR] "
      "[--instances=stormg2_1000,storm_sampled] [--workers=1,2,4,8] [--stragglers=off,on] "
      "[--quick]",
      aia::Main);
}
