// Libraries a loader must refuse, one per BROKEN_* macro (BUILD.bazel).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "sdk/plugin.h"

#if defined(BROKEN_API_VERSION)
// Built for an API version this aia does not have.
extern "C" int aia_plugin_api_version() { return 999; }
extern "C" const char* aia_plugin_name() { return "future"; }
extern "C" const char* aia_plugin_version() { return "1"; }
extern "C" void aia_plugin_register(aia::PluginRegistrar*) {}
#elif defined(BROKEN_NO_ENTRY)
// A shared library that is not a plugin.
extern "C" int not_a_plugin() { return 1; }
#elif defined(BROKEN_ABORTS)
// Ends the process while it loads.
namespace {
struct AbortAtLoad {
  AbortAtLoad() {
    std::fprintf(stderr, "broken plugin: aborting at load\n");
    std::abort();
  }
} abort_at_load;
}  // namespace
AIA_PLUGIN("aborts", "1") {}
#elif defined(BROKEN_THROWS)
AIA_PLUGIN("throws", "1") { throw std::runtime_error("registration failed on purpose"); }
#elif defined(BROKEN_CLASH)
// Takes a name built into aia.
AIA_PLUGIN("clash", "1") {
  plugin.AddAlgorithm("sgd", [](const aia::AlgorithmContext&)
                                 -> absl::StatusOr<std::unique_ptr<aia::Algorithm>> {
    return absl::UnimplementedError("never built");
  });
}
#endif
