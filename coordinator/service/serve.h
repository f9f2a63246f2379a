// `aia serve`: builds the coordinator service from its command line, serves until
// `stop` is notified (SIGINT, SIGTERM), then shuts down (running runs are
// cancelled; their histories end "cancelled").
//
// Exit status: 0 after a stop, 1 cannot listen, 2 bad flags or credentials.
#ifndef AIA_COORDINATOR_SERVICE_SERVE_H_
#define AIA_COORDINATOR_SERVICE_SERVE_H_

#include <string>
#include <vector>

#include "absl/synchronization/notification.h"

namespace aia {

struct ServeFlags {
  std::string listen;
  std::string runs_dir;
  std::string data_root;
  std::string metrics_listen;
  std::string health_listen;  // a plaintext grpc.health.v1-only port (probes)
  std::vector<std::string> workers;  // dialled: HOST:PORT, dns:///NAME:PORT
  // The service's certificate (also its client certificate towards dialled
  // workers with mutual TLS), the CA that checks clients and workers, the token.
  std::string tls_cert, tls_key, tls_ca, token_file, tls_server_name;
  bool insecure = false;
};

int ServeCommand(const ServeFlags& flags, const absl::Notification* stop);

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_SERVE_H_
