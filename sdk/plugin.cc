#include "sdk/plugin.h"

namespace aia {

absl::string_view PluginKindName(PluginKind kind) {
  return kind == PluginKind::kAlgorithm ? "algorithm" : "problem";
}

const PluginEntry* PluginCatalog::Find(PluginKind kind, const std::string& name) const {
  auto it = entries_.find({kind, name});
  return it == entries_.end() ? nullptr : &it->second;
}

void PluginCatalog::Add(PluginKind kind, const std::string& name, PluginEntry entry) {
  entries_[{kind, name}] = std::move(entry);
}

PluginCatalog& Plugins() {
  static auto* catalog = new PluginCatalog();
  return *catalog;
}

absl::Status ParamsError(PluginKind kind, absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(PluginKindName(kind), ".params.", field, ": ", message));
}

template <typename Spec>
absl::Status CheckParamsField(const Spec& spec, PluginKind kind) {
  const absl::string_view what = PluginKindName(kind);
  const int number = static_cast<int>(spec.typed_params_case());
  const PluginEntry* plugin = Plugins().Find(kind, spec.name());
  if (number == 0) return absl::OkStatus();
  const google::protobuf::FieldDescriptor* field = spec.GetDescriptor()->FindFieldByNumber(number);
  if (field->name() == "params") {
    if (plugin == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " '", spec.name(), "' is built in: its parameters are ", what, ".", spec.name(),
          ", not ", what, ".params (which is for plugins' own messages)"));
    }
    if (plugin->params == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(what, " '", spec.name(), "' (plugin ",
                                                     plugin->origin.library,
                                                     ") takes no parameters, but ", what,
                                                     ".params is set"));
    }
    return absl::OkStatus();
  }
  if (field->name() != spec.name()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ".name is '", spec.name(),
                                                   "' but its parameters are ", what, ".",
                                                   field->name()));
  }
  return absl::OkStatus();
}

template absl::Status CheckParamsField(const v1::AlgorithmSpec&, PluginKind);
template absl::Status CheckParamsField(const v1::ProblemSpec&, PluginKind);

}  // namespace aia
