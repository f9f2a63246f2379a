// Metrics: a Prometheus registry, and optionally an HTTP endpoint that serves its
// text exposition at http://HOST:PORT/metrics (Prometheus's pull model).
//
// Metric names start with "aia_" and follow Prometheus's conventions, which
// `promtool check metrics` enforces: counters end in "_total", units are spelled
// out in the name ("_seconds", "_bytes"). Metrics carry counts only: no query or
// answer contents, no paths, no peer addresses, and labels come from fixed sets.
// The endpoint is plaintext HTTP without authentication: bind it to loopback or a
// private network (docs/security.md).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Metrics> metrics, Metrics::Listen("127.0.0.1:9464"));
//   auto worker_metrics = std::make_shared<WorkerMetrics>(metrics->registry());
//   ...  // scrape: curl http://127.0.0.1:9464/metrics
//
// Thread safety: all methods may be called from any thread; the endpoint serves
// scrapes on threads of its own (civetweb's).
#ifndef AIA_METRICS_METRICS_H_
#define AIA_METRICS_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace aia {

class Metrics {
 public:
  // A registry without an endpoint (tests, or metrics turned off).
  Metrics();
  // A registry served on `host_port` ("127.0.0.1:9464", "[::1]:9464", port 0 picks
  // a free port), used as given. InvalidArgument if it is not HOST:PORT;
  // Unavailable if it cannot be bound.
  static absl::StatusOr<std::unique_ptr<Metrics>> Listen(const std::string& host_port);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Where metrics are registered; shared with the endpoint.
  prometheus::Registry& registry() { return *registry_; }
  // The port the endpoint bound, or 0 without one.
  int port() const { return port_; }
  // The text exposition format (version 0.0.4) of everything registered: what a
  // scrape of the endpoint returns.
  std::string Text() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace aia

#endif  // AIA_METRICS_METRICS_H_
