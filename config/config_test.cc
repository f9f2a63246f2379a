#include "config/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "algorithms/algorithm.h"
#include "gmock/gmock.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "problems/problem.h"

namespace aia {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// No real plugins are linked into this test: one fake algorithm and one fake
// problem make the registries non-empty.
class FakeAlgorithm : public Algorithm {
 public:
  std::string query_type() const override { return std::string(kDenseVectorType); }
  std::string answer_type() const override { return std::string(kDenseVectorType); }
  absl::StatusOr<Payload> Initialize(const Problem&) override { return std::string(); }
  absl::StatusOr<Payload> Update(absl::string_view, const AnswerInfo&,
                                     const Problem&) override {
    return std::string();
  }
  absl::StatusOr<Payload> Answer(absl::string_view, Problem&) override { return std::string(); }
  // Seed 8 stands for a plugin with a synchronous step that cannot take a
  // rejoined worker back.
  explicit FakeAlgorithm(uint64_t seed) : seed_(seed) {}
  bool supports_synchronous() const override { return seed_ == 8; }
  bool supports_rejoin() const override { return seed_ != 8; }

 private:
  uint64_t seed_;
};

// Rejects seed 13, to stand for a plugin that checks its parameters.
absl::StatusOr<std::unique_ptr<Algorithm>> NewFakeAlgorithm(const AlgorithmContext& context) {
  if (context.seed == 13) {
    return absl::InvalidArgumentError("test_algo: seed 13 is not allowed");
  }
  return std::unique_ptr<Algorithm>(new FakeAlgorithm(context.seed));
}

absl::StatusOr<std::unique_ptr<Problem>> NewFakeProblem(const ProblemContext&) {
  return absl::UnimplementedError("never built by config checks");
}

AIA_REGISTER(AlgorithmRegistry(), "test_algo", NewFakeAlgorithm);
AIA_REGISTER(ProblemRegistry(), "test_problem", NewFakeProblem);

constexpr char kValidConfig[] = R"pb(
  name: "demo"
  algorithm { name: "test_algo" }
  problem {
    name: "test_problem"
    file { path: "data/heart_scale" }
  }
  stop { iteration: 100 time_s: 30 }
  save { epoch: 2 answers: true }
  resilience: 1
  seed: 7
)pb";

v1::RunConfig ValidConfig() {
  absl::StatusOr<v1::RunConfig> config = ParseConfig(kValidConfig, "valid");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

// ---------------------------------------------------------------- ParseConfig

TEST(ParseConfig, ParsesText) {
  v1::RunConfig config = ValidConfig();
  EXPECT_EQ(config.name(), "demo");
  EXPECT_EQ(config.algorithm().name(), "test_algo");
  EXPECT_EQ(config.problem().file().path(), "data/heart_scale");
  EXPECT_TRUE(config.stop().has_iteration());
  EXPECT_EQ(config.stop().iteration(), 100);
  EXPECT_DOUBLE_EQ(config.stop().time_s(), 30);
  EXPECT_FALSE(config.stop().has_epoch());
  EXPECT_EQ(config.save().epoch(), 2);
  EXPECT_TRUE(config.save().answers());
  EXPECT_EQ(config.resilience(), 1);
  EXPECT_EQ(config.seed(), 7u);
}

TEST(ParseConfig, MalformedTextNamesSourceLineAndColumn) {
  // Line 3 is "  iteration {": the '{' is the 13th character, where a ':' must
  // follow the name of a scalar field.
  const char text[] = "name: \"demo\"\nstop {\n  iteration {\n}\n";
  absl::StatusOr<v1::RunConfig> config = ParseConfig(text, "sgd.textproto");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr("sgd.textproto:3:13: Expected \":\", found \"{\""));
}

