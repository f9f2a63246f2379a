// aia: the coordinator command line.
//
//   aia run CONFIG [--local_workers=N | --workers=HOST:PORT,... | --workers_file=FILE |
//                   --ssh_workers=HOSTS_FILE [--ssh_listen=HOST:PORT] | --in_process] [--out=DIR] [--set FIELD.PATH=VALUE]... [--data_root=DIR]
//                  [--quiet]
//   aia validate CONFIG [--set FIELD.PATH=VALUE]...
//   aia serve --listen=HOST:PORT --runs_dir=DIR [--workers=... | --workers_file=FILE]
//             [--metrics_listen=HOST:PORT] [--data_root=DIR] [TLS and token flags]
//   aia submit CONFIG --workers=N [--set FIELD.PATH=VALUE]... [--watch]   (--server or AIA_SERVER)
//   aia watch RUN [--from_record=K] | aia cancel RUN | aia ls | aia get RUN | aia workers
//   (each with [--json])
//   aia health HOST:PORT [--service=NAME] [TLS and token flags]
//
// Exit status: 0 the run completed (or the config is valid), 1 the run failed,
// 2 bad config or usage.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/repeated_flag.h"
#include "base/status_macros.h"
#include "config/config.h"
#include "coordinator/engine.h"
#include "coordinator/health_check.h"
#include "coordinator/local_workers.h"
#include "plugins/loader.h"
#include "coordinator/progress.h"
#include "coordinator/service/client.h"
#include "coordinator/service/join_listener.h"
#include "coordinator/service/serve.h"
#include "coordinator/ssh_workers.h"
#include "coordinator/worker_addresses.h"
#include "metrics/metrics.h"
#include "metrics/run_metrics.h"
#include "security/credentials.h"

ABSL_FLAG(int, local_workers, 0, "start N aia_worker daemons on loopback for this run");
ABSL_FLAG(std::string, workers, "", "comma-separated HOST:PORT of running worker daemons");
ABSL_FLAG(std::string, workers_file, "", "file with one worker HOST:PORT a line ('#' comments)");
ABSL_FLAG(std::string, out, "", "run directory (default runs/<config name>-<UTC timestamp>)");
ABSL_FLAG(std::string, data_root, "/",
          "directory data paths are resolved under, for the central problem and local workers");
ABSL_FLAG(std::string, worker_binary, "", "aia_worker executable for --local_workers");
ABSL_FLAG(bool, quiet, false, "print only the final line");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA of the workers' certificates: connect with TLS (see docs/security.md)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate chain, for workers with mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, token_file, "",
          "file holding the workers' bearer token, sent with every call (mode 0600)");
ABSL_FLAG(std::string, tls_server_name, "",
          "the name the workers' certificates must carry, instead of each address's host");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT to serve the run's Prometheus metrics on at /metrics while it runs "
          "(plaintext HTTP, counts only; port 0 picks one); empty: no metrics");
ABSL_FLAG(std::string, listen, "", "aia serve: HOST:PORT of the coordinator service");
ABSL_FLAG(std::string, runs_dir, "", "aia serve: directory of the service's run directories");
ABSL_FLAG(std::string, health_listen, "",
          "aia serve: HOST:PORT of a plaintext port serving only grpc.health.v1 (for probes "
          "that cannot speak TLS); empty: none");
ABSL_FLAG(bool, insecure, false,
          "aia serve: allow plaintext on a non-loopback --listen (see docs/security.md)");
ABSL_FLAG(std::string, server, "",
          "submit/watch/cancel/ls/get/workers: HOST:PORT of the coordinator service (default: "
          "$AIA_SERVER)");
ABSL_FLAG(bool, json, false, "submit/watch/cancel/ls/get/workers: print JSON, one object a line");
ABSL_FLAG(bool, watch, false, "submit: watch the run until it ends; exit with its status");
ABSL_FLAG(int64_t, from_record, 0, "watch: send the records from this record number on");
ABSL_FLAG(std::string, ssh_workers, "",
          "file of hosts, one [user@]host[:port] a line ('#' comments): start aia_worker on each "
          "over ssh for this run, joining back to this coordinator (see docs/deploy.md)");
ABSL_FLAG(std::string, ssh_listen, "",
          "--ssh_workers: HOST:PORT the workers join (default: this machine's address towards the "
          "first host, any port); HOST must be reachable from the hosts");
