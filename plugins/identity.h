// Which plugin build a run's algorithm and problem come from, sent in Setup
// (proto/worker.proto, rule 2), so that a worker never serves a run with another
// build of the plugin than the coordinator's.
#ifndef AIA_PLUGINS_IDENTITY_H_
#define AIA_PLUGINS_IDENTITY_H_

#include <vector>

#include "absl/status/status.h"
#include "proto/worker.pb.h"

namespace aia {

// The identities of `algorithm` and `problem` that come from loaded plugins
// (none for built-ins).
std::vector<v1::PluginIdentity> PluginIdentities(const v1::AlgorithmSpec& algorithm,
                                                 const v1::ProblemSpec& problem);

// OK when this process holds the plugins `setup` lists, and no others, for its
// algorithm and problem; FailedPrecondition saying what differs otherwise.
absl::Status CheckSamePlugins(const v1::Setup& setup);

}  // namespace aia

#endif  // AIA_PLUGINS_IDENTITY_H_
