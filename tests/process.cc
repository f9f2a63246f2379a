#include "tests/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace aia::testing {
namespace {

pid_t Spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` until `deadline`; SIGKILLs it after. Returns the exit code, or
// -1 if it died of a signal or was killed.
int Reap(pid_t pid, absl::Time deadline, bool* timed_out) {
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (absl::Now() > deadline) {
      if (timed_out != nullptr) *timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, absl::Duration timeout,
                         const std::function<void(pid_t)>& on_start) {
  ProcessResult result;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return result;
  }
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  const pid_t pid = Spawn(argv, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  if (on_start) on_start(pid);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0 && absl::Now() < deadline) {
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(fds, 2, std::max(1, wait_ms)) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  result.exit_code = Reap(pid, deadline, &result.timed_out);
  result.wall = absl::Now() - start;
  return result;
}

std::string Runfile(const std::string& path) {
  const char* root = std::getenv("TEST_SRCDIR");
  return absl::StrCat(root != nullptr ? root : ".", "/aia/", path);
}

WorkerProcess::WorkerProcess(const std::string& data_root, const std::string& listen) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  pid_t pid =
      Spawn({Runfile("worker/aia_worker"), "--listen=" + listen, "--data_root=" + data_root},
            out[1], null_fd);
  close(out[1]);
  close(null_fd);
  pid_ = pid;
  std::string said;
  address_ = ReadAnnouncedAddress(out[0], absl::Seconds(10), &said);
  close(out[0]);
  if (address_.empty()) ADD_FAILURE() << "aia_worker did not announce its address; said: " << said;
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0) kill(pid_, SIGCONT);  // a stopped worker cannot handle SIGTERM
  if (pid_ > 0) Terminate(absl::Seconds(5));
}

void WorkerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);  // in case it was stopped
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int WorkerProcess::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = Reap(pid_, absl::Now() + timeout, nullptr);
  pid_ = -1;
  return code;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe failed";
    return;
  }
  start_ = absl::Now();
  pid_ = Spawn(argv, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  reader_ = std::thread([this, out_fd = out[0], err_fd = err[0]] { ReadOutput(out_fd, err_fd); });
}

void BackgroundProcess::ReadOutput(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_reading_) break;
    }
    if (poll(fds, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        absl::MutexLock lock(&mu_);
        (i == 0 ? out_ : err_).append(buffer, n);
        all_.append(buffer, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool BackgroundProcess::WaitForOutput(const std::string& text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || all_.find(text) != std::string::npos;
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  return all_.find(text) != std::string::npos;
}

std::string BackgroundProcess::output() const {
  absl::MutexLock lock(&mu_);
  return all_;
}

ProcessResult BackgroundProcess::Wait(absl::Duration timeout) {
  ProcessResult result;
  if (pid_ > 0 && !reaped_) {
    exit_code_ = Reap(pid_, absl::Now() + timeout, &result.timed_out);
    reaped_ = true;
  }
  result.exit_code = exit_code_;
  result.wall = absl::Now() - start_;
  {
    // Its output ends with it, unless a child of its own still holds the pipes.
    absl::MutexLock lock(&mu_);
    auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_; };
    if (!mu_.AwaitWithTimeout(absl::Condition(&closed), absl::Seconds(2))) stop_reading_ = true;
  }
  if (reader_.joinable()) reader_.join();
  absl::MutexLock lock(&mu_);
  result.out = out_;
  result.err = err_;
  return result;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
  }
  Wait(absl::Seconds(5));
}

std::string ReadAnnouncedAddress(int fd, absl::Duration timeout, std::string* said) {
  std::string line;
  const absl::Time deadline = absl::Now() + timeout;
  while (line.find('\n') == std::string::npos && absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    line.append(buffer, n);
  }
  line = line.substr(0, line.find('\n'));
  if (said != nullptr) *said = line;
  const std::string marker = "listening on ";
  const size_t at = line.find(marker);
  return at == std::string::npos ? "" : line.substr(at + marker.size());
}

bool AwaitFile(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (access(path.c_str(), F_OK) != 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

std::string After(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size();
  return text.substr(start, text.find_first_of("\r\n", start) - start);
}

std::string NewTempDir(const std::string& name) {
  static int counter = 0;
  const char* root = std::getenv("TEST_TMPDIR");
  const std::string dir =
      absl::StrCat(root != nullptr ? root : "/tmp", "/", name, "-", getpid(), "-", ++counter);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void WriteFileOrDie(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  ASSERT_TRUE(file.good()) << "cannot write " << path;
  file << text;
}

}  // namespace aia::testing
