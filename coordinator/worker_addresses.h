// Worker addresses as users give them: HOST:PORT, or dns:///NAME:PORT for every
// address NAME has (a Kubernetes headless Service, a round-robin DNS name, a
// hosts file with the name on several lines), each of which becomes a worker.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<std::string> workers,
//                    ExpandWorkerAddresses({"dns:///workers.aia:7070", "10.0.0.9:7070"}));
//   // {"10.0.0.11:7070", "10.0.0.12:7070", "10.0.0.9:7070"}
//
// Thread safety: a function without state; it blocks while the name resolves.
#ifndef AIA_COORDINATOR_WORKER_ADDRESSES_H_
#define AIA_COORDINATOR_WORKER_ADDRESSES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace aia {

// Each entry as is, but dns:///NAME:PORT replaced by IP:PORT ([IP]:PORT for IPv6)
// for every address of NAME, in ascending order, without duplicates. NotFound
// naming the entry when NAME has no address; InvalidArgument for a dns:/// entry
// without a name or a port in 1..65535.
absl::StatusOr<std::vector<std::string>> ExpandWorkerAddresses(
    const std::vector<std::string>& entries);

}  // namespace aia

#endif  // AIA_COORDINATOR_WORKER_ADDRESSES_H_
