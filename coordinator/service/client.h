// The CLI's commands against a coordinator service (`aia submit`, `watch`,
// `cancel`, `ls`, `get`, `workers`): each makes one call (WatchRun: a stream,
// resumed from the last record received if it breaks) and prints the result,
// human-readable or, with `json`, one JSON object per line.
//
// Exit status: 0 done (watch: the run completed), 1 the call or the run failed,
// 2 bad input (the service refused the config, a bad flag).
//
// Thread safety: one command per process.
#ifndef AIA_COORDINATOR_SERVICE_CLIENT_H_
#define AIA_COORDINATOR_SERVICE_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/security/credentials.h"

namespace aia {

struct ClientOptions {
  std::string server;  // HOST:PORT
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // null: plaintext
  std::string tls_server_name;
  bool json = false;
  bool quiet = false;
};

int SubmitCommand(const ClientOptions& options, const std::string& config_path,
                  const std::vector<std::string>& sets, int workers, bool watch);
int WatchCommand(const ClientOptions& options, const std::string& run_id, int64_t from_record);
int CancelCommand(const ClientOptions& options, const std::string& run_id);
int ListRunsCommand(const ClientOptions& options);
int GetRunCommand(const ClientOptions& options, const std::string& run_id);
int ListWorkersCommand(const ClientOptions& options);

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_CLIENT_H_