TEST(ParseConfig, BadValuePositionIsOneBased) {
  // The value token "abc" follows the 18 characters of "stop { iteration: ",
  // so it starts at column 19.
  const char text[] = "stop { iteration: abc }";
  absl::StatusOr<v1::RunConfig> config = ParseConfig(text, "x.textproto");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("x.textproto:1:19: "));
  EXPECT_THAT(config.status().message(), HasSubstr("abc"));
}

TEST(ParseConfig, UnknownFieldIsAnError) {
  absl::StatusOr<v1::RunConfig> config =
      ParseConfig("name: \"x\"\nstop { iterations: 5 }\n", "x.textproto");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("x.textproto:2:"));
  EXPECT_THAT(config.status().message(),
              HasSubstr("\"aia.v1.StopSpec\" has no field named \"iterations\""));
}

TEST(ParseConfig, UnknownEnumValueIsAnError) {
  absl::StatusOr<v1::RunConfig> config = ParseConfig("mode: FAST", "m");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("m:1:"));
  EXPECT_THAT(config.status().message(), HasSubstr("FAST"));
}

TEST(LoadConfig, ReadsFileAndNamesItInErrors) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/good.textproto";
  const std::string bad = dir + "/bad.textproto";
  std::ofstream(good) << kValidConfig;
  std::ofstream(bad) << "name: \"x\"\nstop {\n";

  absl::StatusOr<v1::RunConfig> config = LoadConfig(good);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "demo");

  config = LoadConfig(bad);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(bad + ":3:"));
}

TEST(LoadConfig, MissingFileIsNotFoundNamingThePath) {
  const std::string path = ::testing::TempDir() + "/no/such/config.textproto";
  absl::StatusOr<v1::RunConfig> config = LoadConfig(path);
  ASSERT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr(path));
}

// -------------------------------------------------------------- ApplyOverride

TEST(ApplyOverride, SetsNestedScalarAndMarksOptionalPresent) {
  v1::RunConfig config;
  ASSERT_TRUE(ApplyOverride(config, "stop.iteration=500").ok());
  EXPECT_TRUE(config.stop().has_iteration());
  EXPECT_EQ(config.stop().iteration(), 500);
  EXPECT_FALSE(config.stop().has_epoch());

  // Presence even for the default value.
  ASSERT_TRUE(ApplyOverride(config, "stop.epoch=0").ok());
  EXPECT_TRUE(config.stop().has_epoch());
  EXPECT_THAT(ConfigToText(config), HasSubstr("epoch: 0"));

  ASSERT_TRUE(ApplyOverride(config, "stop.time_s=1.5e1").ok());
  EXPECT_TRUE(config.stop().has_time_s());
  EXPECT_DOUBLE_EQ(config.stop().time_s(), 15);

  ASSERT_TRUE(ApplyOverride(config, "limits.max_message_bytes=1048576").ok());
  EXPECT_EQ(config.limits().max_message_bytes(), 1048576);
  ASSERT_TRUE(ApplyOverride(config, "seed=18446744073709551615").ok());
  EXPECT_EQ(config.seed(), std::numeric_limits<uint64_t>::max());
  ASSERT_TRUE(ApplyOverride(config, "resilience=-2").ok());
  EXPECT_EQ(config.resilience(), -2);
}

TEST(ApplyOverride, SetsEnumByName) {
  v1::RunConfig config;
  ASSERT_TRUE(ApplyOverride(config, "mode=SYNCHRONOUS").ok());
  EXPECT_EQ(config.mode(), v1::RunConfig::SYNCHRONOUS);
  ASSERT_TRUE(ApplyOverride(config, "problem.sharding=STRIDED").ok());
  EXPECT_EQ(config.problem().sharding(), v1::ProblemSpec::STRIDED);
}

TEST(ApplyOverride, SetsBool) {
  v1::RunConfig config;
  ASSERT_TRUE(ApplyOverride(config, "save.answers=true").ok());
  EXPECT_TRUE(config.save().answers());
  ASSERT_TRUE(ApplyOverride(config, "save.answers=false").ok());
  EXPECT_FALSE(config.save().answers());
}

