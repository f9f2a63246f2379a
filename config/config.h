// Run configs: reading them from text, overriding single fields from the
// command line, checking them before a run, and writing the resolved config
// back out.
//
// A run config is an aia.v1.RunConfig (proto/config.proto) in protobuf text
// format:
//
//   name: "sgd-demo"
//   algorithm { name: "sgd" sgd { stepsize: 0.01 } }
//   problem { name: "least_squares" file { path: "heart_scale" } }
//   stop { iteration: 1000 time_s: 60 }
//   save { iteration: 100 }
//
// The usual sequence (as in `aia run CONFIG --set stop.iteration=500`):
//
//   ASSIGN_OR_RETURN(v1::RunConfig config, LoadConfig(path));
//   for (const std::string& assignment : overrides) {
//     RETURN_IF_ERROR(ApplyOverride(config, assignment));
//   }
//   RETURN_IF_ERROR(ValidateConfig(config, worker_count));
//   ResolvedLimits limits = ResolveLimits(config.limits());
//   WriteFile(run_dir + "/config.textproto", ConfigToText(config));
//
// Every error is InvalidArgument (NotFound for an unreadable file) with a
// message meant for the user: it names the file and position, or the field, at
// fault.
//
// Thread safety: all functions are thread-compatible; ValidateConfig reads the
// plugin registries, which are fixed after static initialization.
#ifndef AIA_CONFIG_CONFIG_H_
#define AIA_CONFIG_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "proto/config.pb.h"

