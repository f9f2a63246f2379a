#include "coordinator/ssh_workers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace aia {
namespace {

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool AllNameChars(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

// The numeric address `host` resolves to, or "" when it does not.
std::string Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return "";
  char text[NI_MAXHOST];
  std::string address;
  if (getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof(text), nullptr, 0,
                  NI_NUMERICHOST) == 0) {
    address = text;
  }
  freeaddrinfo(found);
  return address;
}

// The last `count` non-empty lines of file `path`, joined by "; ".
std::string LastLines(const std::string& path, int count) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    line = std::string(absl::StripAsciiWhitespace(line));
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.size() > static_cast<size_t>(count)) {
    lines.erase(lines.begin(), lines.end() - count);
  }
  return absl::StrJoin(lines, "; ");
}

// The child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecSsh(char* const* argv, int stdin_fd, int log_fd, pid_t parent) {
  // ssh goes when aia's starting thread goes (aia killed): its connection closes,
  // and the remote script stops the worker.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
  // Its own process group: a Ctrl-C at the terminal reaches aia only, which then
  // ends the sessions itself.
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  dup2(stdin_fd, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  execvp(argv[0], argv);
  static const char kError[] = "aia: cannot run ssh\n";
  ssize_t ignored = write(STDERR_FILENO, kError, sizeof(kError) - 1);
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

absl::StatusOr<SshHost> ParseSshHost(const std::string& text) {
  SshHost host;
  absl::string_view rest = text;
  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    host.user = std::string(rest.substr(0, at));
    rest.remove_prefix(at + 1);
    if (!AllNameChars(host.user)) {
      return absl::InvalidArgumentError(absl::StrCat("bad user name in '", text, "'"));
    }
  }
  if (const size_t colon = rest.find(':'); colon != absl::string_view::npos) {
    const absl::string_view port = rest.substr(colon + 1);
    if (!absl::SimpleAtoi(port, &host.port) || host.port < 1 || host.port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad port '", port, "' in '", text, "' (1-65535)"));
    }
    rest = rest.substr(0, colon);
  }
  if (!AllNameChars(rest) || rest.front() == '-') {
    return absl::InvalidArgumentError(absl::StrCat("bad host name in '", text, "'"));
  }
  host.host = std::string(rest);
  return host;
}

absl::StatusOr<std::vector<SshHost>> ReadSshHostsFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read --ssh_workers=", path));
  std::vector<SshHost> hosts;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const std::string uncommented = line.substr(0, line.find('#'));
    const std::string text(absl::StripAsciiWhitespace(uncommented));
    if (text.empty()) continue;
    absl::StatusOr<SshHost> host = text.find_first_of(" \t,") == std::string::npos
                                       ? ParseSshHost(text)
                                       : absl::InvalidArgumentError("more than one field");
    if (!host.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", number,
                                                     ": expected one [user@]host[:port], got '",
                                                     text, "': ", host.status().message()));
    }
    hosts.push_back(*std::move(host));
  }
  if (hosts.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no hosts"));
  return hosts;
}

absl::StatusOr<std::string> LocalAddressTowards(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), "22", &hints, &found); error != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", host, ": ", gai_strerror(error)));
  }
  const int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::string address;
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  const bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  const int saved = errno;
  freeaddrinfo(found);
  if (fd >= 0) close(fd);
  if (!ok) {
    return absl::UnavailableError(
        absl::StrCat("no route to ", host, ": ", std::strerror(saved)));
  }
  char text[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&local), length, text, sizeof(text), nullptr, 0,
                  NI_NUMERICHOST) != 0) {
    return absl::InternalError("getnameinfo failed");
  }
  return std::string(text);
}

