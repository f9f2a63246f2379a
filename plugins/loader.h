// Loading plugin libraries (sdk/plugin.h) into aia and aia_worker.
//
// A host loads every "*.so" file of its plugin directories at start, before any
// run: the --plugin_dir directories in the order given, then kDefaultPluginDir
// when it exists. Names come only from these directories, never from a config
// or a peer, so a coordinator cannot make a worker load code it was not given.
//
// Each library is first loaded in a forked child, so that one that crashes or
// aborts while loading (a corrupt file, a static initializer that throws, a
// protobuf file registered twice) is an error naming the file, not the end of
// the host. Then it is loaded for real (dlopen, RTLD_NOW | RTLD_LOCAL); its API
// version must equal kPluginApiVersion; each algorithm or problem it registers
// must be a new name (not built in, not in another library).
//
// Thread safety: call LoadPlugins once, from main, before starting threads.
#ifndef AIA_PLUGINS_LOADER_H_
#define AIA_PLUGINS_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sdk/plugin.h"

namespace aia {

// Searched after every --plugin_dir, skipped when absent (docs/plugins.md).
inline constexpr char kDefaultPluginDir[] = "/usr/lib/aia/plugins";

struct LoadedPlugin {
  PluginOrigin origin;
  std::vector<std::string> algorithms;
  std::vector<std::string> problems;
};

// Loads the libraries of `dirs` (each must be a directory) and then of
// `default_dir` (skipped when it does not exist; "" for none). InvalidArgument
// naming the directory or the file at fault; nothing after a failed library is
// loaded.
absl::StatusOr<std::vector<LoadedPlugin>> LoadPlugins(
    const std::vector<std::string>& dirs, const std::string& default_dir = kDefaultPluginDir);

// "sha256:" and the hex SHA-256 of the file at `path`.
absl::StatusOr<std::string> FileDigest(const std::string& path);

}  // namespace aia

#endif  // AIA_PLUGINS_LOADER_H_
