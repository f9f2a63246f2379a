#include "coordinator/service/serve.h"

#include <systemd/sd-daemon.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/health_server.h"
#include "coordinator/service/coordinator_service.h"
#include "metrics/metrics.h"
#include "metrics/run_metrics.h"
#include "metrics/service_metrics.h"
#include "security/credentials.h"

namespace aia {
namespace {

int Fail(int status, const std::string& message) {
  std::fprintf(stderr, "aia serve: %s\n", message.c_str());
  return status;
}

void Warn(const std::string& message) { std::fprintf(stderr, "aia serve: %s\n", message.c_str()); }

}  // namespace

int ServeCommand(const ServeFlags& flags, const absl::Notification* stop) {
  if (flags.listen.empty()) return Fail(2, "--listen=HOST:PORT is required");
  if (flags.runs_dir.empty()) return Fail(2, "--runs_dir=DIR is required");
  if (absl::StatusOr<std::pair<std::string, std::string>> split =
          security::SplitHostPort(flags.listen);
      !split.ok()) {
    return Fail(2, absl::StrCat("--listen: ", split.status().message()));
  }
  security::ServerSecurityOptions server_options;
  server_options.listen = flags.listen;
  server_options.cert_file = flags.tls_cert;
  server_options.key_file = flags.tls_key;
  server_options.ca_file = flags.tls_ca;
  server_options.token_file = flags.token_file;
  server_options.insecure = flags.insecure;
  server_options.on_refused_call = [](const std::string& reason) {
    std::fprintf(stderr, "aia serve: refused a call: %s\n", reason.c_str());
  };
  absl::StatusOr<security::ServerSecurity> server_security =
      security::MakeServerSecurity(server_options);
  if (!server_security.ok()) return Fail(2, std::string(server_security.status().message()));
  for (const std::string& warning : server_security->warnings) Warn(warning);

  security::ClientSecurityOptions client_options;
  client_options.ca_file = flags.tls_ca;
  client_options.cert_file = flags.tls_ca.empty() ? "" : flags.tls_cert;
  client_options.key_file = flags.tls_ca.empty() ? "" : flags.tls_key;
  client_options.token_file = flags.token_file;
  client_options.server_name = flags.tls_server_name;
  absl::StatusOr<security::ClientSecurity> client_security =
      security::MakeClientSecurity(client_options);
  if (!client_security.ok()) return Fail(2, std::string(client_security.status().message()));
  if (absl::Status checked = security::CheckWorkerAddresses(*client_security, flags.workers);
      !checked.ok()) {
    return Fail(2, std::string(checked.message()));
  }

  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<RunMetrics> run_metrics;
  std::unique_ptr<ServiceMetrics> service_metrics;
  if (!flags.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<Metrics>> listening = Metrics::Listen(flags.metrics_listen);
    if (!listening.ok()) {
      return Fail(listening.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                  absl::StrCat("--metrics_listen: ", listening.status().message()));
    }
    metrics = std::move(listening).value();
    run_metrics = std::make_unique<RunMetrics>(metrics->registry());
    service_metrics = std::make_unique<ServiceMetrics>(metrics->registry());
  }

  CoordinatorService::Options options;
  options.listen = flags.listen;
  options.server_credentials = server_security->credentials;
  options.runs_dir = flags.runs_dir;
  options.data_root = flags.data_root;
  options.workers = flags.workers;
  options.worker_credentials = client_security->credentials;
  options.tls_server_name = client_security->server_name;
  options.diagnose_connect_failure = client_security->diagnose;
  options.run_observer = run_metrics.get();
  options.metrics = service_metrics.get();
  absl::StatusOr<std::unique_ptr<CoordinatorService>> service = CoordinatorService::Start(options);
  if (!service.ok()) {
    return Fail(service.status().code() == absl::StatusCode::kUnavailable ? 1 : 2,
                std::string(service.status().message()));
  }
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  std::fprintf(stderr, "aia serve: listening on %s:%d (%s), runs in %s\n", host.c_str(),
               (*service)->port(), server_security->description.c_str(), flags.runs_dir.c_str());
  if (metrics != nullptr) {
    const std::string metrics_host = flags.metrics_listen.substr(0, flags.metrics_listen.rfind(':'));
    std::fprintf(stderr, "aia serve: metrics on http://%s:%d/metrics\n", metrics_host.c_str(),
                 metrics->port());
  }
  std::unique_ptr<HealthServer> health;
  if (!flags.health_listen.empty()) {
    absl::StatusOr<std::unique_ptr<HealthServer>> started =
        HealthServer::Start(flags.health_listen, "aia.v1.Coordinator");
    if (!started.ok()) {
      (*service)->Shutdown();
      return Fail(started.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                  absl::StrCat("--health_listen: ", started.status().message()));
    }
    health = std::move(started).value();
    std::fprintf(stderr, "aia serve: health on %s:%d (plaintext, grpc.health.v1 only)\n",
                 flags.health_listen.substr(0, flags.health_listen.rfind(':')).c_str(),
                 health->port());
  }
  std::fflush(stderr);
  // systemd Type=notify (deploy/systemd/aia-coordinator.service): ready once the
  // service listens. Without NOTIFY_SOCKET sd_notify does nothing.
  sd_notify(0, "READY=1");
  stop->WaitForNotification();
  std::fprintf(stderr, "aia serve: stopping (running runs are cancelled)\n");
  sd_notify(0, "STOPPING=1");
  if (health != nullptr) health->SetServing(false);
  (*service)->Shutdown();
  return 0;
}

}  // namespace aia
