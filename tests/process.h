// Test helpers for running the real binaries (aia, aia_worker) as child processes.
//
// Every wait is bounded: RunProcess kills a child that outlives its timeout, and
// StartWorker gives up after a few seconds.
#ifndef AIA_TESTS_PROCESS_H_
#define AIA_TESTS_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aia::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed (timeout or signal)
  bool timed_out = false;
  std::string out;
  std::string err;
  absl::Duration wall;
};

// Runs `argv` to completion (at most `timeout`), capturing stdout and stderr.
// `on_start`, if given, is called with the child's pid once it is started.
ProcessResult RunProcess(const std::vector<std::string>& argv, absl::Duration timeout,
                         const std::function<void(pid_t)>& on_start = nullptr);

// The path of a binary of this workspace in the test's runfiles ("worker/aia_worker").
std::string Runfile(const std::string& path);

// A running aia_worker daemon, stopped (SIGKILL if need be) by its destructor.
class WorkerProcess {
 public:
  // Starts aia_worker on `listen` with `data_root`; fails the test if it does not
  // announce its address within 10 s.
  explicit WorkerProcess(const std::string& data_root, const std::string& listen = "127.0.0.1:0");
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and returns the exit status (or -1 if it had to be killed).
  int Terminate(absl::Duration timeout = absl::Seconds(10));
  // SIGKILL, and waits for it.
  void Kill();

 private:
  pid_t pid_ = -1;
  std::string address_;
};

// A child process whose stdout and stderr are collected while it runs, so a test can
// wait (bounded) for a line it prints. The destructor SIGKILLs it if it still runs.
//
// Example:
//   BackgroundProcess worker({"/usr/sbin/ip", "netns", "exec", "w1", binary, ...});
//   ASSERT_TRUE(worker.WaitForOutput("listening on", absl::Seconds(10))) << worker.output();
//
// Thread safety: WaitForOutput, output and pid may be called from any thread.
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::vector<std::string>& argv);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stdout or stderr holds `text` (true), or the process closed both,
  // or `timeout` passed (false).
  bool WaitForOutput(const std::string& text, absl::Duration timeout);
  // stdout and stderr so far, interleaved as they arrived.
  std::string output() const;
  // Waits for the exit (SIGKILL after `timeout`); out and err hold what it wrote.
  ProcessResult Wait(absl::Duration timeout);

 private:
  void ReadOutput(int out_fd, int err_fd);

  pid_t pid_ = -1;
  absl::Time start_;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  std::string all_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_reading_ ABSL_GUARDED_BY(mu_) = false;
};

// Waits until `path` exists (true), at most `timeout` (false).
bool AwaitFile(const std::string& path, absl::Duration timeout);

// A loopback port with nothing listening on it (bound, then released).
int UnusedPort();

// Reads `fd` (a child's stdout) until its first line, at most `timeout`; returns
// what follows "listening on " in it ("HOST:PORT"), or "" (and the line in
// *said, if given) when the line does not say that or never comes.
std::string ReadAnnouncedAddress(int fd, absl::Duration timeout, std::string* said = nullptr);

// The text after the first `prefix` in `text` (what a process printed) up to the
// end of its line, or "" when `prefix` is not there.
std::string After(const std::string& text, const std::string& prefix);

// A fresh empty directory under the test's temporary directory.
std::string NewTempDir(const std::string& name);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& text);

}  // namespace aia::testing

#endif  // AIA_TESTS_PROCESS_H_
