// JoinListener: a minimal coordinator endpoint for one `aia run` whose workers
// dial in (aia run --ssh_workers): a gRPC server with only Coordinator.Join
// registered (the rest answer UNIMPLEMENTED), serving a WorkerDirectory of
// joined workers, exactly as `aia serve` does for its pool.
//
// Example:
//   JoinListener::Options options;
//   options.listen = "10.0.0.1:0";
//   ASSIGN_OR_RETURN(auto listener, JoinListener::Start(options));
//   std::unique_ptr<WorkerSource> source = listener->directory().SourceFor("run");
//   run.source = source.get();  run.slots = hosts;
//   ... RunCoordinator(run) ...
//   listener->Shutdown();
//
// Thread safety: every method may be called from any thread.
#ifndef AIA_COORDINATOR_SERVICE_JOIN_LISTENER_H_
#define AIA_COORDINATOR_SERVICE_JOIN_LISTENER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/service/worker_directory.h"
#include "grpcpp/security/server_credentials.h"

namespace aia {

class JoinListener {
 public:
  struct Options {
    std::string listen = "127.0.0.1:0";
    std::shared_ptr<grpc::ServerCredentials> credentials;  // null: plaintext
    int64_t max_message_bytes = int64_t{256} << 20;
    // Receives a line per worker joined or gone; null: silence.
    std::function<void(const std::string&)> log;
  };

  // Unavailable when `listen` cannot be bound.
  static absl::StatusOr<std::unique_ptr<JoinListener>> Start(const Options& options);
  ~JoinListener();
  JoinListener(const JoinListener&) = delete;
  JoinListener& operator=(const JoinListener&) = delete;

  int port() const;
  WorkerDirectory& directory();
  // Ends the waiting Join streams and stops serving (idempotent).
  void Shutdown();

  class Impl;

 private:
  explicit JoinListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SERVICE_JOIN_LISTENER_H_
