#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "algorithms/algorithm.h"
#include "base/status_macros.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "problems/problem.h"
#include "sdk/plugin.h"

namespace aia {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::EnumValueDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// Collects parser errors as "SOURCE:LINE:COLUMN: MESSAGE" (protobuf counts
// from 0; editors and compilers count from 1).
class PositionedErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit PositionedErrorCollector(absl::string_view source_name) : source_name_(source_name) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (line < 0) {  // Errors found after parsing carry no position.
      errors_.push_back(absl::StrCat(source_name_, ": ", message));
    } else {
      errors_.push_back(absl::StrCat(source_name_, ":", line + 1, ":", column + 1, ": ", message));
    }
  }

  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_name_;
  std::vector<std::string> errors_;
};

// The field names of `descriptor`, in declaration order.
std::string FieldNames(const Descriptor& descriptor) {
  std::vector<std::string> names;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    names.push_back(descriptor.field(i)->name());
  }
  return absl::StrJoin(names, ", ");
}

// A parsed override value, typed by the field's C++ type.
using Value = std::variant<int32_t, int64_t, uint32_t, uint64_t, double, float, bool, std::string,
                           const EnumValueDescriptor*>;

// True for text shaped like a decimal integer: whether a failed conversion was
// out of range rather than not a number.
bool LooksLikeInteger(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) text.remove_prefix(1);
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status BadValue(absl::string_view text, absl::string_view type) {
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is not ",
      type == "int32" || type == "int64" || type == "uint32" || type == "uint64" ? "an " : "a ",
      type));
}

absl::Status OutOfRange(absl::string_view text, absl::string_view type) {
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is out of range for ", type));
}

// Parses `text` as the C++ type `Int` (named `type` in errors), via int64 or
// uint64 so that a value of the wrong size is reported as out of range.
template <typename Int>
absl::StatusOr<Int> ParseInteger(absl::string_view text, absl::string_view type) {
  using Wide = std::conditional_t<std::is_signed<Int>::value, int64_t, uint64_t>;
  Wide wide;
  if (!absl::SimpleAtoi(text, &wide)) {
    if (LooksLikeInteger(text)) return OutOfRange(text, type);
    return BadValue(text, type);
  }
  if (wide < std::numeric_limits<Int>::min() || wide > std::numeric_limits<Int>::max()) {
    return OutOfRange(text, type);
  }
  return static_cast<Int>(wide);
}

absl::StatusOr<Value> ParseValue(const FieldDescriptor& field, absl::string_view text) {
  const absl::string_view type = field.cpp_type_name();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      ASSIGN_OR_RETURN(int32_t v, ParseInteger<int32_t>(text, type));
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      ASSIGN_OR_RETURN(int64_t v, ParseInteger<int64_t>(text, type));
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      ASSIGN_OR_RETURN(uint32_t v, ParseInteger<uint32_t>(text, type));
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      ASSIGN_OR_RETURN(uint64_t v, ParseInteger<uint64_t>(text, type));
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return BadValue(text, type);
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(text, &v)) return BadValue(text, type);
      return Value(v);
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true") return Value(true);
      if (text == "false") return Value(false);
      return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a bool (true or false)"));
    case FieldDescriptor::CPPTYPE_STRING:
      return Value(std::string(text));
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* value = field.enum_type()->FindValueByName(std::string(text));
      if (value == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < field.enum_type()->value_count(); ++i) {
          names.push_back(field.enum_type()->value(i)->name());
        }
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not a value of ", field.enum_type()->full_name(),
                         " (values: ", absl::StrJoin(names, ", "), ")"));
      }
      return Value(value);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return absl::InternalError(
      absl::StrCat("unexpected field type ", type, " of ", field.full_name()));
}

