#include "plugins/identity.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "base/utf8.h"
#include "sdk/plugin.h"

namespace aia {
namespace {

std::vector<std::pair<PluginKind, std::string>> RunNames(const v1::AlgorithmSpec& algorithm,
                                                         const v1::ProblemSpec& problem) {
  return {{PluginKind::kAlgorithm, algorithm.name()}, {PluginKind::kProblem, problem.name()}};
}

std::string Describe(const v1::PluginIdentity& identity) {
  return absl::StrCat("plugin ", ValidUtf8(identity.plugin()), " ", ValidUtf8(identity.version()),
                      " (", ValidUtf8(identity.digest()), ")");
}

}  // namespace

std::vector<v1::PluginIdentity> PluginIdentities(const v1::AlgorithmSpec& algorithm,
                                                 const v1::ProblemSpec& problem) {
  std::vector<v1::PluginIdentity> identities;
  for (const auto& [kind, name] : RunNames(algorithm, problem)) {
    const PluginEntry* entry = Plugins().Find(kind, name);
    if (entry == nullptr) continue;
    v1::PluginIdentity& identity = identities.emplace_back();
    identity.set_kind(std::string(PluginKindName(kind)));
    identity.set_name(name);
    identity.set_plugin(entry->origin.plugin);
    identity.set_version(entry->origin.version);
    identity.set_digest(entry->origin.digest);
  }
  return identities;
}

absl::Status CheckSamePlugins(const v1::Setup& setup) {
  const std::vector<v1::PluginIdentity> here = PluginIdentities(setup.algorithm(), setup.problem());
  for (const auto& [kind, name] : RunNames(setup.algorithm(), setup.problem())) {
    const std::string what = absl::StrCat(PluginKindName(kind), " '", ValidUtf8(name), "'");
    const v1::PluginIdentity* theirs = nullptr;
    for (const v1::PluginIdentity& identity : setup.plugins()) {
      if (identity.kind() == PluginKindName(kind) && identity.name() == name) theirs = &identity;
    }
    const v1::PluginIdentity* ours = nullptr;
    for (const v1::PluginIdentity& identity : here) {
      if (identity.kind() == PluginKindName(kind)) ours = &identity;
    }
    if (theirs == nullptr && ours == nullptr) continue;
    if (ours == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, " comes from the coordinator's ", Describe(*theirs),
          "; this worker has no such plugin (start aia_worker with the --plugin_dir that holds "
          "it)"));
    }
    const PluginEntry* entry = Plugins().Find(kind, name);
    if (theirs == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, " is built into the coordinator but comes from ", Describe(*ours), " at ",
          entry->origin.library, " here"));
    }
    if (theirs->plugin() != ours->plugin() || theirs->version() != ours->version() ||
        theirs->digest() != ours->digest()) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": the coordinator runs ", Describe(*theirs), ", this worker ",
                       Describe(*ours), " from ", entry->origin.library,
                       " (install the same build on both)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace aia
