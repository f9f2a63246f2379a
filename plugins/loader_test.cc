// The loader on real plugin libraries (plugins/testdata), in the order a host
// meets them: refused libraries first (each refusal adds no name), then the test
// plugin, its parameters through a config, and the identity checked at Setup.
#include "plugins/loader.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/identity.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace aia {
namespace {

using ::testing::HasSubstr;

std::string Testdata(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/aia/plugins/testdata/", name);
}

// A new directory holding a copy of each of `libraries` (plugins/testdata names).
std::string DirWith(const std::string& name, const std::vector<std::string>& libraries) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  EXPECT_EQ(system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
  for (const std::string& library : libraries) {
    std::ifstream in(Testdata(library), std::ios::binary);
    std::ofstream out(dir + "/" + library, std::ios::binary);
    out << in.rdbuf();
    EXPECT_TRUE(in && out) << library;
  }
  return dir;
}

// The plugin's messages exist only in its library (linking them here too would
// register their .proto file twice), so the test reads them by reflection.
std::unique_ptr<google::protobuf::Message> Unpack(const google::protobuf::Any& any) {
  const std::string type = any.type_url().substr(any.type_url().rfind('/') + 1);
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) return nullptr;
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  if (!any.UnpackTo(message.get())) return nullptr;
  return message;
}

double DoubleField(const google::protobuf::Any& any, const std::string& field) {
  std::unique_ptr<google::protobuf::Message> message = Unpack(any);
  if (message == nullptr) return -1;
  return message->GetReflection()->GetDouble(*message,
                                             message->GetDescriptor()->FindFieldByName(field));
}

absl::Status LoadOnly(const std::string& dir) { return LoadPlugins({dir}, "").status(); }

TEST(Loader, NamesAMissingDirectory) {
  const absl::Status status = LoadOnly("/nonexistent/plugins");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("plugin directory /nonexistent/plugins"));
}

TEST(Loader, SkipsAMissingDefaultDirectory) {
  absl::StatusOr<std::vector<LoadedPlugin>> loaded = LoadPlugins({}, "/nonexistent/plugins");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->empty());
}

TEST(Loader, RefusesACorruptLibrary) {
  const std::string dir = DirWith("corrupt", {});
  std::ofstream(dir + "/libcorrupt.so") << "this is not an ELF file\n";
  const absl::Status status = LoadOnly(dir);
  EXPECT_THAT(status.message(), HasSubstr(dir + "/libcorrupt.so: cannot be loaded"));
}

TEST(Loader, RefusesALibraryThatIsNotAPlugin) {
  const std::string dir = DirWith("no_entry", {"libno_entry.so"});
  EXPECT_THAT(LoadOnly(dir).message(),
              HasSubstr("libno_entry.so: has no symbol aia_plugin_api_version"));
}

TEST(Loader, RefusesAnotherApiVersion) {
  const std::string dir = DirWith("api", {"libapi_version.so"});
  EXPECT_THAT(LoadOnly(dir).message(),
              HasSubstr(absl::StrCat("libapi_version.so: was built for plugin API version 999; "
                                     "this aia has version ",
                                     kPluginApiVersion)));
}

TEST(Loader, SurvivesALibraryThatAbortsWhileLoading) {
  const std::string dir = DirWith("aborts", {"libaborts.so"});
  const absl::Status status = LoadOnly(dir);
  EXPECT_THAT(status.message(), HasSubstr("libaborts.so: loading it ended the process (signal 6"));
  EXPECT_THAT(status.message(), HasSubstr("broken plugin: aborting at load"));
}

TEST(Loader, RefusesARegistrationThatThrows) {
  const std::string dir = DirWith("throws", {"libthrows.so"});
  EXPECT_THAT(LoadOnly(dir).message(),
              HasSubstr("libthrows.so: its registration threw: registration failed on purpose"));
}

TEST(Loader, RefusesABuiltInName) {
  const std::string dir = DirWith("clash", {"libclash.so"});
  EXPECT_THAT(LoadOnly(dir).message(),
              HasSubstr("libclash.so: algorithm 'sgd' is built into aia"));
}

TEST(Loader, RefusalsAddNoName) {
  EXPECT_EQ(Plugins().Find(PluginKind::kAlgorithm, "sgd"), nullptr);
  EXPECT_FALSE(AlgorithmRegistry().Find("test_gd").ok());
}