absl::StatusOr<std::unique_ptr<SshWorkers>> SshWorkers::Start(const Options& options) {
  if (options.hosts.empty()) return absl::InvalidArgumentError("no ssh hosts");
  auto workers = std::unique_ptr<SshWorkers>(new SshWorkers());
  workers->options_ = options;
  for (const SshHost& host : options.hosts) {
    // The remote script (POSIX sh): fd 3 keeps the session's stdin for the
    // watcher job (a background job's own stdin is /dev/null); when stdin ends the
    // worker gets SIGTERM; when the worker ends, so does the session, with its
    // status.
    std::vector<std::string> worker = {options.worker_binary,
                                       "--join=" + options.join_target,
                                       "--join_name=" + host.host, "--shutdown_grace_s=1"};
    worker.insert(worker.end(), options.worker_flags.begin(), options.worker_flags.end());
    std::vector<std::string> quoted;
    for (const std::string& arg : worker) quoted.push_back(ShellQuote(arg));
    const std::string script = absl::StrCat(
        "exec 3<&0; ", absl::StrJoin(quoted, " "),
        " </dev/null & w=$!; { cat <&3 >/dev/null 2>&1; kill -TERM $w 2>/dev/null; } & c=$!; "
        "exec 3<&-; wait $w; s=$?; kill $c 2>/dev/null; exit $s");
    std::vector<std::string> argv = {"ssh", "-o", "BatchMode=yes", "-o",
                                     absl::StrCat("ConnectTimeout=", options.connect_timeout_s)};
    if (host.port != 0) {
      argv.push_back("-p");
      argv.push_back(absl::StrCat(host.port));
    }
    argv.insert(argv.end(), options.ssh_options.begin(), options.ssh_options.end());
    argv.push_back("--");
    argv.push_back(host.Destination());
    argv.push_back("sh -c " + ShellQuote(script));
    workers->argvs_.push_back(argv);
  }
  absl::Status status;
  {
    absl::MutexLock lock(&workers->mu_);
    for (size_t i = 0; i < options.hosts.size() && status.ok(); ++i) {
      const SshHost& host = options.hosts[i];
      Child child;
      child.name = host.host;
      const std::string address = Resolve(host.host);
      child.label = address.empty() || address == host.host
                        ? host.host
                        : absl::StrCat(host.host, " (", address, ")");
      child.log = absl::StrCat(options.log_dir, "/ssh-", host.host, ".log");
      const int log_fd = open(child.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (log_fd < 0) {
        status = absl::PermissionDeniedError(
            absl::StrCat("cannot write ", child.log, ": ", std::strerror(errno)));
        break;
      }
      int in[2];
      if (pipe2(in, O_CLOEXEC) != 0) {
        close(log_fd);
        status = absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
        break;
      }
      std::vector<char*> argv;
      for (const std::string& arg : workers->argvs_[i]) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      const pid_t parent = getpid();
      const pid_t pid = fork();
      if (pid == 0) ExecSsh(argv.data(), in[0], log_fd, parent);
      close(in[0]);
      close(log_fd);
      if (pid < 0) {
        close(in[1]);
        status = absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
        break;
      }
      child.pid = pid;
      child.stdin_fd = in[1];
      workers->children_.push_back(child);
    }
  }
  workers->watcher_ = std::thread([w = workers.get()] { w->Watch(); });
  if (!status.ok()) return status;  // the destructor ends the sessions started
  return workers;
}

void SshWorkers::Watch() {
  while (true) {
    std::function<void(const std::string&)> report;
    std::string message;
    {
      absl::MutexLock lock(&mu_);
      bool all_exited = true;
      for (Child& child : children_) {
        if (child.exited) continue;
        int status = 0;
        const pid_t done = waitpid(child.pid, &status, WNOHANG);
        if (done == child.pid || (done < 0 && errno == ECHILD)) {
          child.exited = true;
          if (child.stdin_fd >= 0) {
            close(child.stdin_fd);
            child.stdin_fd = -1;
          }
          if (!stopping_ && failure_.empty()) {
            const std::string how =
                done != child.pid        ? "ssh ended"
                : WIFEXITED(status)      ? absl::StrCat("ssh exit status ", WEXITSTATUS(status))
                : WIFSIGNALED(status)    ? absl::StrCat("ssh killed by signal ", WTERMSIG(status))
                                         : "ssh ended";
            const std::string said = LastLines(child.log, 3);
            failure_ = absl::StrCat("ssh worker ", child.label, ": ",
                                    said.empty() ? "ended" : said, " (", how, "; log ", child.log,
                                    ")");
            message = failure_;
            report = options_.on_failure;
          }
          continue;
        }
        all_exited = false;
        if (stopping_) {
          const absl::Duration waited = absl::Now() - stop_started_;
          if (waited > absl::Seconds(7)) {
            kill(child.pid, SIGKILL);
          } else if (waited > absl::Seconds(5)) {
            kill(child.pid, SIGTERM);
          }
        }
      }
      if (all_exited && (stopping_ || children_.empty())) return;
      if (all_exited && report == nullptr) {
        // Every session ended before Stop; wait for Stop.
        mu_.Await(absl::Condition(&stopping_));
        return;
      }
    }
    if (report) report(message);
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void SshWorkers::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_started_ = absl::Now();
      // EOF on each session's stdin: the remote script stops its worker.
      for (Child& child : children_) {
        if (child.stdin_fd >= 0) {
          close(child.stdin_fd);
          child.stdin_fd = -1;
        }
      }
    }
  }
  if (watcher_.joinable()) watcher_.join();
}

SshWorkers::~SshWorkers() { Stop(); }

std::string SshWorkers::failure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

}  // namespace aia
