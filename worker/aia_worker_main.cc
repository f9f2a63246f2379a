// aia_worker: the worker daemon. Serves runs from coordinators until SIGTERM or
// SIGINT, then shuts down cleanly (exit status 0). Coordinators dial it (--listen),
// or it dials a coordinator service and joins its pool (--join), or both.
//
//   aia_worker --listen=127.0.0.1:7070 --data_root=/srv/data
//   aia_worker --listen=0.0.0.0:7070 --data_root=/srv/data --tls_cert=worker0.pem
//       --tls_key=worker0.key --tls_ca=ca.pem --token_file=token   (one line)
//   aia_worker --listen=127.0.0.1:7070 --metrics_listen=127.0.0.1:9464
//   aia_worker --join=coordinator:7071 --join_sessions=4 --data_root=/srv/data
//       --tls_ca=ca.pem --tls_cert=worker0.pem --tls_key=worker0.key   (one line)
//
// With --join and without --listen on the command line, the daemon opens no port at
// all (no gRPC server, no health service): it keeps --join_sessions Join streams
// open to the coordinator (worker/joiner.h). For --join, --tls_ca is the CA of the
// coordinator's certificate (and --tls_server_name the name it must carry, if not
// the host of --join), --tls_cert/--tls_key the client certificate for mutual TLS,
// --token_file the bearer token sent with every call.
//
// Exit status: 0 after SIGTERM/SIGINT, 1 cannot listen, 2 bad usage or credentials
// (a bad --tls_*/--token_file file, a non-loopback --listen or --join without TLS and
// without --insecure, a malformed --join). See docs/security.md.
//
// Prints "aia_worker listening on HOST:PORT" on stdout once it accepts sessions
// (with --listen=...:0 that line tells the port picked), and "aia_worker: joining
// HOST:PORT (N sessions)" on stderr with --join.
#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/health_server.h"
#include "base/repeated_flag.h"
#include "metrics/metrics.h"
#include "metrics/worker_metrics.h"
#include "plugins/loader.h"
#include "security/credentials.h"
#include "security/refusal_log.h"
#include "worker/joiner.h"
#include "worker/problem_cache.h"
#include "worker/worker_server.h"

ABSL_FLAG(std::string, listen, "",
          "HOST:PORT to serve on (loopback unless told otherwise; port 0 picks one); default "
          "127.0.0.1:7070, or no port at all with --join");
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
ABSL_FLAG(std::string, join, "",
          "HOST:PORT of a coordinator service (aia serve) to join: the worker dials it and "
          "offers itself for sessions; without --listen given too, no port is opened");
ABSL_FLAG(int, join_sessions, 1,
          "Join streams kept open to the --join coordinator, each good for one session at a "
          "time (1 to 64)");
ABSL_FLAG(std::string, join_name, "",
          "the worker's name in the coordinator's pool (at most 256 bytes; default HOST:PID)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of this worker: serve TLS; with --join, the client "
          "certificate for mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA: mutual TLS, every coordinator must present a certificate signed by it "
          "(with --join: the coordinator's certificate is verified with it)");
ABSL_FLAG(std::string, tls_server_name, "",
          "with --join and --tls_ca: the name the coordinator's certificate must carry, if "
          "not the host of --join");
ABSL_FLAG(std::string, token_file, "",
          "file holding the bearer token every call must carry (mode 0600; without TLS, "
          "loopback only); with --join, the token sent to the coordinator");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext without authentication on a non-loopback --listen or --join "
          "address");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext port serving only grpc.health.v1 (\"\" SERVING while the "
          "process lives, aia.v1.Worker NOT_SERVING once it drains), for probes that cannot "
          "speak TLS; empty: none");
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