void SetValue(Message& message, const FieldDescriptor& field, const Value& value) {
  const Reflection& r = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return r.SetInt32(&message, &field, std::get<int32_t>(value));
    case FieldDescriptor::CPPTYPE_INT64:
      return r.SetInt64(&message, &field, std::get<int64_t>(value));
    case FieldDescriptor::CPPTYPE_UINT32:
      return r.SetUInt32(&message, &field, std::get<uint32_t>(value));
    case FieldDescriptor::CPPTYPE_UINT64:
      return r.SetUInt64(&message, &field, std::get<uint64_t>(value));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r.SetDouble(&message, &field, std::get<double>(value));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return r.SetFloat(&message, &field, std::get<float>(value));
    case FieldDescriptor::CPPTYPE_BOOL:
      return r.SetBool(&message, &field, std::get<bool>(value));
    case FieldDescriptor::CPPTYPE_STRING:
      return r.SetString(&message, &field, std::get<std::string>(value));
    case FieldDescriptor::CPPTYPE_ENUM:
      return r.SetEnum(&message, &field, std::get<const EnumValueDescriptor*>(value));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return;  // Rejected by ResolvePath.
  }
}

// The fields `path` names, starting at `root`; checks every constraint of
// ApplyOverride except the value's.
absl::StatusOr<std::vector<const FieldDescriptor*>> ResolvePath(const Descriptor& root,
                                                                absl::string_view path) {
  std::vector<const FieldDescriptor*> fields;
  const Descriptor* descriptor = &root;
  const std::vector<absl::string_view> elements = absl::StrSplit(path, '.');
  for (size_t i = 0; i < elements.size(); ++i) {
    const absl::string_view element = elements[i];
    const bool last = i + 1 == elements.size();
    if (element.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty field name in '", path, "' (fields of ",
                                                     descriptor->full_name(), ": ",
                                                     FieldNames(*descriptor), ")"));
    }
    const FieldDescriptor* field = descriptor->FindFieldByName(std::string(element));
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no field '", element, "' in ",
                                                     descriptor->full_name(),
                                                     " (fields: ", FieldNames(*descriptor), ")"));
    }
    if (field->is_map()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", element, "' in ", descriptor->full_name(),
                       " is a map field; --set sets only singular fields"));
    }
    if (field->is_repeated()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", element, "' in ", descriptor->full_name(),
                       " is a repeated field; --set sets only singular fields"));
    }
    const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (last && is_message) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", element, "' is a message (", field->message_type()->full_name(),
          "), not a scalar; set one of its fields: ", FieldNames(*field->message_type())));
    }
    if (!last && !is_message) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", element, "' in ", descriptor->full_name(), " is ", field->cpp_type_name(),
          ", not a message, so '", elements[i + 1], "' cannot follow it"));
    }
    fields.push_back(field);
    if (!last) descriptor = field->message_type();
  }
  return fields;
}

bool IsAny(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field.message_type()->full_name() == google::protobuf::Any::descriptor()->full_name();
}

// Where `path` enters a google.protobuf.Any (a plugin's params): the length of
// its part up to and including the Any field, or npos when it enters none.
size_t AnyPrefixLength(const Descriptor& root, absl::string_view path) {
  const Descriptor* descriptor = &root;
  size_t start = 0;
  while (descriptor != nullptr) {
    const size_t dot = path.find('.', start);
    if (dot == absl::string_view::npos) return absl::string_view::npos;
    const FieldDescriptor* field =
        descriptor->FindFieldByName(std::string(path.substr(start, dot - start)));
    if (field == nullptr || field->is_repeated() ||
        field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::string_view::npos;
    }
    if (IsAny(*field)) return dot;
    descriptor = field->message_type();
    start = dot + 1;
  }
  return absl::string_view::npos;
}

