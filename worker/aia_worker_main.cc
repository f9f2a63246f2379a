// aia_worker: the worker daemon. Serves runs from coordinators until SIGTERM or
// SIGINT, then shuts down cleanly (exit status 0).
//
//   aia_worker --listen=127.0.0.1:7070 --data_root=/srv/data
//
// Prints "aia_worker listening on HOST:PORT" on stdout once it accepts sessions
// (with --listen=...:0 that line tells the port picked).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "worker/worker_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7070",
          "HOST:PORT to serve on (loopback unless told otherwise; port 0 picks one)");
ABSL_FLAG(std::string, data_root, ".",
          "directory that data file paths in run configs are resolved under");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{256} << 20, "largest gRPC message accepted");
ABSL_FLAG(int, problem_cache, 8, "built problems kept for later runs");
ABSL_FLAG(double, shutdown_grace_s, 5,
          "on SIGTERM, seconds running sessions get to end before they are cancelled and "
          "the daemon exits (a worker step still running then is abandoned)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "aia worker daemon.\nUsage: aia_worker --listen=HOST:PORT --data_root=DIR");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "aia_worker: unexpected argument '%s'\n", positional[1]);
    return 2;
  }
  std::string data_root = absl::GetFlag(FLAGS_data_root);
  char resolved[PATH_MAX];
  if (realpath(data_root.c_str(), resolved) == nullptr) {
    std::fprintf(stderr, "aia_worker: --data_root=%s: %s\n", data_root.c_str(),
                 std::strerror(errno));
    return 2;
  }
  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  aia::WorkerServer::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.data_root = resolved;
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.problem_cache_capacity = absl::GetFlag(FLAGS_problem_cache);
  auto server = aia::WorkerServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "aia_worker: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::printf("aia_worker listening on %s:%d\n", host.c_str(), (*server)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "aia_worker: %s, shutting down\n", strsignal(signal_number));
  // Shutdown waits for running worker steps, which may take long: give it the grace
  // period and a second more, then exit regardless.
  const absl::Duration grace = absl::Seconds(std::max(0.0, absl::GetFlag(FLAGS_shutdown_grace_s)));
  absl::Notification stopped;
  std::thread([&] {
    (*server)->Shutdown(grace);
    stopped.Notify();
  }).detach();
  if (!stopped.WaitForNotificationWithTimeout(grace + absl::Seconds(1))) {
    std::fprintf(stderr, "aia_worker: a worker step is still running; exiting without it\n");
    std::fflush(stderr);
    _exit(0);
  }
  return 0;
}