// The --join flags checked, and the channel credentials for the coordinator; an
// InvalidArgument naming the flag otherwise (exit 2).
absl::StatusOr<aia::security::ClientSecurity> JoinSecurity(const std::string& join,
                                                           std::vector<std::string>& warnings) {
  absl::StatusOr<std::pair<std::string, std::string>> host_port =
      aia::security::SplitHostPort(join);
  int port = 0;
  if (!host_port.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--join=", join, ": ", host_port.status().message()));
  }
  if (!absl::SimpleAtoi(host_port->second, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--join=", join, ": the port must be in [1, 65535]"));
  }
  if (const int sessions = absl::GetFlag(FLAGS_join_sessions); sessions < 1 || sessions > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--join_sessions must be in [1, 64], got ", sessions));
  }
  if (const size_t bytes = absl::GetFlag(FLAGS_join_name).size(); bytes > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("--join_name has ", bytes, " bytes, more than 256"));
  }
  aia::security::ClientSecurityOptions options;
  options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.key_file = absl::GetFlag(FLAGS_tls_key);
  options.token_file = absl::GetFlag(FLAGS_token_file);
  options.server_name = absl::GetFlag(FLAGS_tls_server_name);
  absl::StatusOr<aia::security::ClientSecurity> security =
      aia::security::MakeClientSecurity(options);
  if (!security.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--join: ", security.status().message()));
  }
  const bool insecure = absl::GetFlag(FLAGS_insecure);
  if (insecure && (security->tls || security->token)) {
    return absl::InvalidArgumentError(
        "--insecure (plaintext without authentication) contradicts --tls_ca and --token_file");
  }
  if (!security->tls && !aia::security::IsLoopbackHost(host_port->first)) {
    if (security->token) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--join=", join,
          " is not a loopback address: the token without TLS would cross the network in clear "
          "text; add --tls_ca (the CA of the coordinator's certificate)"));
    }
    if (!insecure) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to join ", join,
          " (not a loopback address) without TLS: give --tls_ca (with --tls_cert/--tls_key or "
          "--token_file to authenticate this worker; see docs/security.md), or --insecure to "
          "join in plaintext without authentication anyway"));
    }
    warnings.push_back(absl::StrCat("WARNING: --insecure: joining ", join,
                                    " in plaintext without authentication: anyone on the way "
                                    "can run sessions and read their answers"));
  }
  return security;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "aia worker daemon.\n"
      "Usage: aia_worker --listen=HOST:PORT --data_root=DIR\n"
      "       aia_worker --join=HOST:PORT [--join_sessions=N] [--join_name=NAME] "
      "--data_root=DIR\n"
      "       (--join without --listen opens no port; with both, the worker does both)\n"
      "       --plugin_dir=DIR (repeatable): load the plugins there, then those of "
      "/usr/lib/aia/plugins");
  // Debian's Abseil checks every lock for cycles; the tests keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // A fatal signal (a crash in a plugin's code, most likely) is said on stderr
  // with a stack trace before the daemon ends; its coordinators lose the worker.
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  std::string flag_error;
  const std::vector<std::string> plugin_dirs =
      aia::ExtractRepeatedFlag(argc, argv, "plugin_dir", "a directory", &flag_error);
  if (!flag_error.empty()) {
    std::fprintf(stderr, "aia_worker: %s\n", flag_error.c_str());
    return 2;
  }
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
  // Before any thread starts (the loader forks). A bad library is a usage error.
  if (absl::StatusOr<std::vector<aia::LoadedPlugin>> loaded = aia::LoadPlugins(plugin_dirs);
      !loaded.ok()) {
    std::fprintf(stderr, "aia_worker: %s\n", std::string(loaded.status().message()).c_str());
    return 2;
  } else {
    for (const aia::LoadedPlugin& plugin : *loaded) {
      std::fprintf(stderr, "aia_worker: plugin %s %s from %s (%s)\n", plugin.origin.plugin.c_str(),
                   plugin.origin.version.c_str(), plugin.origin.library.c_str(),
                   plugin.origin.digest.c_str());
    }
  }
  const std::string join = absl::GetFlag(FLAGS_join);
  if (join.empty()) {
    if (absl::GetFlag(FLAGS_join_sessions) != 1 || !absl::GetFlag(FLAGS_join_name).empty() ||
        !absl::GetFlag(FLAGS_tls_server_name).empty()) {
      std::fprintf(stderr,
                   "aia_worker: --join_sessions, --join_name and --tls_server_name need --join\n");
      return 2;
    }
  }
  // With --join alone, the worker listens nowhere.
  std::string listen = absl::GetFlag(FLAGS_listen);
  const bool serve = join.empty() || !listen.empty();
  if (listen.empty()) listen = "127.0.0.1:7070";

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Transport security: bad credential files and an unprotected non-loopback
  // address are usage errors (exit 2), reported before anything listens or dials.
  std::vector<std::string> warnings;
  std::vector<std::string> descriptions;
  aia::security::ServerSecurity server_security;
  if (serve) {
    aia::security::ServerSecurityOptions security_options;
    security_options.listen = listen;
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
    server_security = std::move(security).value();
    warnings.insert(warnings.end(), server_security.warnings.begin(),
                    server_security.warnings.end());
    descriptions.push_back(absl::StrCat(server_security.description, " (serving)"));
  }
  aia::security::ClientSecurity join_security;
  if (!join.empty()) {
    absl::StatusOr<aia::security::ClientSecurity> security = JoinSecurity(join, warnings);
    if (!security.ok()) {
      std::fprintf(stderr, "aia_worker: %s\n", std::string(security.status().message()).c_str());
      return 2;
    }
    join_security = std::move(security).value();
    descriptions.push_back(absl::StrCat(join_security.description, " (joining)"));
  }
  for (const std::string& warning : warnings) {
    std::fprintf(stderr, "aia_worker: %s\n", warning.c_str());
  }
  if (serve && (server_security.tls || server_security.token)) {
    aia::security::InstallRefusalLog(
        [](const std::string& line) { std::fprintf(stderr, "aia_worker: %s\n", line.c_str()); });
  }

  // Declared before the server and the joiner, so it outlives their calls into it.
  std::unique_ptr<aia::Metrics> metrics;
  aia::WorkerServer::Options options;
  options.listen = listen;
  options.credentials = server_security.credentials;
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
  // One cache for the sessions served and those joined.
  options.cache = std::make_shared<aia::ProblemCache>(options.problem_cache_capacity,
                                                      options.problem_cache_bytes);
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
  std::unique_ptr<aia::WorkerServer> server;
  if (serve) {
    absl::StatusOr<std::unique_ptr<aia::WorkerServer>> started = aia::WorkerServer::Start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "aia_worker: %s\n", started.status().ToString().c_str());
      return 1;
    }
    server = std::move(started).value();
  }
  std::unique_ptr<aia::Joiner> joiner;
  if (!join.empty()) {
    aia::Joiner::Options join_options;
    join_options.target = join;
    join_options.sessions = absl::GetFlag(FLAGS_join_sessions);
    join_options.name = absl::GetFlag(FLAGS_join_name);
    join_options.credentials = join_security.credentials;
    join_options.tls_server_name = join_security.server_name;
    join_options.data_root = options.data_root;
    join_options.max_message_bytes = options.max_message_bytes;
    join_options.cache = options.cache;
    join_options.observer = options.observer;
    absl::StatusOr<std::unique_ptr<aia::Joiner>> started = aia::Joiner::Start(join_options);
    if (!started.ok()) {
      std::fprintf(stderr, "aia_worker: --join: %s\n",
                   std::string(started.status().message()).c_str());
      return started.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    joiner = std::move(started).value();
  }
  std::fprintf(stderr, "aia_worker: transport security: %s\n",
               absl::StrJoin(descriptions, "; ").c_str());
  if (joiner != nullptr) {
    const int sessions = absl::GetFlag(FLAGS_join_sessions);
    std::fprintf(stderr, "aia_worker: joining %s (%d session%s)\n", join.c_str(), sessions,
                 sessions == 1 ? "" : "s");
  }
  std::unique_ptr<aia::HealthServer> health;
  if (const std::string health_listen = absl::GetFlag(FLAGS_health_listen);
      !health_listen.empty()) {
    absl::StatusOr<std::unique_ptr<aia::HealthServer>> started =
        aia::HealthServer::Start(health_listen, "aia.v1.Worker");
    if (!started.ok()) {
      std::fprintf(stderr, "aia_worker: --health_listen: %s\n",
                   std::string(started.status().message()).c_str());
      return started.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    health = std::move(started).value();
    std::fprintf(stderr, "aia_worker: health on %s:%d (plaintext, grpc.health.v1 only)\n",
                 health_listen.substr(0, health_listen.rfind(':')).c_str(), health->port());
  }
  if (server != nullptr) {
    const std::string host = options.listen.substr(0, options.listen.rfind(':'));
    std::printf("aia_worker listening on %s:%d\n", host.c_str(), server->port());
    std::fflush(stdout);
  }
  // systemd Type=notify (deploy/systemd/aia-worker.service): ready once the server
  // listens, or with --join alone once the Joiner started. Without NOTIFY_SOCKET
  // sd_notify does nothing.
  sd_notify(0, "READY=1");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "aia_worker: %s, shutting down\n", strsignal(signal_number));
  sd_notify(0, "STOPPING=1");  // systemd: the drain has begun
  if (health != nullptr) health->SetServing(false);  // readiness fails, liveness holds
  // Shutdown waits for running worker steps, which may take long: give it the grace
  // period and a second more, then exit regardless. The server and the joiner
  // drain at the same time.
  const absl::Duration grace = absl::Seconds(std::max(0.0, absl::GetFlag(FLAGS_shutdown_grace_s)));
  auto stopped = std::make_shared<absl::Notification>();
  std::thread([&server, &joiner, grace, stopped] {
    std::thread join_drain([&] {
      if (joiner != nullptr) joiner->Shutdown(grace);
    });
    if (server != nullptr) server->Shutdown(grace);
    join_drain.join();
    stopped->Notify();
  }).detach();
  if (!stopped->WaitForNotificationWithTimeout(grace + absl::Seconds(1))) {
    std::fprintf(stderr, "aia_worker: a worker step is still running; exiting without it\n");
    std::fflush(stderr);
    _exit(0);
  }
  return 0;
}