// The message type the Any `field` of `parent` holds: the one its type_url
// names, or else the one the plugin `parent.name` registered.
absl::StatusOr<const Descriptor*> PackedType(const Message& parent, const FieldDescriptor& field,
                                             absl::string_view path) {
  const Reflection& r = *parent.GetReflection();
  const auto& any = static_cast<const google::protobuf::Any&>(r.GetMessage(parent, &field));
  if (!any.type_url().empty()) {
    const std::string type = any.type_url().substr(any.type_url().rfind('/') + 1);
    const Descriptor* found =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
    if (found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " holds [", any.type_url(), "], a type no loaded plugin defines"));
    }
    return found;
  }
  const FieldDescriptor* name = parent.GetDescriptor()->FindFieldByName("name");
  const bool algorithm = parent.GetDescriptor() == v1::AlgorithmSpec::descriptor();
  if (name == nullptr || (!algorithm && parent.GetDescriptor() != v1::ProblemSpec::descriptor())) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is empty: its type is unknown"));
  }
  const std::string plugin = r.GetString(parent, name);
  const PluginEntry* entry =
      Plugins().Find(algorithm ? PluginKind::kAlgorithm : PluginKind::kProblem, plugin);
  if (entry == nullptr || entry->params == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is for the parameters of loaded plugins, and '", plugin,
        "' is not one that declared a parameter message"));
  }
  return entry->params;
}

absl::Status ApplyOverrideImpl(Message& message, absl::string_view assignment);

// ApplyOverride for a path that enters an Any at `prefix` characters: the rest
// is set in the packed message, which is packed back only once that succeeded.
absl::Status ApplyOverrideThroughAny(Message& message, absl::string_view path, size_t prefix,
                                     absl::string_view text) {
  ASSIGN_OR_RETURN(std::vector<const FieldDescriptor*> fields,
                   ResolvePath(*message.GetDescriptor(), absl::StrCat(path.substr(0, prefix), ".type_url")));
  fields.pop_back();  // type_url: there only to make the prefix a valid path
  const Message* parent = &message;
  for (size_t i = 0; i + 1 < fields.size(); ++i) {
    parent = &parent->GetReflection()->GetMessage(*parent, fields[i]);
  }
  ASSIGN_OR_RETURN(const Descriptor* type,
                   PackedType(*parent, *fields.back(), path.substr(0, prefix)));
  std::unique_ptr<Message> packed(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  const auto& any = static_cast<const google::protobuf::Any&>(
      parent->GetReflection()->GetMessage(*parent, fields.back()));
  if (!any.value().empty() && !packed->ParseFromString(any.value())) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.substr(0, prefix), " does not parse as ", type->full_name()));
  }
  RETURN_IF_ERROR(ApplyOverrideImpl(*packed, absl::StrCat(path.substr(prefix + 1), "=", text)));
  Message* target = &message;
  for (const FieldDescriptor* field : fields) {
    target = target->GetReflection()->MutableMessage(target, field);
  }
  static_cast<google::protobuf::Any*>(target)->PackFrom(*packed);
  return absl::OkStatus();
}

absl::Status ApplyOverrideImpl(Message& message, absl::string_view assignment) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "expected FIELD.PATH=VALUE, e.g. stop.iteration=500 (no '=')");
  }
  const absl::string_view path = absl::StripAsciiWhitespace(assignment.substr(0, equals));
  const absl::string_view text = assignment.substr(equals + 1);
  if (const size_t prefix = AnyPrefixLength(*message.GetDescriptor(), path);
      prefix != absl::string_view::npos) {
    return ApplyOverrideThroughAny(message, path, prefix, text);
  }
  ASSIGN_OR_RETURN(std::vector<const FieldDescriptor*> fields,
                   ResolvePath(*message.GetDescriptor(), path));
  ASSIGN_OR_RETURN(Value value, ParseValue(*fields.back(), text));
  // Only now change the message, so that a failed override leaves it as it was.
  Message* target = &message;
  for (size_t i = 0; i + 1 < fields.size(); ++i) {
    target = target->GetReflection()->MutableMessage(target, fields[i]);
  }
  SetValue(*target, *fields.back(), value);
  return absl::OkStatus();
}

// The range of a numeric field: [min, max], or (min, max] when min_open.
struct Range {
  double min, max;
  bool min_open;
  bool Contains(double v) const {
    return std::isfinite(v) && (min_open ? v > min : v >= min) && v <= max;
  }
  double Clamp(double v) const {
    if (v > max) return max;
    if (min_open ? v <= min : v < min) return min_open ? std::nextafter(min, max) : min;
    return v;
  }
  std::string Text() const {
    return absl::StrCat(min_open ? "(" : "[", absl::StrFormat("%.15g", min), ", ",
                        absl::StrFormat("%.15g", max), "]");
  }
};

