#include "metrics/metrics.h"

#include <exception>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/text_serializer.h"

namespace aia {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {}

Metrics::~Metrics() = default;

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Listen(const std::string& host_port) {
  // civetweb reads more than one address (commas) and suffixes ("s" for TLS, "r"
  // for a redirect) in its port option: accept exactly one HOST:PORT.
  const size_t colon = host_port.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      host_port.find_first_of(", \t") != std::string::npos ||
      !absl::SimpleAtoi(host_port.substr(colon + 1), &port) || port < 0 || port > 65535 ||
      host_port.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the metrics address must be HOST:PORT, got '", host_port, "'"));
  }
  auto metrics = std::make_unique<Metrics>();
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(host_port, /*num_threads=*/2);
  } catch (const std::exception& e) {
    // civetweb reports a port it cannot bind by throwing from the constructor.
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", host_port, " (in use, or not an address here)"));
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? port : ports.front();
  return metrics;
}

std::string Metrics::Text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace aia
