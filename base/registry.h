// A registry of named factories, for plugins chosen by config.
//
// A plugin joins with one line at the end of its .cc (its library needs
// alwayslink = 1):
//
//   AIA_REGISTER(AlgorithmRegistry(), "sgd", NewSgd);
//
// and a caller finds one by name:
//
//   ASSIGN_OR_RETURN(AlgorithmFactory factory, AlgorithmRegistry().Find("sgd"));
//
// Thread safety: registration happens during static initialization; Find and
// Names may be called from any thread afterwards.
#ifndef AIA_BASE_REGISTRY_H_
#define AIA_BASE_REGISTRY_H_

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace aia {

template <typename Factory>
class Registry {
 public:
  using FactoryType = Factory;

  // `kind` names what is registered ("algorithm", "problem") in error messages.
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  // Adds `factory` under `name`. Returns AlreadyExists for a duplicate name.
  absl::Status Register(const std::string& name, Factory factory) {
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("empty ", kind_, " name"));
    if (!factories_.emplace(name, std::move(factory)).second) {
      return absl::AlreadyExistsError(absl::StrCat(kind_, " '", name, "' is registered twice"));
    }
    return absl::OkStatus();
  }

  // The factory registered as `name`; InvalidArgument naming the known ones if none.
  absl::StatusOr<Factory> Find(const std::string& name) const {
    auto it = factories_.find(name);
    if (it == factories_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ", kind_, " '", name, "'; known: ", absl::StrJoin(Names(), ", ")));
    }
    return it->second;
  }

  // Registered names, sorted.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : factories_) names.push_back(entry.first);
    return names;
  }

 private:
  std::string kind_;
  std::map<std::string, Factory> factories_;
};

namespace internal {
// Registers at static initialization; a duplicate name is a build mistake, so it
// aborts the program with the reason.
template <typename RegistryT, typename Factory>
struct Registration {
  Registration(RegistryT& registry, const std::string& name, Factory factory) {
    absl::Status status = registry.Register(name, std::move(factory));
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      std::abort();
    }
  }
};
}  // namespace internal

}  // namespace aia

// `registry` is an expression giving the registry (a function call returning a
// reference, so that it exists before any registration runs).
#define AIA_REGISTER(registry, name, factory)                                         \
  static ::aia::internal::Registration<std::decay_t<decltype(registry)>,              \
                                       std::decay_t<decltype(registry)>::FactoryType> \
  AIA_REGISTRY_CONCAT(aia_registration_, __LINE__)(registry, name, factory)
#define AIA_REGISTRY_CONCAT_INNER(a, b) a##b
#define AIA_REGISTRY_CONCAT(a, b) AIA_REGISTRY_CONCAT_INNER(a, b)

#endif  // AIA_BASE_REGISTRY_H_