// The documented ranges (docs/config.md). Seconds for *_s.
constexpr Range kRunTimeRange{0, 1e8, true};  // stop.time_s, save.time_s: about 3 years
constexpr Range kConnectTimeoutRange{0, 3600, true};
constexpr Range kSetupTimeoutRange{0, 86400, true};
// gRPC takes message sizes as int; below 64 KiB not even a Setup fits.
constexpr Range kMaxMessageBytesRange{65536, 2147483647, false};
constexpr Range kShutdownTimeoutRange{0, 3600, true};
constexpr Range kAnswerTimeoutRange{0, 604800, true};  // a week
// Heartbeats go every keepalive_s / 4; a worker silent for an hour is not alive.
constexpr Range kKeepaliveRange{1, 3600, false};
constexpr Range kRejoinIntervalRange{0.001, 3600, false};
constexpr Range kStragglerShapeRange{0, 1e6, false};
constexpr Range kStragglerScaleRange{0, 3600, false};

// Collects ValidateConfig's violations.
class Violations {
 public:
  void Add(std::string violation) { violations_.push_back(std::move(violation)); }

  // `field` (when set) must be > 0.
  void Positive(absl::string_view field, bool has, int64_t value) {
    if (has && value <= 0) {
      Add(absl::StrCat(field, " must be > 0, got ", value));
    }
  }
  void Positive(absl::string_view field, bool has, double value) {
    if (!has) return;
    if (!std::isfinite(value)) {
      Add(absl::StrCat(field, " must be a finite number > 0, got ", value));
    } else if (value <= 0) {
      Add(absl::StrCat(field, " must be > 0, got ", value));
    }
  }

  // `field` (when set) must lie in `range`.
  void InRange(absl::string_view field, bool has, double value, const Range& range) {
    if (has && !range.Contains(value)) {
      Add(absl::StrCat(field, " must be in ", range.Text(), ", got ", value));
    }
  }

  absl::Status ToStatus() const {
    if (violations_.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrJoin(violations_, "\n"));
  }

 private:
  std::vector<std::string> violations_;
};

void ValidateAlgorithm(const v1::RunConfig& config, int worker_count, Violations& violations) {
  const v1::AlgorithmSpec& spec = config.algorithm();
  if (spec.name().empty()) {
    violations.Add(absl::StrCat("algorithm.name is empty; known: ",
                                absl::StrJoin(AlgorithmRegistry().Names(), ", ")));
    return;
  }
  absl::Status found = AlgorithmRegistry().Find(spec.name()).status();
  if (!found.ok()) {
    violations.Add(absl::StrCat("algorithm.name: ", found.message()));
    return;
  }
  // Building one instance is how a plugin checks its parameters.
  AlgorithmContext context{spec, config.seed(), /*worker_index=*/-1,
                           worker_count > 0 ? worker_count : 1};
  absl::StatusOr<std::unique_ptr<Algorithm>> built = NewAlgorithm(context);
  if (!built.ok()) {
    const absl::string_view message = built.status().message();
    violations.Add(absl::StartsWith(message, "algorithm") ? std::string(message)
                                                          : absl::StrCat("algorithm: ", message));
    return;
  }
  const Algorithm& algorithm = **built;
  if (config.mode() == v1::RunConfig::SYNCHRONOUS && !algorithm.supports_synchronous()) {
    violations.Add(absl::StrCat("mode SYNCHRONOUS: algorithm '", spec.name(),
                                "' has no synchronous central step"));
  }
  if (config.mode() != v1::RunConfig::SYNCHRONOUS && !algorithm.supports_asynchronous()) {
    violations.Add(absl::StrCat("mode ASYNCHRONOUS: algorithm '", spec.name(),
                                "' has no asynchronous central step; set mode: SYNCHRONOUS"));
  }
  if (config.rejoin() && !algorithm.supports_rejoin()) {
    violations.Add(absl::StrCat("rejoin: algorithm '", spec.name(),
                                "' cannot take back a restarted worker (see docs/plugins.md)"));
  }
}