ABSL_FLAG(std::string, ssh_worker_binary, "aia_worker",
          "--ssh_workers: the aia_worker on the hosts (a path, or a name on the remote PATH)");
ABSL_FLAG(std::string, ssh_options, "",
          "--ssh_workers: more ssh arguments, split at spaces (e.g. '-i KEY -o "
          "StrictHostKeyChecking=accept-new')");
ABSL_FLAG(std::string, ssh_worker_flags, "",
          "--ssh_workers: more aia_worker flags, split at spaces (e.g. '--tls_ca=/etc/aia/ca.pem "
          "--token_file=/etc/aia/token', paths on the hosts)");
ABSL_FLAG(int, ssh_connect_timeout_s, 10, "--ssh_workers: ssh's ConnectTimeout");
ABSL_FLAG(std::string, service, "", "health: the service to check (default: the whole server)");
ABSL_FLAG(double, health_timeout_s, 5, "health: the deadline of the check");
ABSL_FLAG(bool, in_process, false,
          "run the workers inside this process without gRPC, for debugging (one worker, or "
          "--local_workers=N of them)");

namespace aia {
namespace {

constexpr int kCompleted = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;

constexpr char kUsageText[] =
    "aia: distributed asynchronous iterative algorithms.\n"
    "Usage:\n"
    "  aia run CONFIG [--local_workers=N | --workers=HOST:PORT,... | --workers_file=FILE |\n"
    "                  --in_process [--local_workers=N]] [--out=DIR] [--set FIELD.PATH=VALUE]...\n"
    "                 [--data_root=DIR] [--quiet]\n"
    "                 [--tls_ca=F [--tls_cert=F --tls_key=F] [--tls_server_name=NAME]]\n"
    "                 [--token_file=F]\n"
    "  aia run CONFIG --ssh_workers=HOSTS_FILE [--ssh_listen=HOST:PORT] [--ssh_options=...]\n"
    "                 [--ssh_worker_binary=PATH] [--ssh_worker_flags=...] [--insecure |\n"
    "                  --tls_cert=F --tls_key=F [--tls_ca=F] | --token_file=F] ...\n"
    "  aia validate CONFIG [--set FIELD.PATH=VALUE]...\n"
    "  aia serve --listen=HOST:PORT --runs_dir=DIR [--workers=HOST:PORT,... | --workers_file=F]\n"
    "            [--metrics_listen=HOST:PORT] [--data_root=DIR]\n"
    "            [--tls_cert=F --tls_key=F [--tls_ca=F]] [--token_file=F] [--insecure]\n"
    "  aia submit CONFIG --workers=N [--set FIELD.PATH=VALUE]... [--watch] [--json]\n"
    "  aia watch RUN [--from_record=K] [--json]\n"
    "  aia cancel RUN | aia ls | aia get RUN | aia workers   [--json]\n"
    "  (the last five talk to --server=HOST:PORT, default $AIA_SERVER, with --tls_ca,\n"
    "   --tls_cert, --tls_key, --token_file, --tls_server_name as for workers)\n"
    "  aia health HOST:PORT [--service=NAME] [--health_timeout_s=S] [TLS and token flags]\n"
    "  run, validate and serve load the plugins of every --plugin_dir=DIR (repeatable) and\n"
    "  of /usr/lib/aia/plugins (docs/plugins.md); --local_workers get the same flags.\n"
    "Exit status: 0 completed, 1 run failed, 2 bad config or usage.";

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

// Starts the thread that takes SIGINT and SIGTERM (blocked in every thread): the
// first notifies the returned cancellation, a second exits at once with status
// 128 + the signal's number, for a shutdown that hangs (the history stays
// readable up to its last flush; summary.json may be missing). The thread and
// the notification live until the process ends, so a late signal never touches
// a destroyed object.
absl::Notification* CancelNotification() {
  static absl::Notification* const cancel = new absl::Notification;
  return cancel;
}

// Notifies CancelNotification() unless it was already (a signal, an ssh worker gone).
void NotifyCancel() {
  static absl::Mutex* const mu = new absl::Mutex;
  absl::MutexLock lock(mu);
  if (!CancelNotification()->HasBeenNotified()) CancelNotification()->Notify();
}

const absl::Notification* WatchStopSignals() {
  absl::Notification* const cancel = CancelNotification();
  std::thread([cancel] {
    const sigset_t stop_signals = StopSignals();
    for (int received = 0;; ++received) {
      int signal_number = 0;
      if (sigwait(&stop_signals, &signal_number) != 0) continue;
      if (received == 0) {
        std::fprintf(stderr, "aia: %s: stopping (again to exit at once)\n",
                     strsignal(signal_number));
        (void)cancel;
        NotifyCancel();
        continue;
      }
      std::fprintf(stderr, "aia: %s again: exiting without waiting for the workers\n",
                   strsignal(signal_number));
      std::fflush(stderr);
      _exit(128 + signal_number);
    }
  }).detach();
  return cancel;
}

// A mistake on the command line: the message and how to use aia.
int Usage(const std::string& message) {
  std::fprintf(stderr, "aia: %s\n%s\n", message.c_str(), kUsageText);
  return kUsage;
}

// A bad config, flag value or input file: the message alone (it names the field,
// file or line at fault).
// The --plugin_dir flags, in order.
std::vector<std::string>& PluginDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

int BadInput(absl::string_view message) {
  std::fprintf(stderr, "aia: %s\n", std::string(message).c_str());
  return kUsage;
}

// Loads the plugins of --plugin_dir and kDefaultPluginDir (before any thread
// starts: the loader forks). A bad library is bad input.
bool LoadPluginsOrSay(const std::vector<std::string>& dirs) {
  absl::StatusOr<std::vector<LoadedPlugin>> loaded = LoadPlugins(dirs);
  if (!loaded.ok()) {
    BadInput(loaded.status().message());
    return false;
  }
  return true;
}

absl::StatusOr<std::vector<std::string>> ReadWorkersFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read --workers_file=", path));
  std::vector<std::string> workers;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const std::string uncommented = line.substr(0, line.find('#'));
    const absl::string_view text = absl::StripAsciiWhitespace(uncommented);
    if (text.empty()) continue;
    if (text.find_first_of(" \t,") != absl::string_view::npos ||
        text.rfind(':') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": expected one HOST:PORT, got '", text, "'"));
    }
    workers.push_back(std::string(text));
  }
  if (workers.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no workers"));
  return workers;
}