TEST(ApplyOverride, SetsStringAsIs) {
  v1::RunConfig config;
  ASSERT_TRUE(ApplyOverride(config, "name=demo").ok());
  EXPECT_EQ(config.name(), "demo");
  // Everything after the first '=' is the value.
  ASSERT_TRUE(ApplyOverride(config, "name=a=b c").ok());
  EXPECT_EQ(config.name(), "a=b c");
  ASSERT_TRUE(ApplyOverride(config, "name=").ok());
  EXPECT_EQ(config.name(), "");
}

TEST(ApplyOverride, SelectsOneofMember) {
  v1::RunConfig config;
  config.mutable_algorithm()->mutable_echo()->set_dimension(3);
  ASSERT_TRUE(ApplyOverride(config, "algorithm.sgd.stepsize=0.1").ok());
  EXPECT_EQ(config.algorithm().typed_params_case(), v1::AlgorithmSpec::kSgd);
  EXPECT_TRUE(config.algorithm().sgd().has_stepsize());
  EXPECT_DOUBLE_EQ(config.algorithm().sgd().stepsize(), 0.1);

  config.mutable_problem()->mutable_synthetic()->set_rows(10);
  ASSERT_TRUE(ApplyOverride(config, "problem.file.path=/x/y").ok());
  EXPECT_EQ(config.problem().source_case(), v1::ProblemSpec::kFile);
  EXPECT_EQ(config.problem().file().path(), "/x/y");
}

TEST(ApplyOverride, UnknownFieldListsTheMessagesFields) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "stop.iterations=5");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "--set stop.iterations=5: no field 'iterations' in "
            "aia.v1.StopSpec (fields: iteration, epoch, time_s, precision, "
            "precision_norm)");

  status = ApplyOverride(config, "stopp.iteration=5");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no field 'stopp' in aia.v1.RunConfig (fields: name, "
                                          "algorithm, problem, stop, save, mode, resilience, "
                                          "rejoin, limits, seed, stragglers, min_workers)"));

  status = ApplyOverride(config, "stop..iteration=5");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("empty field name"));
}

TEST(ApplyOverride, MessageFieldIsNotAScalar) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "stop=5");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--set stop=5: 'stop' is a message (aia.v1.StopSpec)"));
  EXPECT_THAT(status.message(), HasSubstr("iteration, epoch, time_s, precision"));
  EXPECT_FALSE(config.has_stop());
}

TEST(ApplyOverride, ScalarCannotBeWalkedInto) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "name.first=x");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'name' in aia.v1.RunConfig is "
                                          "string, not a message"));
}

TEST(ApplyOverride, RepeatedAndMapFieldsAreRejected) {
  google::protobuf::FieldMask mask;
  absl::Status status = ApplyOverride(mask, "paths=a.b");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'paths' in google.protobuf.FieldMask is a repeated "
                                          "field"));
  EXPECT_EQ(mask.paths_size(), 0);

  google::protobuf::Struct map_holder;
  status = ApplyOverride(map_holder, "fields=x");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'fields' in google.protobuf.Struct is a map field"));
}

TEST(ApplyOverride, BadNumbersAreRejected) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "stop.iteration=abc");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "--set stop.iteration=abc: 'abc' is not an int64");

  status = ApplyOverride(config, "stop.iteration=1.5");
  EXPECT_THAT(status.message(), HasSubstr("'1.5' is not an int64"));

  status = ApplyOverride(config, "resilience=3000000000");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'3000000000' is out of range for int32"));

  status = ApplyOverride(config, "stop.iteration=99999999999999999999");
  EXPECT_THAT(status.message(), HasSubstr("is out of range for int64"));

  status = ApplyOverride(config, "seed=-1");
  EXPECT_THAT(status.message(), HasSubstr("'-1' is out of range for uint64"));

  status = ApplyOverride(config, "stop.time_s=soon");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'soon' is not a double"));

  EXPECT_FALSE(config.has_stop());
  EXPECT_EQ(config.resilience(), 0);
  EXPECT_EQ(config.seed(), 0u);
}