void ValidateProblem(const v1::ProblemSpec& spec, Violations& violations) {
  if (spec.name().empty()) {
    violations.Add(absl::StrCat("problem.name is empty; known: ",
                                absl::StrJoin(ProblemRegistry().Names(), ", ")));
  } else {
    absl::Status found = ProblemRegistry().Find(spec.name()).status();
    if (!found.ok()) {
      violations.Add(absl::StrCat("problem.name: ", found.message()));
    }
  }
  if (spec.has_file() && spec.file().path().empty()) {
    violations.Add("problem.file.path is empty");
  }
}

}  // namespace

absl::StatusOr<v1::RunConfig> ParseConfig(absl::string_view text, absl::string_view source_name) {
  PositionedErrorCollector errors(source_name);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  v1::RunConfig config;
  // ParseFromString takes a std::string in protobuf 3.21.
  const bool parsed = parser.ParseFromString(std::string(text), &config);
  if (!parsed || !errors.errors().empty()) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": not a valid aia.v1.RunConfig"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.errors(), "\n"));
  }
  return config;
}

absl::StatusOr<v1::RunConfig> LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::in | std::ios::binary);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  }
  return ParseConfig(text.str(), path);
}

absl::Status ApplyOverride(google::protobuf::Message& message, absl::string_view assignment) {
  absl::Status status = ApplyOverrideImpl(message, assignment);
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("--set ", assignment, ": ", status.message()));
}

absl::Status ApplyOverride(v1::RunConfig& config, absl::string_view assignment) {
  return ApplyOverride(static_cast<google::protobuf::Message&>(config), assignment);
}