absl::StatusOr<std::vector<std::string>> ParseWorkerList(const std::string& list) {
  std::vector<std::string> workers;
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    item = absl::StripAsciiWhitespace(item);
    if (item.empty() || item.rfind(':') == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--workers: expected HOST:PORT,..., got '", item, "'"));
    }
    workers.push_back(std::string(item));
  }
  return workers;
}

// The client credentials the --tls_* and --token_file flags name (for workers, or
// for the coordinator service).
absl::StatusOr<security::ClientSecurity> ClientSecurityFromFlags() {
  security::ClientSecurityOptions options;
  options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.key_file = absl::GetFlag(FLAGS_tls_key);
  options.token_file = absl::GetFlag(FLAGS_token_file);
  options.server_name = absl::GetFlag(FLAGS_tls_server_name);
  return security::MakeClientSecurity(options);
}

absl::StatusOr<v1::RunConfig> LoadWithOverrides(const std::string& path,
                                                const std::vector<std::string>& sets) {
  ASSIGN_OR_RETURN(v1::RunConfig config, LoadConfig(path));
  for (const std::string& set : sets) RETURN_IF_ERROR(ApplyOverride(config, set));
  return config;
}

std::string DefaultOutDir(const v1::RunConfig& config, const std::string& config_path) {
  std::string name = config.name();
  if (name.empty()) {
    name = config_path.substr(config_path.rfind('/') + 1);
    name = name.substr(0, name.find('.'));
  }
  return absl::StrCat("runs/", name, "-",
                      absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
}

int Validate(const std::string& path, const std::vector<std::string>& sets) {
  absl::StatusOr<v1::RunConfig> config = LoadWithOverrides(path, sets);
  absl::Status status = config.ok() ? ValidateConfig(*config, 0) : config.status();
  if (!status.ok()) return BadInput(status.message());
  std::printf("%s: valid\n", path.c_str());
  return kCompleted;
}

// What `aia run` prints at the end of a run, and its exit status.
int ReportRun(const absl::StatusOr<RunResult>& result, const std::string& ssh_failure = "") {
  if (!result.ok()) {
    // Bad config, or an --out that already holds a run, is bad input (2); a run
    // directory that cannot be created or written (an I/O error) fails the run (1).
    const absl::StatusCode code = result.status().code();
    if (code == absl::StatusCode::kInvalidArgument ||
        code == absl::StatusCode::kFailedPrecondition) {
      return BadInput(result.status().message());
    }
    std::fprintf(stderr, "aia: run failed: %s\n", std::string(result.status().message()).c_str());
    if (!ssh_failure.empty()) std::fprintf(stderr, "aia: %s\n", ssh_failure.c_str());
    return kFailed;
  }
  if (!ssh_failure.empty()) {
    // An ssh session that ended cancelled the run: say why, not "cancelled".
    std::fprintf(stderr, "aia: run failed: %s\nhistory so far in %s\n", ssh_failure.c_str(),
                 result->out_dir.c_str());
    return kFailed;
  }
  if (result->status == "completed") {
    std::printf("completed: %s after %lld iterations, %lld epochs, %.3f s; history in %s\n",
                result->stop_reason.c_str(), static_cast<long long>(result->iterations),
                static_cast<long long>(result->epochs), result->elapsed_s, result->out_dir.c_str());
    return kCompleted;
  }
  std::fprintf(stderr, "aia: run %s: %s\nhistory so far in %s\n", result->status.c_str(),
               result->error.c_str(), result->out_dir.c_str());
  return kFailed;
}

std::vector<std::string> SplitSpaces(const std::string& text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
}

// aia run --ssh_workers: an in-process Join endpoint (JoinListener) for the run,
// and aia_worker started on every host over ssh (SshWorkers), joining it; the run
// takes one slot per host and starts once all have joined (min_workers, unless
// the config says fewer). The sessions end with the run, however it ends.
int SshRunCommand(const v1::RunConfig& config, const std::string& path,
                  const std::string& hosts_file) {
  absl::StatusOr<std::vector<SshHost>> hosts = ReadSshHostsFile(hosts_file);
  if (!hosts.ok()) return BadInput(hosts.status().message());
  const int count = static_cast<int>(hosts->size());
  if (absl::Status status = ValidateConfig(config, count); !status.ok()) {
    return BadInput(status.message());
  }
  if (!absl::GetFlag(FLAGS_tls_server_name).empty()) {
    return Usage("--tls_server_name is for dialled workers, not --ssh_workers");
  }
  const int connect_timeout = absl::GetFlag(FLAGS_ssh_connect_timeout_s);
  if (connect_timeout < 1) {
    return Usage(absl::StrCat("--ssh_connect_timeout_s must be >= 1, got ", connect_timeout));
  }
  // Where the workers join: --ssh_listen, else our address towards the first host.
  std::string listen = absl::GetFlag(FLAGS_ssh_listen);
  std::string dial_host;
  if (listen.empty()) {
    absl::StatusOr<std::string> local = LocalAddressTowards((*hosts)[0].host);
    if (!local.ok()) {
      std::fprintf(stderr, "aia: %s; give --ssh_listen=HOST:PORT\n",
                   std::string(local.status().message()).c_str());
      return kFailed;
    }
    dial_host = *local;
    listen = absl::StrContains(*local, ':') ? absl::StrCat("[", *local, "]:0")
                                            : absl::StrCat(*local, ":0");
  } else {
    absl::StatusOr<std::pair<std::string, std::string>> split = security::SplitHostPort(listen);
    if (!split.ok()) return BadInput(absl::StrCat("--ssh_listen: ", split.status().message()));
    dial_host = split->first;
    if (dial_host == "0.0.0.0" || dial_host == "::" || dial_host.empty()) {
      absl::StatusOr<std::string> local = LocalAddressTowards((*hosts)[0].host);
      if (!local.ok()) {
        std::fprintf(stderr, "aia: %s; give --ssh_listen=ADDRESS:PORT\n",
                     std::string(local.status().message()).c_str());
        return kFailed;
      }
      dial_host = *local;
    }
  }
  security::ServerSecurityOptions server_options;
  server_options.listen = listen;
  server_options.cert_file = absl::GetFlag(FLAGS_tls_cert);
  server_options.key_file = absl::GetFlag(FLAGS_tls_key);
  server_options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  server_options.token_file = absl::GetFlag(FLAGS_token_file);
  server_options.insecure = absl::GetFlag(FLAGS_insecure);
  server_options.on_refused_call = [](const std::string& reason) {
    std::fprintf(stderr, "aia: refused a Join: %s\n", reason.c_str());
  };
  absl::StatusOr<security::ServerSecurity> server_security =
      security::MakeServerSecurity(server_options);
  if (!server_security.ok()) {
    return BadInput(absl::StrCat("--ssh_workers: ", server_security.status().message()));
  }
  for (const std::string& warning : server_security->warnings) {
    std::fprintf(stderr, "aia: %s\n", warning.c_str());
  }

  RunOptions options;
  options.config = config;
  options.data_root = absl::GetFlag(FLAGS_data_root);
  options.out_dir = absl::GetFlag(FLAGS_out);
  if (options.out_dir.empty()) options.out_dir = DefaultOutDir(config, path);
  const bool quiet = absl::GetFlag(FLAGS_quiet);
  ProgressReporter progress(ProgressReporter::DefaultOptions(stderr, quiet));
  options.progress = &progress;
  const int64_t max_message_bytes = ResolveLimits(config.limits()).max_message_bytes;

  JoinListener::Options listener_options;
  listener_options.listen = listen;
  listener_options.credentials = server_security->credentials;
  listener_options.max_message_bytes = max_message_bytes;
  if (!quiet) {
    listener_options.log = [](const std::string& line) {
      std::fprintf(stderr, "aia: %s\n", line.c_str());
    };
  }
  absl::StatusOr<std::unique_ptr<JoinListener>> listener = JoinListener::Start(listener_options);
  if (!listener.ok()) {
    std::fprintf(stderr, "aia: --ssh_listen: %s\n",
                 std::string(listener.status().message()).c_str());
    return kFailed;
  }
  const std::string join_target = absl::StrContains(dial_host, ':')
                                      ? absl::StrCat("[", dial_host, "]:", (*listener)->port())
                                      : absl::StrCat(dial_host, ":", (*listener)->port());
  if (!quiet) {
    std::fprintf(stderr, "aia: ssh workers join %s (%s)\n", join_target.c_str(),
                 server_security->description.c_str());
  }

  SshWorkers::Options ssh_options;
  ssh_options.hosts = *hosts;
  ssh_options.join_target = join_target;
  ssh_options.worker_binary = absl::GetFlag(FLAGS_ssh_worker_binary);
  ssh_options.worker_flags = {"--data_root=" + options.data_root,
                              absl::StrCat("--max_message_bytes=", max_message_bytes)};
  // Plaintext is the coordinator's choice (--insecure); the workers follow it.
  if (absl::GetFlag(FLAGS_insecure)) ssh_options.worker_flags.push_back("--insecure");
  for (std::string& flag : SplitSpaces(absl::GetFlag(FLAGS_ssh_worker_flags))) {
    ssh_options.worker_flags.push_back(std::move(flag));
  }
  ssh_options.ssh_options = SplitSpaces(absl::GetFlag(FLAGS_ssh_options));
  ssh_options.connect_timeout_s = connect_timeout;
  ssh_options.log_dir = options.out_dir + "/logs";
  std::error_code made;
  std::filesystem::create_directories(ssh_options.log_dir, made);
  if (made) {
    return BadInput(absl::StrCat("cannot create ", ssh_options.log_dir, ": ", made.message()));
  }
  // A session that ends before the run does (refused, timed out, the worker
  // died) cancels the run at once; its message is what the run failed of.
  ssh_options.on_failure = [](const std::string&) { NotifyCancel(); };
  options.cancel = WatchStopSignals();
  absl::StatusOr<std::unique_ptr<SshWorkers>> workers = SshWorkers::Start(ssh_options);
  if (!workers.ok()) {
    std::fprintf(stderr, "aia: %s\n", std::string(workers.status().message()).c_str());
    return kFailed;
  }
  std::unique_ptr<WorkerSource> source = (*listener)->directory().SourceFor("ssh-run");
  options.source = source.get();
  options.slots = count;
  absl::StatusOr<RunResult> result = RunCoordinator(options);
  (*workers)->Stop();
  const std::string failure = (*workers)->failure();
  source.reset();
  (*listener)->Shutdown();
  return ReportRun(result, failure);
}

// aia health HOST:PORT [--service=NAME]: 0 SERVING, 1 anything else, 2 bad usage.
int HealthMain(const std::vector<char*>& args) {
  if (args.size() != 3) return Usage("health takes one HOST:PORT");
  const std::string target = args[2];
  if (absl::StatusOr<std::pair<std::string, std::string>> split =
          security::SplitHostPort(target);
      !split.ok()) {
    return Usage(absl::StrCat("health: ", split.status().message()));
  }
  const double timeout_s = absl::GetFlag(FLAGS_health_timeout_s);
  if (!(timeout_s > 0)) return Usage("--health_timeout_s must be > 0");
  absl::StatusOr<security::ClientSecurity> security = ClientSecurityFromFlags();
  if (!security.ok()) return BadInput(security.status().message());
  if (absl::Status status = security::CheckWorkerAddresses(*security, {target}); !status.ok()) {
    return BadInput(status.message());
  }
  grpc::ChannelArguments channel_args;
  if (!security->server_name.empty()) channel_args.SetSslTargetNameOverride(security->server_name);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      target,
      security->credentials != nullptr ? security->credentials : grpc::InsecureChannelCredentials(),
      channel_args);
  const std::string service = absl::GetFlag(FLAGS_service);
  absl::StatusOr<HealthStatus> health =
      CheckHealth(channel, service, absl::Seconds(timeout_s));
  const std::string what = service.empty() ? target : absl::StrCat(target, " ", service);
  if (!health.ok()) {
    const absl::StatusCode code = health.status().code();
    const std::string reason =
        code == absl::StatusCode::kNotFound
            ? absl::StrCat("unknown service '", service, "'")
        : code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded
            ? "unreachable"
        : code == absl::StatusCode::kUnauthenticated ||
                code == absl::StatusCode::kPermissionDenied
            ? "refused"
        : code == absl::StatusCode::kUnimplemented ? "no health service"
                                                   : "check failed";
    std::fprintf(stderr, "aia health: %s: %s (%s: %s)\n", what.c_str(), reason.c_str(),
                 absl::StatusCodeToString(code).c_str(),
                 std::string(health.status().message()).c_str());
    return kFailed;
  }
  std::printf("%s\n", HealthStatusName(*health));
  if (*health != HealthStatus::kServing) {
    std::fprintf(stderr, "aia health: %s: %s\n", what.c_str(), HealthStatusName(*health));
    return kFailed;
  }
  return kCompleted;
}

