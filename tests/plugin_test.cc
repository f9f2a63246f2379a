// Plugins loaded by config, end to end: real aia and aia_worker processes load
// the test plugin (plugins/testdata) from --plugin_dir, take its own parameters
// (google.protobuf.Any in the config, --set on its fields), and refuse what does
// not match: another build of the plugin on a worker, a worker without it, a bad
// library, a plugin that throws or crashes in its worker step. Loopback only.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::After;
using ::aia::testing::BackgroundProcess;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadCsv;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kConfig[] = R"pb(
  name: "plugin"
  algorithm {
    name: "test_gd"
    params {
      [type.googleapis.com/aia.test.GdParams] { stepsize: 0.5 }
    }
  }
  problem {
    name: "test_quadratic"
    params {
      [type.googleapis.com/aia.test.QuadraticParams] { dimension: 3 points: 40 seed: 5 }
    }
  }
  stop { iteration: 200 time_s: 60 }
  save { iteration: 50 }
)pb";

// A directory holding a copy of plugins/testdata's `library`.
std::string PluginDir(const std::string& library) {
  const std::string dir = NewTempDir("plugins");
  WriteFileOrDie(dir + "/" + library, ReadFileOrDie(Runfile("plugins/testdata/" + library)));
  return dir;
}

std::string Config() {
  const std::string path = NewTempDir("config") + "/plugin.textproto";
  WriteFileOrDie(path, kConfig);
  return path;
}

ProcessResult Aia(std::vector<std::string> args, absl::Duration timeout = absl::Seconds(60)) {
  args.insert(args.begin(), Runfile("coordinator/aia"));
  return RunProcess(args, timeout);
}