TEST(ApplyOverride, BadBoolAndEnumAreRejected) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "save.answers=yes");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'yes' is not a bool"));

  status = ApplyOverride(config, "mode=FAST");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'FAST' is not a value of aia.v1.RunConfig.Mode "
                                          "(values: MODE_UNSPECIFIED, ASYNCHRONOUS, "
                                          "SYNCHRONOUS)"));
}

TEST(ApplyOverride, MissingEqualsIsRejected) {
  v1::RunConfig config;
  absl::Status status = ApplyOverride(config, "stop.iteration");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--set stop.iteration: "));
  EXPECT_THAT(status.message(), HasSubstr("FIELD.PATH=VALUE"));
  EXPECT_FALSE(config.has_stop());
}

TEST(ApplyOverride, FailedOverrideLeavesConfigUnchanged) {
  v1::RunConfig config;
  config.mutable_algorithm()->mutable_echo()->set_dimension(3);
  absl::Status status = ApplyOverride(config, "algorithm.sgd.stepsize=fast");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.algorithm().typed_params_case(), v1::AlgorithmSpec::kEcho);
  EXPECT_EQ(config.algorithm().echo().dimension(), 3);
}

// ------------------------------------------------------------- ValidateConfig

TEST(ValidateConfig, AcceptsValidConfig) {
  absl::Status status = ValidateConfig(ValidConfig(), /*worker_count=*/4);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(ValidateConfig(ValidConfig(), /*worker_count=*/0).ok());
}

TEST(ValidateConfig, RequiresAStopCriterion) {
  v1::RunConfig config = ValidConfig();
  config.clear_stop();
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "stop: set at least one of iteration, epoch, time_s, precision");

  // Any one criterion is enough.
  config.mutable_stop()->set_precision(1e-6);
  EXPECT_TRUE(ValidateConfig(config, 4).ok());
}

TEST(ValidateConfig, RejectsNonPositiveStopAndSaveValues) {
  v1::RunConfig config = ValidConfig();
  config.mutable_stop()->set_iteration(0);
  config.mutable_stop()->set_time_s(-1);
  config.mutable_stop()->set_precision(std::numeric_limits<double>::infinity());
  config.mutable_save()->set_epoch(0);
  config.mutable_save()->set_iteration(-5);
  config.mutable_save()->set_time_s(std::nan(""));
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("stop.iteration must be > 0, got 0"));
  EXPECT_THAT(status.message(), HasSubstr("stop.time_s must be in (0, 100000000], got -1"));
  EXPECT_THAT(status.message(), HasSubstr("stop.precision must be a finite number > 0, got inf"));
  EXPECT_THAT(status.message(), HasSubstr("save.epoch must be > 0, got 0"));
  EXPECT_THAT(status.message(), HasSubstr("save.iteration must be > 0, got -5"));
  EXPECT_THAT(status.message(), HasSubstr("save.time_s must be in (0, 100000000], got nan"));
}

TEST(ValidateConfig, RejectsNonPositiveLimits) {
  v1::RunConfig config = ValidConfig();
  config.mutable_limits()->set_connect_timeout_s(0);
  config.mutable_limits()->set_max_message_bytes(-1);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("limits.connect_timeout_s must be in (0, 3600], got 0"));
  EXPECT_THAT(status.message(),
              HasSubstr("limits.max_message_bytes must be in [65536, 2147483647], got -1"));
}

TEST(ValidateConfig, ResilienceMustBeBelowWorkerCount) {
  v1::RunConfig config = ValidConfig();
  config.set_resilience(4);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "resilience 4 must be < the number of workers (4)");
  // Unknown worker count: not checked.
  EXPECT_TRUE(ValidateConfig(config, 0).ok());
  EXPECT_TRUE(ValidateConfig(config, 5).ok());

  config.set_resilience(-1);
  status = ValidateConfig(config, 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("resilience must be >= 0, got -1"));
}