int RunCommand(const std::string& path, const std::vector<std::string>& sets) {
  absl::StatusOr<v1::RunConfig> config = LoadWithOverrides(path, sets);
  if (!config.ok()) return BadInput(config.status().message());

  const int local = absl::GetFlag(FLAGS_local_workers);
  const std::string list = absl::GetFlag(FLAGS_workers);
  const std::string file = absl::GetFlag(FLAGS_workers_file);
  const std::string ssh_file = absl::GetFlag(FLAGS_ssh_workers);
  const bool in_process = absl::GetFlag(FLAGS_in_process);
  if (local < 0) return Usage(absl::StrCat("--local_workers must be >= 1, got ", local));
  if (in_process ? !list.empty() || !file.empty() || !ssh_file.empty()
                 : (local > 0) + !list.empty() + !file.empty() + !ssh_file.empty() != 1) {
    return Usage(
        "give exactly one of --local_workers=N, --workers=..., --workers_file=..., "
        "--ssh_workers=... and --in_process");
  }
  if (!ssh_file.empty()) return SshRunCommand(*config, path, ssh_file);
  // Credentials belong to this machine, not to the run config: flags only. Bad
  // files are bad input (exit 2), found before anything starts.
  absl::StatusOr<security::ClientSecurity> security = ClientSecurityFromFlags();
  if (!security.ok()) return BadInput(security.status().message());
  if ((local > 0 || in_process) && list.empty() && file.empty() &&
      (security->tls || security->token)) {
    std::fprintf(stderr,
                 "aia: note: --local_workers and --in_process workers are plaintext on loopback; "
                 "--tls_*/--token_file apply to --workers and --workers_file only\n");
  }

  RunOptions options;
  options.config = *config;
  options.data_root = absl::GetFlag(FLAGS_data_root);
  options.out_dir = absl::GetFlag(FLAGS_out);
  if (options.out_dir.empty()) options.out_dir = DefaultOutDir(*config, path);
  ProgressReporter progress(ProgressReporter::DefaultOptions(stderr, absl::GetFlag(FLAGS_quiet)));
  options.progress = &progress;

  // Check the config before starting any worker: bad config is exit status 2.
  const int worker_count = in_process ? std::max(local, 1) : local;
  if (absl::Status status = ValidateConfig(*config, worker_count); !status.ok()) {
    return BadInput(status.message());
  }

  std::unique_ptr<LocalWorkers> local_workers;
  if (in_process) {
    options.in_process = true;
    for (int w = 0; w < worker_count; ++w) options.workers.push_back("in-process");
  } else if (local > 0) {
    LocalWorkers::Options worker_options;
    worker_options.count = local;
    worker_options.data_root = options.data_root;
    worker_options.max_message_bytes = ResolveLimits(config->limits()).max_message_bytes;
    worker_options.binary = absl::GetFlag(FLAGS_worker_binary);
    worker_options.plugin_dirs = PluginDirs();
    if (worker_options.binary.empty()) {
      absl::StatusOr<std::string> binary = FindWorkerBinary();
      if (!binary.ok()) return BadInput(binary.status().message());
      worker_options.binary = *binary;
    }
    worker_options.log_dir = options.out_dir + "/logs";
    std::error_code made;
    std::filesystem::create_directories(worker_options.log_dir, made);
    if (made) {
      return BadInput(absl::StrCat("cannot create ", worker_options.log_dir, ": ", made.message()));
    }
    absl::StatusOr<std::unique_ptr<LocalWorkers>> started = LocalWorkers::Start(worker_options);
    if (!started.ok()) {
      std::fprintf(stderr, "aia: %s\n", std::string(started.status().message()).c_str());
      return kFailed;
    }
    local_workers = std::move(started).value();
    options.workers = local_workers->addresses();
  } else {
    absl::StatusOr<std::vector<std::string>> workers =
        list.empty() ? ReadWorkersFile(file) : ParseWorkerList(list);
    if (!workers.ok()) return BadInput(workers.status().message());
    absl::StatusOr<std::vector<std::string>> expanded = ExpandWorkerAddresses(*workers);
    if (!expanded.ok()) {
      if (expanded.status().code() == absl::StatusCode::kInvalidArgument) {
        return BadInput(expanded.status().message());
      }
      std::fprintf(stderr, "aia: %s\n", std::string(expanded.status().message()).c_str());
      return kFailed;
    }
    options.workers = *std::move(expanded);
    if (absl::Status status = security::CheckWorkerAddresses(*security, options.workers);
        !status.ok()) {
      return BadInput(status.message());
    }
    // Local workers (--local_workers) stay plaintext on loopback; these are for
    // daemons on other machines.
    options.credentials = security->credentials;
    options.tls_server_name = security->server_name;
    options.diagnose_connect_failure = security->diagnose;
  }

  // Ctrl-C or SIGTERM cancels the run cleanly: the history so far and summary.json
  // ("cancelled") are written and the worker daemons are stopped. A second one
  // forces the exit at once (see WatchStopSignals).
  options.cancel = WatchStopSignals();
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<RunMetrics> run_metrics;
  if (const std::string listen = absl::GetFlag(FLAGS_metrics_listen); !listen.empty()) {
    absl::StatusOr<std::unique_ptr<Metrics>> listening = Metrics::Listen(listen);
    if (!listening.ok()) {
      const bool bad = listening.status().code() == absl::StatusCode::kInvalidArgument;
      std::fprintf(stderr, "aia: --metrics_listen: %s\n",
                   std::string(listening.status().message()).c_str());
      return bad ? kUsage : kFailed;
    }
    metrics = std::move(listening).value();
    run_metrics = std::make_unique<RunMetrics>(metrics->registry());
    options.observer = run_metrics.get();
    std::fprintf(stderr, "aia: metrics on http://%s:%d/metrics\n",
                 listen.substr(0, listen.rfind(':')).c_str(), metrics->port());
  }
  return ReportRun(RunCoordinator(options));
}

