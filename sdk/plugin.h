// A plugin library: algorithms and problems written outside aia's tree, built into
// a shared library against the SDK (`pkg-config aia-plugin`), and loaded by aia
// and aia_worker from their plugin directories (plugins/loader.h). One macro
// names the plugin and registers what it holds:
//
//   #include "sdk/plugin.h"
//   #include "my_params.pb.h"
//
//   AIA_PLUGIN("my_plugin", "1.0") {
//     plugin.AddAlgorithm<my::SgdParams>("my_sgd", NewMySgd);
//     plugin.AddProblem<my::DataParams>("my_data", NewMyData);
//   }
//
// NewMySgd(const my::SgdParams&, const AlgorithmContext&) builds an instance;
// a config gives it its parameters as a google.protobuf.Any,
//
//   algorithm { name: "my_sgd" params { [type.googleapis.com/my.SgdParams] { stepsize: 0.1 } } }
//
// (absent: the message's defaults); `--set algorithm.params.stepsize=0.2` reaches
// its fields. A factory returns InvalidArgument naming the field for bad values
// (ParamsError helps). AddAlgorithm(name, factory) without a message type
// registers a plugin without parameters.
//
// The macro also exports the API version the plugin was compiled against
// (kPluginApiVersion); a loader refuses a library built for another one.
//
// Thread safety: a plugin's registration runs once, when its library is loaded,
// before any run; the catalog is read-only afterwards.
#ifndef AIA_SDK_PLUGIN_H_
#define AIA_SDK_PLUGIN_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "algorithms/algorithm.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "problems/problem.h"

namespace aia {

// The plugin API's version. A change of any SDK header that plugins compile
// against (a virtual method, a struct's layout) increments it. 2: the steps
// return a Payload (algorithms/payload.h) instead of a std::string.
inline constexpr int kPluginApiVersion = 2;

// The kinds of things a plugin registers.
enum class PluginKind { kAlgorithm, kProblem };
absl::string_view PluginKindName(PluginKind kind);  // "algorithm", "problem"

// Where a registered algorithm or problem comes from.
struct PluginOrigin {
  // The library's path as loaded; empty for what aia's binaries hold built in.
  std::string library;
  // The plugin's name and version (AIA_PLUGIN's), empty for built-ins.
  std::string plugin;
  std::string version;
  // "sha256:" and 64 hex digits of the library file; empty for built-ins.
  std::string digest;
};

// What is known of one registered name beyond its factory.
struct PluginEntry {
  PluginOrigin origin;
  // The parameter message of a plugin's algorithm or problem (written as
  // google.protobuf.Any); null for built-ins (typed fields) and plugins
  // without parameters.
  const google::protobuf::Descriptor* params = nullptr;
};

// The origin and parameter type of every name plugins added. Built-in names
// are not listed (Find gives nullptr).
class PluginCatalog {
 public:
  const PluginEntry* Find(PluginKind kind, const std::string& name) const;
  void Add(PluginKind kind, const std::string& name, PluginEntry entry);

 private:
  std::map<std::pair<PluginKind, std::string>, PluginEntry> entries_;
};
PluginCatalog& Plugins();

// The parameters in `any` as a P: P's defaults when `any` is empty;
// InvalidArgument naming `field` when it holds another type or does not parse.
template <typename P>
absl::StatusOr<P> UnpackParams(const google::protobuf::Any& any, absl::string_view field) {
  P params;
  if (any.type_url().empty() && any.value().empty()) return params;
  if (!any.Is<P>()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": expected [type.googleapis.com/",
                                                   P::descriptor()->full_name(), "], got [",
                                                   any.type_url(), "]"));
  }
  if (!any.UnpackTo(&params)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": does not parse as ", P::descriptor()->full_name()));
  }
  return params;
}

// InvalidArgument "algorithm.params.stepsize: must be > 0, got -1": a plugin's
// message for a bad parameter, naming the field as a config writes it.
absl::Status ParamsError(PluginKind kind, absl::string_view field, absl::string_view message);

