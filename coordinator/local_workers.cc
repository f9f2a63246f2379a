#include "coordinator/local_workers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace aia {
namespace {

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string SelfDirectory() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return ".";
  std::string path(self, n);
  return path.substr(0, path.rfind('/'));
}

// Reads child output until a full "... listening on HOST:PORT\n" line or the
// deadline; returns HOST:PORT.
absl::StatusOr<std::string> ReadAnnouncement(int fd, absl::Time deadline, int index) {
  std::string buffer;
  while (true) {
    const size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      const std::string line = buffer.substr(0, newline);
      const std::string marker = "listening on ";
      const size_t at = line.find(marker);
      if (at == std::string::npos) {
        return absl::InternalError(
            absl::StrCat("local worker ", index, " said '", line, "' instead of its address"));
      }
      return line.substr(at + marker.size());
    }
    const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (wait_ms <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("local worker ", index, " did not announce its port in time"));
    }
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[256];
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("local worker ", index, " exited before announcing its port (see its log)"));
    }
    buffer.append(chunk, n);
  }
}

// Writes `text` and the decimal `number` to stderr with write() only.
void WriteError(const char* text, size_t length, int number) {
  char digits[16];
  int n = sizeof(digits);
  do {
    digits[--n] = static_cast<char>('0' + number % 10);
    number /= 10;
  } while (number > 0 && n > 0);
  ssize_t ignored = write(STDERR_FILENO, text, length);
  ignored = write(STDERR_FILENO, digits + n, sizeof(digits) - n);
  ignored = write(STDERR_FILENO, "\n", 1);
  (void)ignored;
}

// The child between fork and exec: async-signal-safe calls only (no allocation, no
// stdio, no locks). The worker gets SIGKILL when the thread that forked it exits,
// so a coordinator killed with SIGKILL leaves no daemon behind; if the parent died
// before prctl took effect, getppid() is no longer `parent` and the child leaves.
[[noreturn]] void ExecWorker(char* const* argv, int out_fd, int log_fd, pid_t parent,
                             const char* exec_error, size_t exec_error_length) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
  // The daemon handles its own signals; don't pass on what the parent blocks.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  dup2(out_fd, STDOUT_FILENO);
  if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
  execv(argv[0], argv);
  WriteError(exec_error, exec_error_length, errno);
  _exit(127);
}

void StopAll(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (pid_t pid : pids) {
    while (true) {
      const pid_t done = waitpid(pid, nullptr, WNOHANG);
      if (done == pid || (done < 0 && errno != EINTR)) break;
      if (absl::Now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
}

}  // namespace

absl::StatusOr<std::string> FindWorkerBinary() {
  if (const char* env = std::getenv("AIA_WORKER_BINARY"); env != nullptr && *env != '\0') {
    if (!IsExecutable(env)) {
      return absl::NotFoundError(absl::StrCat("AIA_WORKER_BINARY=", env, " is not executable"));
    }
    return std::string(env);
  }
  const std::string self = SelfDirectory();
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  const std::string runfiles =
      n > 0 ? std::string(exe, n) + ".runfiles/aia/worker/aia_worker" : std::string();
  std::vector<std::string> candidates = {self + "/aia_worker", self + "/../worker/aia_worker",
                                         runfiles};
  if (const char* dir = std::getenv("TEST_SRCDIR"); dir != nullptr) {
    candidates.push_back(absl::StrCat(dir, "/aia/worker/aia_worker"));
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      candidates.push_back(absl::StrCat(dir, "/aia_worker"));
    }
  }
  for (const std::string& candidate : candidates) {
    if (!candidate.empty() && IsExecutable(candidate)) return candidate;
  }
  return absl::NotFoundError(
      "cannot find aia_worker beside aia or on PATH; set AIA_WORKER_BINARY or --worker_binary");
}

absl::StatusOr<std::unique_ptr<LocalWorkers>> LocalWorkers::Start(const Options& options) {
  if (options.count < 1 || options.count > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--local_workers must be in [1, 256], got ", options.count));
  }
  if (!IsExecutable(options.binary)) {
    return absl::NotFoundError(
        absl::StrCat("cannot run ", options.binary, ": ", std::strerror(errno)));
  }
  auto workers = std::unique_ptr<LocalWorkers>(new LocalWorkers());
  std::vector<int> pipes;
  for (int i = 0; i < options.count; ++i) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      StopAll(workers->pids_);
      return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
    }
    int log_fd = -1;
    if (!options.log_dir.empty()) {
      const std::string log = absl::StrCat(options.log_dir, "/worker-", i, ".log");
      log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (log_fd < 0) {
        close(out[0]);
        close(out[1]);
        StopAll(workers->pids_);
        return absl::PermissionDeniedError(
            absl::StrCat("cannot write ", log, ": ", std::strerror(errno)));
      }
    }
    // Everything the child needs is made before fork: between fork and exec the child
    // may call only async-signal-safe functions (another thread of ours may have held
    // the allocator's lock at the fork).
    std::vector<std::string> args = {options.binary,
                                           "--listen=127.0.0.1:0",
                                           "--data_root=" + options.data_root,
                                           absl::StrCat("--max_message_bytes=",
                                                        options.max_message_bytes),
                                           "--shutdown_grace_s=1"};
    for (const std::string& dir : options.plugin_dirs) args.push_back("--plugin_dir=" + dir);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const std::string exec_error = absl::StrCat("cannot run ", options.binary, ": errno ");
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      ExecWorker(argv.data(), out[1], log_fd, parent, exec_error.c_str(), exec_error.size());
    }
    close(out[1]);
    if (log_fd >= 0) close(log_fd);
    if (pid < 0) {
      close(out[0]);
      StopAll(workers->pids_);
      return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    }
    workers->pids_.push_back(pid);
    pipes.push_back(out[0]);
  }
  const absl::Time deadline = absl::Now() + options.start_timeout;
  absl::Status status;
  for (int i = 0; i < options.count; ++i) {
    if (status.ok()) {
      absl::StatusOr<std::string> address = ReadAnnouncement(pipes[i], deadline, i);
      if (address.ok()) {
        workers->addresses_.push_back(*address);
      } else {
        status = address.status();
      }
    }
    close(pipes[i]);
  }
  if (!status.ok()) return status;  // the destructor stops the children
  return workers;
}

LocalWorkers::~LocalWorkers() { StopAll(pids_); }

}  // namespace aia