TEST(Loader, LoadsThePluginAndItsParameters) {
  const std::string dir = DirWith("good", {"libtest_plugin.so"});
  // The same directory twice loads it once.
  absl::StatusOr<std::vector<LoadedPlugin>> loaded = LoadPlugins({dir, dir + "/"}, "");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  const LoadedPlugin& plugin = loaded->front();
  EXPECT_EQ(plugin.origin.plugin, "test");
  EXPECT_EQ(plugin.origin.version, "1.0");
  EXPECT_EQ(plugin.origin.digest, *FileDigest(dir + "/libtest_plugin.so"));
  EXPECT_THAT(plugin.origin.digest, ::testing::MatchesRegex("sha256:[0-9a-f]{64}"));
  EXPECT_EQ(plugin.algorithms, std::vector<std::string>{"test_gd"});
  EXPECT_EQ(plugin.problems, std::vector<std::string>{"test_quadratic"});

  // A config names the plugin's message, whose descriptor came with the library.
  absl::StatusOr<v1::RunConfig> config = ParseConfig(R"pb(
    algorithm {
      name: "test_gd"
      params {
        [type.googleapis.com/aia.test.GdParams] { stepsize: 0.25 }
      }
    }
    problem { name: "test_quadratic" }
    stop { iteration: 10 }
  )pb", "plugin.textproto");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(DoubleField(config->algorithm().params(), "stepsize"), 0.25);
  AlgorithmContext context{config->algorithm()};
  EXPECT_TRUE(NewAlgorithm(context).ok());

  // --set reaches its fields, and fills an empty Any with the declared type.
  ASSERT_TRUE(ApplyOverride(*config, "algorithm.params.stepsize=0.125").ok());
  EXPECT_EQ(DoubleField(config->algorithm().params(), "stepsize"), 0.125);
  ASSERT_TRUE(ApplyOverride(*config, "problem.params.dimension=7").ok());
  EXPECT_EQ(config->problem().params().type_url(),
            "type.googleapis.com/aia.test.QuadraticParams");
  std::unique_ptr<google::protobuf::Message> quadratic = Unpack(config->problem().params());
  ASSERT_NE(quadratic, nullptr);
  EXPECT_EQ(quadratic->ShortDebugString(), "dimension: 7");
  EXPECT_THAT(ApplyOverride(*config, "algorithm.params.nope=1").message(),
              HasSubstr("no field 'nope' in aia.test.GdParams (fields: stepsize, "));
  EXPECT_THAT(ApplyOverride(*config, "algorithm.params.stepsize=big").message(),
              HasSubstr("'big' is not a double"));

  // The plugin's validation names the field as a config writes it.
  ASSERT_TRUE(ApplyOverride(*config, "algorithm.params.stepsize=-1").ok());
  EXPECT_THAT(NewAlgorithm(context).status().message(),
              HasSubstr("algorithm.params.stepsize: must be in (0, 1], got -1"));
  // Another message than the plugin's, and a type no plugin defines.
  config->mutable_algorithm()->mutable_params()->PackFrom(*quadratic);
  EXPECT_THAT(NewAlgorithm(context).status().message(),
              HasSubstr("algorithm.params: expected [type.googleapis.com/aia.test.GdParams], got "
                        "[type.googleapis.com/aia.test.QuadraticParams]"));
  EXPECT_THAT(ParseConfig("algorithm { name: 'test_gd' params { "
                          "[type.googleapis.com/my.Missing] { x: 1 } } }",
                          "missing.textproto")
                  .status()
                  .message(),
              HasSubstr("missing.textproto:1:"));
  // A built-in takes its typed field, not params.
  v1::AlgorithmSpec sgd;
  sgd.set_name("sgd");
  *sgd.mutable_params() = config->algorithm().params();
  EXPECT_THAT(NewAlgorithm(AlgorithmContext{sgd}).status().message(),
              HasSubstr("algorithm 'sgd' is built in: its parameters are algorithm.sgd"));
}

TEST(Loader, RefusesANameInTwoLibraries) {
  const std::string dir = DirWith("again", {"libtest_plugin.so"});
  const absl::Status status = LoadOnly(dir);
  EXPECT_THAT(status.message(), HasSubstr(dir + "/libtest_plugin.so: is a copy of "));
  EXPECT_THAT(status.message(), HasSubstr("loaded already (plugin test in two directories)"));
  // Another build registers the same .proto file again: protobuf aborts in the
  // probe, and the host goes on.
  const std::string other = DirWith("v2", {"libtest_plugin_v2.so"});
  const absl::Status v2 = LoadOnly(other);
  EXPECT_THAT(v2.message(), HasSubstr(other + "/libtest_plugin_v2.so: loading it ended the process"));
  EXPECT_THAT(v2.message(), HasSubstr("plugins/testdata/test_params.proto"));
}

TEST(Identity, SetupCarriesThePluginBuildAndTheWorkerChecksIt) {
  v1::Setup setup;
  setup.mutable_algorithm()->set_name("test_gd");
  setup.mutable_problem()->set_name("test_quadratic");
  for (v1::PluginIdentity& identity : PluginIdentities(setup.algorithm(), setup.problem())) {
    *setup.add_plugins() = identity;
  }
  ASSERT_EQ(setup.plugins_size(), 2);
  EXPECT_EQ(setup.plugins(0).kind(), "algorithm");
  EXPECT_EQ(setup.plugins(1).name(), "test_quadratic");
  EXPECT_TRUE(CheckSamePlugins(setup).ok());

  v1::Setup other = setup;
  other.mutable_plugins(0)->set_version("2.0");
  other.mutable_plugins(0)->set_digest("sha256:00");
  EXPECT_THAT(CheckSamePlugins(other).message(),
              HasSubstr("algorithm 'test_gd': the coordinator runs plugin test 2.0 (sha256:00), "
                        "this worker plugin test 1.0 (sha256:"));
  other = setup;
  other.clear_plugins();
  EXPECT_THAT(CheckSamePlugins(other).message(),
              HasSubstr("algorithm 'test_gd' is built into the coordinator but comes from plugin "
                        "test 1.0"));
  v1::Setup built_in;
  built_in.mutable_algorithm()->set_name("sgd");
  built_in.mutable_problem()->set_name("least_squares");
  *built_in.add_plugins() = setup.plugins(0);
  built_in.mutable_plugins(0)->set_name("sgd");
  EXPECT_THAT(CheckSamePlugins(built_in).message(),
              HasSubstr("this worker has no such plugin"));
}

}  // namespace
}  // namespace aia
