// aia_worker: the worker daemon. Serves runs from coordinators until SIGTERM or
// SIGINT, then shuts down cleanly (exit status 0).
//
//   aia_worker --listen=127.0.0.1:7070 --data_root=/srv/data
//   aia_worker --listen=0.0.0.0:7070 --data_root=/srv/data --tls_cert=worker0.pem
//       --tls_key=worker0.key --tls_ca=ca.pem --token_file=token   (one line)
//   aia_worker --listen=127.0.0.1:7070 --metrics_listen=127.0.0.1:9464
//
// Exit status: 0 after SIGTERM/SIGINT, 1 cannot listen, 2 bad usage or credentials
// (a bad --tls_*/--token_file file, or a non-loopback --listen without TLS and
// without --insecure). See docs/security.md.
//
// Prints "aia_worker listening on HOST:PORT" on stdout once it accepts sessions
// (with --listen=...:0 that line tells the port picked).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "metrics/metrics.h"
#include "metrics/worker_metrics.h"
#include "security/credentials.h"
#include "security/refusal_log.h"
#include "worker/worker_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7070",
          "HOST:PORT to serve on (loopback unless told otherwise; port 0 picks one)");
ABSL_FLAG(std::string, data_root, ".",
          "directory that data file paths in run configs are resolved under");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{256} << 20, "largest gRPC message accepted");
ABSL_FLAG(int, problem_cache, 8, "built problems kept for later runs");
ABSL_FLAG(int64_t, problem_cache_mib, 1024,
          "memory the kept problems may hold (MiB); the least recently used go first");
ABSL_FLAG(int, max_sessions, 32,
          "sessions served at once (each running one has a thread); one more is refused with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(double, setup_deadline_s, 10, "a stream that sends no Setup within this is closed");
ABSL_FLAG(double, handshake_timeout_s, 10,
          "a connection that does not finish its TLS and HTTP/2 handshake within this is closed");
ABSL_FLAG(double, idle_timeout_s, 120, "a connection without a call for this long is closed");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain of this worker: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA: mutual TLS, every coordinator must present a certificate signed by it");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token every call must carry (mode 0600; without TLS, "
          "loopback only)");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext without authentication on a non-loopback --listen address");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT to serve Prometheus metrics on at /metrics (plaintext HTTP, counts "
          "only; port 0 picks one); empty: no metrics");
ABSL_FLAG(double, shutdown_grace_s, 5,
          "on SIGTERM, seconds running sessions get to end before they are cancelled and "
          "the daemon exits (a worker step still running then is abandoned)");

namespace {

// Connections cost a descriptor each: take the hard limit, so that only a flood
// far beyond the session bound reaches it (and accept_guard.cc sheds that).
void RaiseFileLimit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

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

  // Transport security: bad credential files and an unprotected non-loopback
  // address are usage errors (exit 2), reported before anything listens.
  aia::security::ServerSecurityOptions security_options;
  security_options.listen = absl::GetFlag(FLAGS_listen);
  security_options.cert_file = absl::GetFlag(FLAGS_tls_cert);
  security_options.key_file = absl::GetFlag(FLAGS_tls_key);
  security_options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  security_options.token_file = absl::GetFlag(FLAGS_token_file);
  security_options.insecure = absl::GetFlag(FLAGS_insecure);
  security_options.on_refused_call = aia::security::LogRefusedCall;
  absl::StatusOr<aia::security::ServerSecurity> security =
      aia::security::MakeServerSecurity(security_options);
  if (!security.ok()) {
    std::fprintf(stderr, "aia_worker: %s\n", std::string(security.status().message()).c_str());
    return 2;
  }
  for (const std::string& warning : security->warnings) {
    std::fprintf(stderr, "aia_worker: %s\n", warning.c_str());
  }
  if (security->tls || security->token) {
    aia::security::InstallRefusalLog(
        [](const std::string& line) { std::fprintf(stderr, "aia_worker: %s\n", line.c_str()); });
  }

  // Declared before the server, so it outlives the server's calls into it.
  std::unique_ptr<aia::Metrics> metrics;
  aia::WorkerServer::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.credentials = security->credentials;
  options.data_root = resolved;
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  options.problem_cache_capacity = absl::GetFlag(FLAGS_problem_cache);
  const int64_t cache_mib = absl::GetFlag(FLAGS_problem_cache_mib);
  if (cache_mib < 0 || cache_mib > (int64_t{1} << 30)) {
    std::fprintf(stderr, "aia_worker: --problem_cache_mib must be in [0, 2^30], got %lld\n",
                 static_cast<long long>(cache_mib));
    return 2;
  }
  options.problem_cache_bytes = cache_mib << 20;
  options.max_sessions = absl::GetFlag(FLAGS_max_sessions);
  for (auto [flag, value, field] :
       {std::tuple{"--setup_deadline_s", absl::GetFlag(FLAGS_setup_deadline_s),
                   &options.setup_deadline},
        std::tuple{"--handshake_timeout_s", absl::GetFlag(FLAGS_handshake_timeout_s),
                   &options.handshake_timeout},
        std::tuple{"--idle_timeout_s", absl::GetFlag(FLAGS_idle_timeout_s),
                   &options.idle_timeout}}) {
    if (!std::isfinite(value) || value < 0.01 || value > 86400) {
      std::fprintf(stderr, "aia_worker: %s must be in [0.01, 86400], got %g\n", flag, value);
      return 2;
    }
    *field = absl::Seconds(value);
  }
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
      !metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<aia::Metrics>> listening = aia::Metrics::Listen(metrics_listen);
    if (!listening.ok()) {
      std::fprintf(stderr, "aia_worker: --metrics_listen: %s\n",
                   std::string(listening.status().message()).c_str());
      return listening.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    metrics = std::move(listening).value();
    options.observer = std::make_shared<aia::WorkerMetrics>(metrics->registry());
    const std::string metrics_host = metrics_listen.substr(0, metrics_listen.rfind(':'));
    std::fprintf(stderr, "aia_worker: metrics on http://%s:%d/metrics\n", metrics_host.c_str(),
                 metrics->port());
  }
  RaiseFileLimit();
  auto server = aia::WorkerServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "aia_worker: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::fprintf(stderr, "aia_worker: transport security: %s\n", security->description.c_str());
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
