#include "bench/harness.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/local_workers.h"

namespace aia::bench {
namespace {

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
  }
  return "unknown CPU";
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ParseIntegers(const std::string& flag, const std::string& text,
                                                   int64_t low, int64_t high) {
  std::vector<int64_t> values;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    item = absl::StripAsciiWhitespace(item);
    int64_t value = 0;
    if (!absl::SimpleAtoi(item, &value) || value < low || value > high) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, "=", text, ": expected a comma-separated list of integers in [",
                       low, ", ", high, "], got '", item, "'"));
    }
    values.push_back(value);
  }
  return values;
}

absl::StatusOr<std::string> WorkerBinary(const std::string& flag_value) {
  if (flag_value.empty()) return FindWorkerBinary();
  if (access(flag_value.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("--worker_binary=", flag_value, " is not executable"));
  }
  return flag_value;
}

std::string MachineLine() {
  return absl::StrFormat("machine: %d cores online (%u usable), %s", sysconf(_SC_NPROCESSORS_ONLN),
                         std::thread::hardware_concurrency(), CpuModel());
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M", std::localtime(&now));
  return buffer;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return absl::StrCat(one, " ", five, " ", fifteen);
}

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

absl::Status MakeDirectory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeScratchDirectory(const std::string& name) {
  const std::filesystem::path tmp = std::filesystem::temp_directory_path();
  std::string dir = tmp / absl::StrCat("aia_", name, ".XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create a directory in ", tmp.string()));
  }
  return dir;
}

std::string ShellQuote(const std::string& word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                                       const std::string& stdout_path,
                                       const std::string& stderr_path) {
  std::vector<std::string> quoted;
  for (const std::string& word : argv) quoted.push_back(ShellQuote(word));
  const std::string line = absl::StrFormat(
      "exec timeout -k 5 %.0f %s > %s 2>> %s", std::max(1.0, absl::ToDoubleSeconds(timeout)),
      absl::StrJoin(quoted, " "), ShellQuote(stdout_path), ShellQuote(stderr_path));
  const int status = std::system(line.c_str());
  std::ifstream in(stdout_path);
  std::stringstream out;
  out << in.rdbuf();
  if (status == -1 || !WIFEXITED(status)) {
    return absl::InternalError(
        absl::StrCat(argv.front(), " did not run to its end (see ", stderr_path, ")"));
  }
  if (WEXITSTATUS(status) == 124 || WEXITSTATUS(status) == 137) {
    return absl::DeadlineExceededError(absl::StrCat(argv.front(), " ran out of its ",
                                                    absl::FormatDuration(timeout), " (see ",
                                                    stderr_path, ")"));
  }
  if (WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(argv.front(), " exited with status ",
                                            WEXITSTATUS(status), " (see ", stderr_path, ")"));
  }
  return out.str();
}

int BenchMain(int argc, char** argv, const char* name, const char* usage, int (*body)()) {
  absl::SetProgramUsageMessage(usage);
  // As aia and aia_worker do: no lock-cycle check (Debian's Abseil has it on).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument '%s'\n", name, positional[1]);
    return 2;
  }
  return body();
}

}  // namespace aia::bench