// aia_worker on loopback with `flags`; its address once it listens.
std::unique_ptr<BackgroundProcess> StartWorker(const std::vector<std::string>& flags,
                                               std::string* address) {
  std::vector<std::string> argv = {Runfile("worker/aia_worker"), "--listen=127.0.0.1:0",
                                   "--data_root=" + NewTempDir("data"), "--shutdown_grace_s=1"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  auto worker = std::make_unique<BackgroundProcess>(argv);
  EXPECT_TRUE(worker->WaitForOutput("listening on ", absl::Seconds(10))) << worker->output();
  *address = After(worker->output(), "aia_worker listening on ");
  return worker;
}

TEST(Plugins, RunOnLocalWorkersWithTheirOwnParameters) {
  const std::string dir = PluginDir("libtest_plugin.so");
  const std::string out = NewTempDir("run") + "/out";
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + dir, "--local_workers=2",
                           "--set", "algorithm.params.stepsize=0.25", "--out=" + out, "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("completed: iteration after 200 iterations"));
  // The resolved config keeps the plugin's message, with the --set applied.
  const std::string config = ReadFileOrDie(out + "/config.textproto");
  EXPECT_THAT(config, HasSubstr("[type.googleapis.com/aia.test.GdParams]"));
  EXPECT_THAT(config, HasSubstr("stepsize: 0.25"));
  EXPECT_THAT(config, HasSubstr("dimension: 3"));
  const auto history = ReadCsv(out + "/history.csv");
  ASSERT_GE(history.size(), 3u);
  EXPECT_EQ(history.back()[1], "200");
}

TEST(Plugins, RunOnWorkerDaemonsThatLoadTheSamePlugin) {
  const std::string dir = PluginDir("libtest_plugin.so");
  std::string first, second;
  auto a = StartWorker({"--plugin_dir=" + dir}, &first);
  auto b = StartWorker({"--plugin_dir=" + dir}, &second);
  // A daemon says which plugins it loaded.
  EXPECT_THAT(a->output(), HasSubstr("aia_worker: plugin test 1.0 from " + dir +
                                     "/libtest_plugin.so (sha256:"));
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + dir,
                           "--workers=" + first + "," + second, "--out=" + NewTempDir("run") + "/o",
                           "--quiet"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
}

TEST(Plugins, AWorkerWithAnotherBuildOfThePluginIsRefused) {
  std::string address;
  auto worker = StartWorker({"--plugin_dir=" + PluginDir("libtest_plugin_v2.so")}, &address);
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + PluginDir("libtest_plugin.so"),
                           "--workers=" + address, "--out=" + NewTempDir("run") + "/o", "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr(address));
  EXPECT_THAT(run.err, HasSubstr("algorithm 'test_gd': the coordinator runs plugin test 1.0 "
                                 "(sha256:"));
  EXPECT_THAT(run.err, HasSubstr("this worker plugin test 2.0 (sha256:"));
}

TEST(Plugins, AWorkerWithoutThePluginIsRefused) {
  std::string address;
  auto worker = StartWorker({}, &address);
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + PluginDir("libtest_plugin.so"),
                           "--workers=" + address, "--out=" + NewTempDir("run") + "/o", "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr(address));
  EXPECT_THAT(run.err, HasSubstr("this worker has no such plugin (start aia_worker with the "
                                 "--plugin_dir that holds it)"));
}

TEST(Plugins, BadPluginDirectoriesAndLibrariesAreUsageErrors) {
  ProcessResult missing = Aia({"validate", Config(), "--plugin_dir=/nonexistent/plugins"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("plugin directory /nonexistent/plugins: No such file"));

  const std::string corrupt = NewTempDir("corrupt");
  WriteFileOrDie(corrupt + "/libbroken.so", "not a shared library\n");
  ProcessResult worker = RunProcess({Runfile("worker/aia_worker"), "--listen=127.0.0.1:0",
                                     "--plugin_dir=" + corrupt},
                                    absl::Seconds(20));
  EXPECT_EQ(worker.exit_code, 2);
  EXPECT_THAT(worker.err, HasSubstr("plugin " + corrupt + "/libbroken.so: cannot be loaded"));

  ProcessResult api = Aia({"validate", Config(), "--plugin_dir=" + PluginDir("libapi_version.so")});
  EXPECT_EQ(api.exit_code, 2);
  EXPECT_THAT(api.err, HasSubstr("libapi_version.so: was built for plugin API version 999"));

  // Without the plugin, the config's Any has no descriptor: the type and the
  // position are named.
  ProcessResult unknown = Aia({"validate", Config()});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("plugin.textproto:"));
  EXPECT_THAT(unknown.err, HasSubstr("aia.test.GdParams"));
}

TEST(Plugins, BadParameterValuesNameTheField) {
  const std::string dir = PluginDir("libtest_plugin.so");
  ProcessResult value = Aia({"validate", Config(), "--plugin_dir=" + dir, "--set",
                             "algorithm.params.stepsize=2"});
  EXPECT_EQ(value.exit_code, 2);
  EXPECT_THAT(value.err, HasSubstr("algorithm.params.stepsize: must be in (0, 1], got 2"));
  ProcessResult field = Aia({"validate", Config(), "--plugin_dir=" + dir, "--set",
                             "problem.params.radius=2"});
  EXPECT_EQ(field.exit_code, 2);
  EXPECT_THAT(field.err, HasSubstr("no field 'radius' in aia.test.QuadraticParams"));
  ProcessResult ok = Aia({"validate", Config(), "--plugin_dir=" + dir});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST(Plugins, AnExceptionInTheWorkerStepFailsTheSessionWithItsMessage) {
  const std::string out = NewTempDir("run") + "/out";
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + PluginDir("libtest_plugin.so"),
                           "--local_workers=1", "--set", "algorithm.params.throw_in_answer=true",
                           "--out=" + out, "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("the plugin threw an exception: test_gd was asked to throw"));
  // The history so far (record 0) is kept.
  EXPECT_GE(ReadCsv(out + "/history.csv").size(), 2u);
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"failed\""));
}

TEST(Plugins, ACrashInTheWorkerStepIsALostWorkerAndSaysSo) {
  const std::string dir = PluginDir("libtest_plugin.so");
  std::string address;
  auto worker = StartWorker({"--plugin_dir=" + dir}, &address);
  ProcessResult run = Aia({"run", Config(), "--plugin_dir=" + dir, "--workers=" + address,
                           "--set", "algorithm.params.crash_in_answer=true",
                           "--out=" + NewTempDir("run") + "/o", "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr(address));
  // The daemon died of the signal, and said so with a stack trace.
  ProcessResult ended = worker->Wait(absl::Seconds(10));
  EXPECT_EQ(ended.exit_code, -1);
  EXPECT_THAT(worker->output(), HasSubstr("SIGSEGV"));
}

}  // namespace
}  // namespace aia