int ServeMain(const absl::Notification* stop) {
  ServeFlags flags;
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.runs_dir = absl::GetFlag(FLAGS_runs_dir);
  flags.data_root = absl::GetFlag(FLAGS_data_root);
  flags.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  flags.health_listen = absl::GetFlag(FLAGS_health_listen);
  const std::string list = absl::GetFlag(FLAGS_workers);
  const std::string file = absl::GetFlag(FLAGS_workers_file);
  if (!list.empty() && !file.empty()) return Usage("give --workers or --workers_file, not both");
  if (!list.empty() || !file.empty()) {
    absl::StatusOr<std::vector<std::string>> workers =
        list.empty() ? ReadWorkersFile(file) : ParseWorkerList(list);
    if (!workers.ok()) return BadInput(workers.status().message());
    flags.workers = *std::move(workers);
  }
  flags.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  flags.tls_key = absl::GetFlag(FLAGS_tls_key);
  flags.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  flags.token_file = absl::GetFlag(FLAGS_token_file);
  flags.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  flags.insecure = absl::GetFlag(FLAGS_insecure);
  return ServeCommand(flags, stop);
}

// submit, watch, cancel, ls, get, workers.
int ClientMain(const std::string& command, const std::vector<char*>& args,
               const std::vector<std::string>& sets) {
  const size_t operands = command == "ls" || command == "workers" ? 0 : 1;
  if (args.size() != 2 + operands) {
    return Usage(operands == 0 ? absl::StrCat(command, " takes no operand")
                 : command == "submit" ? "submit takes one CONFIG file"
                                       : absl::StrCat(command, " takes one RUN id"));
  }
  ClientOptions options;
  options.server = absl::GetFlag(FLAGS_server);
  if (options.server.empty()) {
    const char* env = std::getenv("AIA_SERVER");
    if (env != nullptr) options.server = env;
  }
  if (options.server.empty()) return Usage("give --server=HOST:PORT or set AIA_SERVER");
  absl::StatusOr<security::ClientSecurity> security = ClientSecurityFromFlags();
  if (!security.ok()) return BadInput(security.status().message());
  if (absl::Status status = security::CheckWorkerAddresses(*security, {options.server});
      !status.ok()) {
    return BadInput(status.message());
  }
  options.credentials = security->credentials;
  options.tls_server_name = security->server_name;
  options.json = absl::GetFlag(FLAGS_json);
  options.quiet = absl::GetFlag(FLAGS_quiet);
  if (command != "submit" && !sets.empty()) return Usage("--set is for run, validate and submit");
  if (command == "submit") {
    int workers = 0;
    const std::string text = absl::GetFlag(FLAGS_workers);
    if (!absl::SimpleAtoi(text, &workers) || workers < 1) {
      return Usage(absl::StrCat("submit needs --workers=N (the run's worker slots, N >= 1), got '",
                                text, "'"));
    }
    return SubmitCommand(options, args[2], sets, workers, absl::GetFlag(FLAGS_watch));
  }
  if (command == "watch") return WatchCommand(options, args[2], absl::GetFlag(FLAGS_from_record));
  if (command == "cancel") return CancelCommand(options, args[2]);
  if (command == "get") return GetRunCommand(options, args[2]);
  if (command == "ls") return ListRunsCommand(options);
  return ListWorkersCommand(options);
}

}  // namespace
}  // namespace aia

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(aia::kUsageText);
  // Debian's Abseil checks every lock for cycles (a graph update and a stack
  // trace per acquisition: 1.5% of the coordinator's time at small messages);
  // the tests keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Stop signals are taken by a thread of RunCommand's, in every thread blocked.
  const sigset_t stop_signals = aia::StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::string error;
  std::vector<std::string> sets =
      aia::ExtractRepeatedFlag(argc, argv, "set", "FIELD.PATH=VALUE", &error);
  if (error.empty()) {
    aia::PluginDirs() = aia::ExtractRepeatedFlag(argc, argv, "plugin_dir", "a directory", &error);
  }
  if (!error.empty()) return aia::Usage(error);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return aia::Usage("missing command");
  const std::string command = args[1];
  const bool plugins = command == "serve" || command == "run" || command == "validate";
  if (!aia::PluginDirs().empty() && !plugins) {
    return aia::Usage("--plugin_dir is for run, validate and serve");
  }
  if (plugins && !aia::LoadPluginsOrSay(aia::PluginDirs())) return aia::kUsage;
  if (command == "serve") {
    if (args.size() != 2) return aia::Usage("serve takes no operand");
    return aia::ServeMain(aia::WatchStopSignals());
  }
  if (command == "submit" || command == "watch" || command == "cancel" || command == "ls" ||
      command == "get" || command == "workers") {
    return aia::ClientMain(command, args, sets);
  }
  if (command == "health") return aia::HealthMain(args);
  if (command != "run" && command != "validate") {
    return aia::Usage(absl::StrCat("unknown command '", command, "'"));
  }
  if (args.size() != 3) return aia::Usage(absl::StrCat(command, " takes one CONFIG file"));
  return command == "run" ? aia::RunCommand(args[2], sets) : aia::Validate(args[2], sets);
}