TEST(ValidateConfig, MinWorkersMustFitTheSlots) {
  v1::RunConfig config = ValidConfig();
  config.set_min_workers(5);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "min_workers 5 must be <= the number of workers (4)");
  EXPECT_TRUE(ValidateConfig(config, 5).ok());
  config.set_min_workers(-1);
  EXPECT_EQ(ValidateConfig(config, 4).message(), "min_workers must be >= 0, got -1");
}

TEST(ValidateConfig, UnknownAlgorithmListsKnownNames) {
  v1::RunConfig config = ValidConfig();
  config.mutable_algorithm()->set_name("nope");
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("algorithm.name: unknown algorithm 'nope'; known: "
                                          "test_algo"));

  config.mutable_algorithm()->clear_name();
  status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("algorithm.name is empty; known: test_algo"));
}

TEST(ValidateConfig, AlgorithmParametersMustBeThePlugins) {
  v1::RunConfig config = ValidConfig();
  config.mutable_algorithm()->mutable_sgd();
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("algorithm.name is 'test_algo' but its parameters are "
                                          "algorithm.sgd"));
}

TEST(ValidateConfig, ReportsThePluginsOwnParameterErrors) {
  v1::RunConfig config = ValidConfig();
  config.set_seed(13);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "algorithm: test_algo: seed 13 is not allowed");
}

TEST(ValidateConfig, UnknownProblemListsKnownNames) {
  v1::RunConfig config = ValidConfig();
  config.mutable_problem()->set_name("nope");
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("problem.name: unknown problem 'nope'; known: "
                                          "test_problem"));

  config.mutable_problem()->clear_name();
  config.mutable_problem()->mutable_file()->clear_path();
  status = ValidateConfig(config, 4);
  EXPECT_THAT(status.message(), HasSubstr("problem.name is empty; known: test_problem"));
  EXPECT_THAT(status.message(), HasSubstr("problem.file.path is empty"));
}

TEST(ValidateConfig, ModeMustBeSupportedByTheAlgorithm) {
  v1::RunConfig config = ValidConfig();
  config.set_mode(v1::RunConfig::SYNCHRONOUS);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "mode SYNCHRONOUS: algorithm 'test_algo' has no synchronous central step");
  config.set_seed(8);
  EXPECT_TRUE(ValidateConfig(config, 4).ok());
  config.set_mode(v1::RunConfig::ASYNCHRONOUS);
  config.set_seed(0);
  EXPECT_TRUE(ValidateConfig(config, 4).ok());
}

TEST(ValidateConfig, RejoinMustBeSupportedByTheAlgorithm) {
  v1::RunConfig config = ValidConfig();
  config.set_rejoin(true);
  EXPECT_TRUE(ValidateConfig(config, 4).ok());
  config.set_seed(8);
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("rejoin: algorithm 'test_algo' cannot take back"));
}

TEST(ValidateConfig, NewLimitsAndNorm) {
  v1::RunConfig config = ValidConfig();
  config.mutable_limits()->set_answer_timeout_s(0);
  config.mutable_limits()->set_keepalive_s(0.5);
  config.mutable_limits()->set_rejoin_interval_s(-1);
  config.mutable_stop()->set_precision_norm(static_cast<v1::StopSpec::Norm>(9));
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_THAT(status.message(), HasSubstr("limits.answer_timeout_s must be in (0, 604800], got 0"));
  EXPECT_THAT(status.message(), HasSubstr("limits.keepalive_s must be in [1, 3600], got 0.5"));
  EXPECT_THAT(status.message(),
              HasSubstr("limits.rejoin_interval_s must be in [0.001, 3600], got -1"));
  EXPECT_THAT(status.message(), HasSubstr("stop.precision_norm 9 is unknown"));
  const ResolvedLimits defaults = ResolveLimits(v1::Limits());
  EXPECT_EQ(defaults.answer_timeout_s, 0);
  EXPECT_EQ(defaults.keepalive_s, 5);
  EXPECT_EQ(defaults.rejoin_interval_s, 1);
}