// The check of a spec's parameter field every algorithm and problem gets before
// its factory (NewAlgorithm, CheckProblemSpec): a built-in's typed field must be
// named after it; `params` (an Any) belongs to a plugin that declared a message.
// Spec is v1::AlgorithmSpec or v1::ProblemSpec.
template <typename Spec>
absl::Status CheckParamsField(const Spec& spec, PluginKind kind);

// What AIA_PLUGIN's body registers into; the loader adds it to the registries
// and the catalog once every name is known to be new.
class PluginRegistrar {
 public:
  template <typename P>
  using AlgorithmFactoryOf =
      std::function<absl::StatusOr<std::unique_ptr<Algorithm>>(const P&, const AlgorithmContext&)>;
  template <typename P>
  using ProblemFactoryOf =
      std::function<absl::StatusOr<std::unique_ptr<Problem>>(const P&, const ProblemContext&)>;

  template <typename P>
  void AddAlgorithm(std::string name, AlgorithmFactoryOf<P> factory) {
    AlgorithmFactory wrapped = [factory = std::move(factory)](const AlgorithmContext& context)
        -> absl::StatusOr<std::unique_ptr<Algorithm>> {
      absl::StatusOr<P> params = UnpackParams<P>(context.spec.params(), "algorithm.params");
      if (!params.ok()) return params.status();
      return factory(*params, context);
    };
    algorithms_.push_back({std::move(name), std::move(wrapped), P::descriptor()});
  }
  void AddAlgorithm(std::string name, AlgorithmFactory factory) {
    algorithms_.push_back({std::move(name), std::move(factory), nullptr});
  }

  template <typename P>
  void AddProblem(std::string name, ProblemFactoryOf<P> factory) {
    ProblemFactory wrapped = [factory = std::move(factory)](const ProblemContext& context)
        -> absl::StatusOr<std::unique_ptr<Problem>> {
      absl::StatusOr<P> params = UnpackParams<P>(context.spec.params(), "problem.params");
      if (!params.ok()) return params.status();
      return factory(*params, context);
    };
    problems_.push_back({std::move(name), std::move(wrapped), P::descriptor()});
  }
  void AddProblem(std::string name, ProblemFactory factory) {
    problems_.push_back({std::move(name), std::move(factory), nullptr});
  }

  template <typename Factory>
  struct Added {
    std::string name;
    Factory factory;
    const google::protobuf::Descriptor* params;
  };
  const std::vector<Added<AlgorithmFactory>>& algorithms() const { return algorithms_; }
  const std::vector<Added<ProblemFactory>>& problems() const { return problems_; }

 private:
  std::vector<Added<AlgorithmFactory>> algorithms_;
  std::vector<Added<ProblemFactory>> problems_;
};

}  // namespace aia

// The symbols a loader looks up (extern "C", so that their names are fixed).
#define AIA_PLUGIN_API_VERSION_SYMBOL "aia_plugin_api_version"
#define AIA_PLUGIN_NAME_SYMBOL "aia_plugin_name"
#define AIA_PLUGIN_VERSION_SYMBOL "aia_plugin_version"
#define AIA_PLUGIN_REGISTER_SYMBOL "aia_plugin_register"

// Names the plugin and opens the body of its registration function, in which
// `plugin` is the PluginRegistrar. Once per library.
#define AIA_PLUGIN(name, version)                                                          \
  static void AiaPluginBody(::aia::PluginRegistrar& plugin);                               \
  extern "C" __attribute__((visibility("default"))) int aia_plugin_api_version() {         \
    return ::aia::kPluginApiVersion;                                                       \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) const char* aia_plugin_name() {        \
    return name;                                                                           \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) const char* aia_plugin_version() {     \
    return version;                                                                        \
  }                                                                                        \
  extern "C" __attribute__((visibility("default"))) void aia_plugin_register(              \
      ::aia::PluginRegistrar* registrar) {                                                 \
    AiaPluginBody(*registrar);                                                             \
  }                                                                                        \
  static void AiaPluginBody(::aia::PluginRegistrar& plugin)

#endif  // AIA_SDK_PLUGIN_H_