absl::Status ValidateConfig(const v1::RunConfig& config, int worker_count) {
  Violations violations;

  if (absl::StrContains(config.name(), '/')) {
    violations.Add(absl::StrCat("name '", config.name(),
                                "' must not contain '/' (it names the run "
                                "directory)"));
  }

  ValidateAlgorithm(config, worker_count, violations);
  ValidateProblem(config.problem(), violations);

  const v1::StopSpec& stop = config.stop();
  if (!stop.has_iteration() && !stop.has_epoch() && !stop.has_time_s() && !stop.has_precision()) {
    violations.Add("stop: set at least one of iteration, epoch, time_s, precision");
  }
  violations.Positive("stop.iteration", stop.has_iteration(), stop.iteration());
  violations.Positive("stop.epoch", stop.has_epoch(), stop.epoch());
  violations.InRange("stop.time_s", stop.has_time_s(), stop.time_s(), kRunTimeRange);
  violations.Positive("stop.precision", stop.has_precision(), stop.precision());

  const v1::SaveSpec& save = config.save();
  violations.Positive("save.iteration", save.has_iteration(), save.iteration());
  violations.Positive("save.epoch", save.has_epoch(), save.epoch());
  violations.InRange("save.time_s", save.has_time_s(), save.time_s(), kRunTimeRange);

  switch (config.mode()) {
    case v1::RunConfig::MODE_UNSPECIFIED:
    case v1::RunConfig::ASYNCHRONOUS:
      break;
    case v1::RunConfig::SYNCHRONOUS:
      break;
    default:
      violations.Add(absl::StrCat("mode ", static_cast<int>(config.mode()),
                                  " is unknown (use ASYNCHRONOUS or SYNCHRONOUS)"));
  }

  if (config.resilience() < 0) {
    violations.Add(absl::StrCat("resilience must be >= 0, got ", config.resilience()));
  } else if (worker_count > 0 && config.resilience() >= worker_count) {
    violations.Add(absl::StrCat("resilience ", config.resilience(),
                                " must be < the number of workers (", worker_count, ")"));
  }
  if (config.min_workers() < 0) {
    violations.Add(absl::StrCat("min_workers must be >= 0, got ", config.min_workers()));
  } else if (worker_count > 0 && config.min_workers() > worker_count) {
    violations.Add(absl::StrCat("min_workers ", config.min_workers(),
                                " must be <= the number of workers (", worker_count, ")"));
  }

  const v1::Limits& limits = config.limits();
  violations.InRange("limits.connect_timeout_s", limits.has_connect_timeout_s(),
                     limits.connect_timeout_s(), kConnectTimeoutRange);
  violations.InRange("limits.setup_timeout_s", limits.has_setup_timeout_s(),
                     limits.setup_timeout_s(), kSetupTimeoutRange);
  if (limits.has_max_message_bytes() &&
      !kMaxMessageBytesRange.Contains(static_cast<double>(limits.max_message_bytes()))) {
    violations.Add(absl::StrCat("limits.max_message_bytes must be in [65536, 2147483647], got ",
                                limits.max_message_bytes()));
  }
  violations.InRange("limits.shutdown_timeout_s", limits.has_shutdown_timeout_s(),
                     limits.shutdown_timeout_s(), kShutdownTimeoutRange);
  violations.InRange("limits.answer_timeout_s", limits.has_answer_timeout_s(),
                     limits.answer_timeout_s(), kAnswerTimeoutRange);
  violations.InRange("limits.keepalive_s", limits.has_keepalive_s(), limits.keepalive_s(),
                     kKeepaliveRange);
  violations.InRange("limits.rejoin_interval_s", limits.has_rejoin_interval_s(),
                     limits.rejoin_interval_s(), kRejoinIntervalRange);
  const v1::Stragglers& stragglers = config.stragglers();
  violations.InRange("stragglers.shape", true, stragglers.shape(), kStragglerShapeRange);
  violations.InRange("stragglers.scale_s", true, stragglers.scale_s(), kStragglerScaleRange);
  switch (config.stop().precision_norm()) {
    case v1::StopSpec::NORM_UNSPECIFIED:
    case v1::StopSpec::L2:
    case v1::StopSpec::L1:
    case v1::StopSpec::LINF:
      break;
    default:
      violations.Add(absl::StrCat("stop.precision_norm ",
                                  static_cast<int>(config.stop().precision_norm()),
                                  " is unknown (use L2, L1 or LINF)"));
  }

  return violations.ToStatus();
}

ResolvedLimits ResolveLimits(const v1::Limits& limits) {
  ResolvedLimits resolved;
  // A set value is clamped into its range (NaN keeps the default), so nothing
  // downstream (gRPC's int sizes, timers) sees a value a run cannot work with,
  // whether or not ValidateConfig ran.
  const auto take = [](bool has, double value, const Range& range, double& out) {
    if (has && !std::isnan(value)) out = range.Clamp(value);
  };
  take(limits.has_connect_timeout_s(), limits.connect_timeout_s(), kConnectTimeoutRange,
       resolved.connect_timeout_s);
  take(limits.has_setup_timeout_s(), limits.setup_timeout_s(), kSetupTimeoutRange,
       resolved.setup_timeout_s);
  if (limits.has_max_message_bytes()) {
    resolved.max_message_bytes =
        std::clamp<int64_t>(limits.max_message_bytes(), 65536, int64_t{2147483647});
  }
  take(limits.has_shutdown_timeout_s(), limits.shutdown_timeout_s(), kShutdownTimeoutRange,
       resolved.shutdown_timeout_s);
  take(limits.has_answer_timeout_s(), limits.answer_timeout_s(), kAnswerTimeoutRange,
       resolved.answer_timeout_s);
  take(limits.has_keepalive_s(), limits.keepalive_s(), kKeepaliveRange, resolved.keepalive_s);
  take(limits.has_rejoin_interval_s(), limits.rejoin_interval_s(), kRejoinIntervalRange,
       resolved.rejoin_interval_s);
  return resolved;
}

std::string ConfigToText(const v1::RunConfig& config) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetExpandAny(true);  // a plugin's params as the config wrote them
  std::string text;
  printer.PrintToString(config, &text);
  return text;
}

}  // namespace aia