namespace aia {

// Parses `text` (protobuf text format) as a RunConfig. `source_name` (usually
// the file name) prefixes error positions. A malformed text, an unknown field
// or a bad enum value gives InvalidArgument as "SOURCE:LINE:COLUMN: MESSAGE"
// with 1-based line and column, e.g.
//   sgd.textproto:3:12: Expected ":", found "{".
// Parser warnings are ignored. The result is not validated (see
// ValidateConfig).
//
// Example:
//   absl::StatusOr<v1::RunConfig> config =
//       ParseConfig("name: \"demo\" stop { iteration: 10 }", "inline");
absl::StatusOr<v1::RunConfig> ParseConfig(absl::string_view text, absl::string_view source_name);

// Reads the file at `path` and parses it with ParseConfig (errors name `path`).
// NotFound naming the path when the file cannot be read.
absl::StatusOr<v1::RunConfig> LoadConfig(const std::string& path);

// Applies one command-line override `FIELD.PATH=VALUE` (the argument of
// `--set`) to `config`:
//   stop.iteration=500        algorithm.sgd.stepsize=0.1   mode=SYNCHRONOUS
//   problem.file.path=/x/y    name=demo                    save.answers=true
//
// The path is split at '.' and resolved by field name from RunConfig: every
// element but the last must be a singular message field, the last a singular
// scalar or enum field. The value (everything after the first '=') is parsed
// by the field's type:
//   int32, int64, uint32, uint64  decimal, range-checked
//   double, float                 as strtod ("1e-3", "inf", "nan" parse; see
//                                 ValidateConfig for what is accepted)
//   bool                          "true" or "false"
//   string, bytes                 taken as is (may be empty)
//   enum                          a value name, e.g. SYNCHRONOUS
// Walking into a member of a oneof selects that member (clearing the others),
// and setting a proto3 `optional` field marks it present, even when VALUE is
// the default.
//
// Returns InvalidArgument, prefixed "--set ASSIGNMENT: ", when '=' is missing,
// an element names no field (the message lists the fields there), a path ends
// at a message or crosses a scalar, a field is repeated or a map, or VALUE does
// not parse, e.g.
//   --set stop.iterations=5: no field 'iterations' in aia.v1.StopSpec
//   (fields: iteration, epoch, time_s, precision)
//   --set stop.iteration=abc: 'abc' is not an int64
// On error `config` is unchanged.
//
// Example:
//   RETURN_IF_ERROR(ApplyOverride(config, "algorithm.sgd.stepsize=0.1"));
absl::Status ApplyOverride(v1::RunConfig& config, absl::string_view assignment);

// The same for any message (the path starts at `message`'s fields).
absl::Status ApplyOverride(google::protobuf::Message& message, absl::string_view assignment);

// Checks `config` before a run. `worker_count` is the number of workers the
// run will use, or 0 (or negative) when not known yet, which skips the checks
// that depend on it. Returns OK, or one InvalidArgument listing every violation
// found, one per line, each naming its field:
//   - name contains '/' (it becomes part of the run directory's name);
//   - algorithm.name empty or not registered (the registry lists known names);
//     parameters of another plugin or bad parameter values (as reported by
//     NewAlgorithm, which builds one throwaway instance);
//   - problem.name empty or not registered; problem.file.path empty;
//   - no stop criterion: "stop: set at least one of iteration, epoch, time_s,
//     precision";
//   - a stop.* or save.* count that is set but <= 0: "stop.iteration must be
//     > 0, got 0"; stop.precision not a finite number > 0;
//   - a time or limit outside its range (docs/config.md), NaN and infinities
//     included: "limits.keepalive_s must be in [1, 3600], got 3e+06". Ranges:
//     stop.time_s, save.time_s (0, 1e8]; limits.connect_timeout_s (0, 3600],
//     setup_timeout_s (0, 86400], max_message_bytes [65536, 2147483647] (gRPC
//     takes an int), shutdown_timeout_s (0, 3600], answer_timeout_s
//     (0, 604800], keepalive_s [1, 3600], rejoin_interval_s [0.001, 3600];
//     stragglers.shape [0, 1e6], stragglers.scale_s [0, 3600];
//   - resilience < 0, or resilience >= worker_count when worker_count > 0:
//     "resilience 4 must be < the number of workers (4)";
//   - min_workers < 0, or min_workers > worker_count when worker_count > 0;
//   - an unknown mode.
//
// Example:
//   absl::Status status = ValidateConfig(config, /*worker_count=*/4);
//   if (!status.ok()) { std::cerr << status.message() << "\n"; return 2; }
absl::Status ValidateConfig(const v1::RunConfig& config, int worker_count);

// Limits with every default filled in. Defaults:
struct ResolvedLimits {
  // Time to reach a worker's address before the run fails.
  double connect_timeout_s = 10;
  // Time for every worker to build its problem and answer Ready.
  double setup_timeout_s = 120;
  // Largest gRPC message either side accepts: 256 MiB (a 1M-dimensional dense
  // query is 8 MB).
  int64_t max_message_bytes = int64_t{256} << 20;
  // Time to wait for workers to close their streams after Stop.
  double shutdown_timeout_s = 5;
  // A worker whose answer takes longer is lost; 0 means no limit.
  double answer_timeout_s = 0;
  // Keepalive ping interval and timeout: a frozen worker is found within about
  // twice this.
  double keepalive_s = 5;
  // With rejoin: how often to try to reconnect a lost worker.
  double rejoin_interval_s = 1;
};

// `limits` with each unset (or NaN) field replaced by its ResolvedLimits
// default and each set one clamped into its range (see ValidateConfig, which
// rejects values outside it), so that gRPC and the timers never get a value a
// run cannot work with.
//
// Example:
//   ResolvedLimits limits = ResolveLimits(config.limits());
//   builder.SetMaxReceiveMessageSize(static_cast<int>(
//       std::min<int64_t>(limits.max_message_bytes, INT32_MAX)));
ResolvedLimits ResolveLimits(const v1::Limits& limits);

// `config` in protobuf text format, as written to a run's config.textproto;
// ParseConfig reads it back to an equal message.
std::string ConfigToText(const v1::RunConfig& config);

}  // namespace aia

#endif  // AIA_CONFIG_CONFIG_H_