// `aia validate` accepted limits every run then failed on (max_message_bytes: 100,
// keepalive_s: 3e6): each numeric field has a range a run can work with, and the
// error names the field and the range. Both ends of each range are accepted.
TEST(ValidateConfig, EveryNumericFieldHasARangeARunCanWorkWith) {
  struct Case {
    std::string set;       // --set assignment
    std::string message;   // "" when valid
  };
  const std::vector<Case> cases = {
      {"limits.max_message_bytes=100", "limits.max_message_bytes must be in [65536, 2147483647]"},
      {"limits.max_message_bytes=65535", "limits.max_message_bytes must be in [65536, 2147483647]"},
      {"limits.max_message_bytes=65536", ""},
      {"limits.max_message_bytes=2147483647", ""},
      {"limits.max_message_bytes=2147483648",
       "limits.max_message_bytes must be in [65536, 2147483647]"},
      {"limits.keepalive_s=3e6", "limits.keepalive_s must be in [1, 3600], got 3e+06"},
      {"limits.keepalive_s=3600", ""},
      {"limits.keepalive_s=1", ""},
      {"limits.keepalive_s=inf", "limits.keepalive_s must be in [1, 3600]"},
      {"limits.keepalive_s=nan", "limits.keepalive_s must be in [1, 3600]"},
      {"limits.connect_timeout_s=1e300", "limits.connect_timeout_s must be in (0, 3600]"},
      {"limits.connect_timeout_s=3600", ""},
      {"limits.setup_timeout_s=86401", "limits.setup_timeout_s must be in (0, 86400]"},
      {"limits.setup_timeout_s=86400", ""},
      {"limits.shutdown_timeout_s=inf", "limits.shutdown_timeout_s must be in (0, 3600]"},
      {"limits.answer_timeout_s=1e9", "limits.answer_timeout_s must be in (0, 604800]"},
      {"limits.answer_timeout_s=604800", ""},
      {"limits.rejoin_interval_s=0.0001", "limits.rejoin_interval_s must be in [0.001, 3600]"},
      {"limits.rejoin_interval_s=0.001", ""},
      {"limits.rejoin_interval_s=1e5", "limits.rejoin_interval_s must be in [0.001, 3600]"},
      {"stop.time_s=1e300", "stop.time_s must be in (0, 100000000]"},
      {"stop.time_s=1e8", ""},
      {"save.time_s=inf", "save.time_s must be in (0, 100000000]"},
      {"stragglers.scale_s=1e9", "stragglers.scale_s must be in [0, 3600]"},
      {"stragglers.scale_s=3600", ""},
      {"stragglers.shape=1e300", "stragglers.shape must be in [0, 1000000]"},
      {"stragglers.shape=-1", "stragglers.shape must be in [0, 1000000]"},
      {"stragglers.shape=2", ""},
  };
  for (const Case& c : cases) {
    v1::RunConfig config = ValidConfig();
    ASSERT_TRUE(ApplyOverride(config, c.set).ok()) << c.set;
    const absl::Status status = ValidateConfig(config, 4);
    if (c.message.empty()) {
      EXPECT_TRUE(status.ok()) << c.set << ": " << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.set;
      EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.set;
    }
  }
}

// Limits reach gRPC and timers even from a config nobody validated: ResolveLimits
// keeps every value inside its range.
TEST(ResolveLimits, ClampsIntoTheRanges) {
  v1::Limits set;
  set.set_max_message_bytes(100);
  set.set_keepalive_s(3e6);
  set.set_connect_timeout_s(std::nan(""));
  set.set_answer_timeout_s(std::numeric_limits<double>::infinity());
  set.set_rejoin_interval_s(-1);
  const ResolvedLimits limits = ResolveLimits(set);
  EXPECT_EQ(limits.max_message_bytes, 65536);
  EXPECT_EQ(limits.keepalive_s, 3600);
  EXPECT_EQ(limits.connect_timeout_s, 10);  // NaN: the default
  EXPECT_EQ(limits.answer_timeout_s, 604800);
  EXPECT_EQ(limits.rejoin_interval_s, 0.001);
  set.set_max_message_bytes(int64_t{1} << 40);
  EXPECT_EQ(ResolveLimits(set).max_message_bytes, 2147483647);
}

TEST(ValidateConfig, RejectsSlashInName) {
  v1::RunConfig config = ValidConfig();
  config.set_name("../escape");
  absl::Status status = ValidateConfig(config, 4);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("name '../escape' must not contain"));
}

TEST(ValidateConfig, ReportsEveryViolationOnePerLine) {
  v1::RunConfig config;
  config.mutable_algorithm()->set_name("nope");
  config.set_mode(v1::RunConfig::SYNCHRONOUS);
  config.set_resilience(3);
  config.mutable_save()->set_iteration(0);
  absl::Status status = ValidateConfig(config, 2);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::vector<std::string> lines = absl::StrSplit(status.message(), '\n');
  EXPECT_THAT(lines, SizeIs(5)) << status.message();
  EXPECT_THAT(status.message(), HasSubstr("unknown algorithm 'nope'"));
  EXPECT_THAT(status.message(), HasSubstr("problem.name is empty"));
  EXPECT_THAT(status.message(), HasSubstr("stop: set at least one of"));
  EXPECT_THAT(status.message(), HasSubstr("save.iteration must be > 0, got 0"));
  EXPECT_THAT(status.message(), HasSubstr("resilience 3 must be < the number of workers (2)"));
}

// ------------------------------------------------- ResolveLimits, ConfigToText

TEST(ResolveLimits, FillsDefaults) {
  ResolvedLimits limits = ResolveLimits(v1::Limits());
  EXPECT_DOUBLE_EQ(limits.connect_timeout_s, 10);
  EXPECT_DOUBLE_EQ(limits.setup_timeout_s, 120);
  EXPECT_EQ(limits.max_message_bytes, int64_t{256} * 1024 * 1024);
  EXPECT_DOUBLE_EQ(limits.shutdown_timeout_s, 5);
}

TEST(ResolveLimits, KeepsSetValues) {
  v1::Limits set;
  set.set_connect_timeout_s(1.5);
  set.set_max_message_bytes(int64_t{1} << 30);
  ResolvedLimits limits = ResolveLimits(set);
  EXPECT_DOUBLE_EQ(limits.connect_timeout_s, 1.5);
  EXPECT_EQ(limits.max_message_bytes, int64_t{1} << 30);
  EXPECT_DOUBLE_EQ(limits.setup_timeout_s, 120);
  EXPECT_DOUBLE_EQ(limits.shutdown_timeout_s, 5);
}

TEST(ConfigToText, RoundTrips) {
  v1::RunConfig config = ValidConfig();
  ASSERT_TRUE(ApplyOverride(config, "algorithm.sgd.stepsize=0.25").ok());
  ASSERT_TRUE(ApplyOverride(config, "stop.epoch=0").ok());
  const std::string text = ConfigToText(config);
  EXPECT_THAT(text, HasSubstr("name: \"demo\""));
  EXPECT_THAT(text, HasSubstr("stepsize: 0.25"));
  absl::StatusOr<v1::RunConfig> parsed = ParseConfig(text, "config.textproto");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, config))
      << ConfigToText(*parsed);
  EXPECT_TRUE(parsed->stop().has_epoch());
}

}  // namespace
}  // namespace aia
