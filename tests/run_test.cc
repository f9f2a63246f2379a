// End-to-end tests of `aia run` and `aia validate` with real aia_worker processes
// talking gRPC on loopback: the run directory contract, the saving rule, and the
// errors users see for bad input.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "coordinator/history/npy_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "problems/least_squares/least_squares.h"
#include "tests/process.h"
#include "tests/run_files.h"

namespace aia {
namespace {

using ::aia::testing::JsonIntList;
using ::aia::testing::NewTempDir;
using ::aia::testing::ProcessResult;
using ::aia::testing::ReadCsv;
using ::aia::testing::ReadFileOrDie;
using ::aia::testing::Runfile;
using ::aia::testing::RunProcess;
using ::aia::testing::ToInt;
using ::aia::testing::WorkerProcess;
using ::aia::testing::WriteFileOrDie;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSyntheticSgd[] = R"pb(
  name: "e2e"
  algorithm {
    name: "sgd"
    sgd { stepsize: 0.005 }
  }
  problem {
    name: "least_squares"
    synthetic { rows: 400 columns: 8 seed: 7 noise: 0.01 }
  }
  stop { iteration: 100000 time_s: 60 }
  save { iteration: 50 }
  seed: 3
)pb";

// Writes `text` as a config file in a fresh directory; returns its path.
std::string WriteConfig(const std::string& text, const std::string& name = "config.textproto") {
  const std::string path = NewTempDir("config") + "/" + name;
  WriteFileOrDie(path, text);
  return path;
}

ProcessResult Aia(std::vector<std::string> args, absl::Duration timeout = absl::Seconds(60)) {
  args.insert(args.begin(), Runfile("coordinator/aia"));
  return RunProcess(args, timeout);
}

TEST(AiaRun, AsynchronousRunWritesTheRunDirectory) {
  const std::string out = NewTempDir("run") + "/out";
  ProcessResult run = Aia({"run", WriteConfig(kSyntheticSgd), "--local_workers=3", "--set",
                           "stop.iteration=600", "--out=" + out, "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("completed: iteration after 600 iterations"));

  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"completed\""));
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"iteration\""));
  EXPECT_THAT(summary, HasSubstr("\"iterations\": 600"));
  const std::vector<int64_t> counts = JsonIntList(summary, "answer_count");
  ASSERT_EQ(counts.size(), 3u) << summary;
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 600);

  // Record 0, then every 50th iteration; 600 is both a multiple and the final step.
  std::vector<std::vector<std::string>> history = ReadCsv(out + "/history.csv");
  ASSERT_EQ(history.size(), 1u + 13u);
  EXPECT_EQ(history[0], (std::vector<std::string>{"record", "iteration", "epoch", "time_s",
                                                  "precision", "worker"}));
  int64_t previous_epoch = 0;
  for (size_t r = 1; r < history.size(); ++r) {
    const std::vector<std::string>& row = history[r];
    ASSERT_EQ(row.size(), 6u);
    EXPECT_EQ(ToInt(row[0]), static_cast<int64_t>(r - 1));
    EXPECT_EQ(ToInt(row[1]), static_cast<int64_t>(50 * (r - 1)));
    EXPECT_GE(ToInt(row[2]), previous_epoch);
    previous_epoch = ToInt(row[2]);
    if (r == 1) {
      EXPECT_EQ(row[4], "");  // record 0 has no precision and no worker
      EXPECT_EQ(row[5], "");
    } else {
      EXPECT_GE(ToInt(row[5]), 0);
      EXPECT_LT(ToInt(row[5]), 3);
      EXPECT_NE(row[4], "");
    }
  }

  std::vector<std::vector<std::string>> workers = ReadCsv(out + "/workers.csv");
  ASSERT_EQ(workers.size(), 4u);
  EXPECT_EQ(workers[0], (std::vector<std::string>{"worker", "address", "answers", "failures",
                                                  "mean_compute_s", "state", "cause", "version",
                                                  "host", "shard_digest"}));
  for (int w = 0; w < 3; ++w) {
    EXPECT_EQ(ToInt(workers[w + 1][2]), counts[w]);
    EXPECT_EQ(workers[w + 1][5], "stopped");
  }

  // The objective at the last saved query is far below the one at q0.
  auto queries = ReadNpy(out + "/queries.npy");
  ASSERT_TRUE(queries.ok()) << queries.status();
  ASSERT_EQ(queries->first, (std::vector<int64_t>{13, 8}));
  v1::ProblemSpec spec;
  spec.set_name("least_squares");
  spec.mutable_synthetic()->set_rows(400);
  spec.mutable_synthetic()->set_columns(8);
  spec.mutable_synthetic()->set_seed(7);
  spec.mutable_synthetic()->set_noise(0.01);
  auto problem = LeastSquares::Create(ProblemContext{spec, "/", 0, 1});
  ASSERT_TRUE(problem.ok()) << problem.status();
  const std::vector<double>& q = queries->second;
  const double first = (*problem)->Objective(ConstVectorRef(q.data(), 8));
  const double last = (*problem)->Objective(ConstVectorRef(q.data() + 12 * 8, 8));
  EXPECT_LT(last, 0.05 * first) << "first " << first << " last " << last;

  EXPECT_THAT(ReadFileOrDie(out + "/config.textproto"), HasSubstr("iteration: 600"));
}

TEST(AiaRun, ShippedExampleRunsOnHeartScale) {
  const std::string data = "/usr/share/doc/liblinear-tools/examples/heart_scale";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << data << " absent (liblinear-tools)";
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string config = absl::StrCat(srcdir, "/aia/examples/sgd_least_squares.textproto");
  const std::string out = NewTempDir("example") + "/out";
  ProcessResult run = Aia({"run", config, "--local_workers=4", "--set", "stop.iteration=1000",
                           "--out=" + out, "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"completed\""));
  EXPECT_THAT(summary, HasSubstr("\"iterations\": 1000"));
  const std::vector<int64_t> counts = JsonIntList(summary, "answer_count");
  ASSERT_EQ(counts.size(), 4u);
  EXPECT_EQ(counts[0] + counts[1] + counts[2] + counts[3], 1000);
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0) {
    ProcessResult load = RunProcess(
        {"/usr/bin/python3", "-c",
         absl::StrCat("import numpy; a = numpy.load('", out, "/queries.npy'); print(a.shape)")},
        absl::Seconds(30));
    EXPECT_EQ(load.exit_code, 0) << load.err;
    EXPECT_EQ(load.out, "(11, 13)\n");  // records 0, 100, ..., 1000 of 13 features
  }
}

TEST(AiaRun, StopsOnTimeWhenWorkersAreSilent) {
  const std::string config = WriteConfig(R"pb(
    algorithm {
      name: "echo"
      echo { dimension: 4 delay_s: 30 }
    }
    problem {
      name: "least_squares"
      synthetic { rows: 4 columns: 2 }
    }
    stop { time_s: 0.5 }
    limits { shutdown_timeout_s: 1 }
  )pb");
  const std::string out = NewTempDir("time") + "/out";
  ProcessResult run =
      Aia({"run", config, "--local_workers=2", "--out=" + out, "--quiet"}, absl::Seconds(30));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"stop_reason\": \"time_s\""));
  EXPECT_THAT(summary, HasSubstr("\"iterations\": 0"));
  EXPECT_LT(run.wall, absl::Seconds(15));               // not the 30 s the workers would take
  EXPECT_EQ(ReadCsv(out + "/history.csv").size(), 2u);  // header and record 0
}

TEST(AiaRun, InterruptCancelsTheRunAndKeepsTheHistory) {
  const std::string config = WriteConfig(R"pb(
    algorithm {
      name: "echo"
      echo { dimension: 3 delay_s: 0.01 }
    }
    problem {
      name: "least_squares"
      synthetic { rows: 4 columns: 2 }
    }
    stop { time_s: 60 }
    save { iteration: 1 }
  )pb");
  const std::string out = NewTempDir("cancel") + "/out";
  std::thread interrupter;
  ProcessResult run = RunProcess(
      {Runfile("coordinator/aia"), "run", config, "--local_workers=2", "--out=" + out, "--quiet"},
      absl::Seconds(30), [&](pid_t pid) {
        interrupter = std::thread([pid] {
          absl::SleepFor(absl::Seconds(1.5));
          kill(pid, SIGINT);
        });
      });
  interrupter.join();
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("run cancelled"));
  EXPECT_LT(run.wall, absl::Seconds(20));
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"cancelled\""));
  // Every processed answer was saved before the interrupt.
  EXPECT_GT(ReadCsv(out + "/history.csv").size(), 10u);
  EXPECT_THAT(ReadFileOrDie(out + "/workers.csv"), HasSubstr("stopped"));
}

TEST(AiaRun, SavesOncePerEpoch) {
  const std::string out = NewTempDir("epoch") + "/out";
  ProcessResult run =
      Aia({"run", WriteConfig(kSyntheticSgd), "--local_workers=2", "--set", "stop.epoch=20",
           "--set", "save.epoch=5", "--set", "save.iteration=1000000", "--out=" + out, "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::vector<std::string>> history = ReadCsv(out + "/history.csv");
  std::vector<int64_t> epochs;
  for (size_t r = 1; r < history.size(); ++r) epochs.push_back(ToInt(history[r][2]));
  EXPECT_EQ(epochs, (std::vector<int64_t>{0, 5, 10, 15, 20}));
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"stop_reason\": \"epoch\""));
}

// save.staleness: a staleness column after `worker`, an integer >= 0 for every
// asynchronous step (0 throughout with one worker), empty for record 0 and for
// synchronous rounds; sgd's staleness_damping runs and is validated.
TEST(AiaRun, SavesTheStalenessOfEachAsynchronousStep) {
  for (const int workers : {1, 3}) {
    SCOPED_TRACE(absl::StrCat(workers, " workers"));
    const std::string out = NewTempDir("staleness") + "/out";
    ProcessResult run =
        Aia({"run", WriteConfig(kSyntheticSgd), absl::StrCat("--local_workers=", workers), "--set",
             "stop.iteration=300", "--set", "save.iteration=1", "--set", "save.staleness=true",
             "--set", "algorithm.sgd.staleness_damping=0.5", "--out=" + out, "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    std::vector<std::vector<std::string>> history = ReadCsv(out + "/history.csv");
    ASSERT_EQ(history.size(), 1u + 301u);
    EXPECT_EQ(history[0], (std::vector<std::string>{"record", "iteration", "epoch", "time_s",
                                                    "precision", "worker", "staleness"}));
    EXPECT_EQ(history[1][6], "");  // record 0
    int64_t most_stale = 0;
    for (size_t r = 2; r < history.size(); ++r) {
      const std::string& staleness = history[r][6];
      ASSERT_FALSE(staleness.empty()) << "record " << r - 1;
      ASSERT_EQ(staleness.find_first_not_of("0123456789"), std::string::npos) << staleness;
      // Never older than q0: at most the steps before this one.
      EXPECT_LE(ToInt(staleness), ToInt(history[r][1]) - 1) << "record " << r - 1;
      most_stale = std::max(most_stale, ToInt(staleness));
    }
    if (workers == 1) {
      EXPECT_EQ(most_stale, 0);
    } else {
      // Every worker's first answer is to q0, and only one of them can be the
      // first step: with two workers answering, some answer is stale.
      const std::vector<int64_t> counts =
          JsonIntList(ReadFileOrDie(out + "/summary.json"), "answer_count");
      if (std::count_if(counts.begin(), counts.end(), [](int64_t n) { return n > 0; }) >= 2) {
        EXPECT_GE(most_stale, 1);
      }
    }
  }

  const std::string out = NewTempDir("staleness_sync") + "/out";
  ProcessResult rounds =
      Aia({"run", WriteConfig(kSyntheticSgd), "--local_workers=2", "--set", "mode=SYNCHRONOUS",
           "--set", "stop.iteration=20", "--set", "save.iteration=1", "--set",
           "save.staleness=true", "--out=" + out, "--quiet"});
  ASSERT_EQ(rounds.exit_code, 0) << rounds.err;
  std::vector<std::vector<std::string>> history = ReadCsv(out + "/history.csv");
  ASSERT_EQ(history.size(), 1u + 21u);
  for (size_t r = 1; r < history.size(); ++r) EXPECT_EQ(history[r][6], "") << "record " << r - 1;

  ProcessResult bad =
      Aia({"validate", WriteConfig(kSyntheticSgd), "--set", "algorithm.sgd.staleness_damping=-1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("algorithm.sgd.staleness_damping must be finite and >= 0"));
}

TEST(AiaRun, MalformedConfigNamesLineAndColumn) {
  const std::string config =
      WriteConfig("name: \"x\"\nstop {\n  iteration 10\n}\n", "bad.textproto");
  ProcessResult run = Aia({"run", config, "--local_workers=1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("bad.textproto:3:13"));
  ProcessResult validate = Aia({"validate", config});
  EXPECT_EQ(validate.exit_code, 2);
  EXPECT_THAT(validate.err, HasSubstr("bad.textproto:3:13"));
}

TEST(AiaRun, UnknownAlgorithmAndProblemListTheKnownNames) {
  ProcessResult algorithm = Aia(
      {"run", WriteConfig(kSyntheticSgd), "--local_workers=1", "--set", "algorithm.name=newton"});
  EXPECT_EQ(algorithm.exit_code, 2);
  EXPECT_THAT(algorithm.err, HasSubstr("unknown algorithm 'newton'; known: cutting_plane, echo, "
                                       "gd_aggregation, gd_averaging, sgd, trust_region"));
  ProcessResult problem =
      Aia({"validate", WriteConfig(kSyntheticSgd), "--set", "problem.name=lasso"});
  EXPECT_EQ(problem.exit_code, 2);
  EXPECT_THAT(
      problem.err,
      HasSubstr("unknown problem 'lasso'; known: l1_regression, least_squares, two_stage_lp"));
}

TEST(AiaRun, BadOverridesAndUsageExitTwo) {
  const std::string config = WriteConfig(kSyntheticSgd);
  ProcessResult path = Aia({"run", config, "--local_workers=1", "--set", "stop.iterations=5"});
  EXPECT_EQ(path.exit_code, 2);
  EXPECT_THAT(path.err, HasSubstr("no field 'iterations' in aia.v1.StopSpec"));
  ProcessResult value = Aia({"run", config, "--local_workers=1", "--set", "stop.iteration=abc"});
  EXPECT_EQ(value.exit_code, 2);
  EXPECT_THAT(value.err, HasSubstr("'abc' is not an int64"));
  ProcessResult no_workers = Aia({"run", config});
  EXPECT_EQ(no_workers.exit_code, 2);
  EXPECT_THAT(no_workers.err, HasSubstr("give exactly one of --local_workers"));
  ProcessResult no_stop = Aia({"validate", WriteConfig(R"pb(
                                 algorithm { name: "sgd" }
                                 problem {
                                   name: "least_squares"
                                   synthetic { rows: 4 columns: 2 }
                                 }
                               )pb")});
  EXPECT_EQ(no_stop.exit_code, 2);
  EXPECT_THAT(no_stop.err, HasSubstr("stop: set at least one of"));
  ProcessResult missing = Aia({"run", "/nonexistent/config.textproto", "--local_workers=1"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/config.textproto"));
  ProcessResult valid = Aia({"validate", config});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
}

TEST(AiaRun, AWorkerWhoseDataDiffersIsFoundByItsShardDigest) {
  // Worker 1's rows.csv differs from the coordinator's in one value of its shard.
  const std::string data = NewTempDir("data");
  WriteFileOrDie(data + "/rows.csv", "y,a,b\n1,1,0\n2,0,1\n3,1,1\n4,2,1\n");
  const std::string other = NewTempDir("other");
  WriteFileOrDie(other + "/rows.csv", "y,a,b\n1,1,0\n2,0,1\n3,1,1\n4,2,2\n");
  WorkerProcess same(data), different(other);
  const std::string config = WriteConfig(R"pb(
    algorithm { name: "sgd" }
    problem {
      name: "least_squares"
      file { path: "rows.csv" }
    }
    stop { iteration: 100 }
  )pb");
  const std::string out = NewTempDir("digest") + "/out";
  ProcessResult run = Aia({"run", config, "--workers=" + same.address() + "," + different.address(),
                           "--data_root=" + data, "--out=" + out});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr(absl::StrCat("worker 1 (", different.address(),
                                              "): holds data with digest fnv1a64:")));
  EXPECT_THAT(run.err, HasSubstr("but shard 1 of 2 of the coordinator's data has digest"));
  // The same data everywhere: the digests agree and are recorded.
  ProcessResult good = Aia({"run", config, "--workers=" + same.address(), "--data_root=" + data,
                            "--out=" + out + "2", "--quiet"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  std::vector<std::vector<std::string>> workers = ReadCsv(out + "2/workers.csv");
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_THAT(workers[1][9], ::testing::MatchesRegex("fnv1a64:[0-9a-f]{16}"));
  EXPECT_EQ(workers[1][7], "0.2.0");
}

TEST(AiaRun, DataMissingOnAWorkerFailsTheRunNamingWorkerAndPath) {
  // The coordinator and worker 0 have the data file; worker 1's data root has not.
  const std::string data = NewTempDir("data");
  WriteFileOrDie(data + "/rows.csv", "y,a,b\n1,1,0\n2,0,1\n3,1,1\n4,2,1\n");
  const std::string empty = NewTempDir("empty");
  WorkerProcess with_data(data), without_data(empty);
  const std::string config = WriteConfig(R"pb(
    algorithm { name: "sgd" }
    problem {
      name: "least_squares"
      file { path: "rows.csv" }
    }
    stop { iteration: 100 }
  )pb");
  const std::string out = NewTempDir("missing") + "/out";
  ProcessResult run =
      Aia({"run", config, "--workers=" + with_data.address() + "," + without_data.address(),
           "--data_root=" + data, "--out=" + out});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const std::string expected = absl::StrCat("worker 1 (", without_data.address(), ")");
  EXPECT_THAT(run.err, HasSubstr(expected));
  // The path as the config gave it, under the worker's data root, which a client
  // is never told.
  EXPECT_THAT(run.err, HasSubstr("'<data_root>/rows.csv'"));
  EXPECT_THAT(run.err, Not(HasSubstr(empty)));
  const std::string summary = ReadFileOrDie(out + "/summary.json");
  EXPECT_THAT(summary, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr(expected));
  EXPECT_THAT(ReadFileOrDie(out + "/history.csv"), HasSubstr("record,iteration"));
  EXPECT_THAT(ReadFileOrDie(out + "/config.textproto"), HasSubstr("rows.csv"));
  EXPECT_THAT(ReadFileOrDie(out + "/workers.csv"), HasSubstr("lost"));
  // The daemons serve the next run as if nothing happened.
  ProcessResult again = Aia({"run", config, "--workers=" + with_data.address(),
                             "--data_root=" + data, "--out=" + out + "2", "--quiet"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST(AiaRun, NobodyListeningFailsAtOnce) {
  const std::string address = absl::StrCat("127.0.0.1:", testing::UnusedPort());
  const std::string out = NewTempDir("unreachable") + "/out";
  ProcessResult run = Aia({"run", WriteConfig(kSyntheticSgd), "--workers=" + address, "--set",
                           "limits.connect_timeout_s=10", "--out=" + out},
                          absl::Seconds(30));
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.exit_code, 1);
  // A refused connection is lost at once, not after the whole connect timeout.
  EXPECT_THAT(run.err, HasSubstr("cannot connect"));
  EXPECT_LT(run.wall, absl::Seconds(5));
  EXPECT_THAT(run.err, HasSubstr("worker 0 (" + address + ")"));
  EXPECT_LT(run.wall, absl::Seconds(15));
  EXPECT_THAT(ReadFileOrDie(out + "/summary.json"), HasSubstr("\"status\": \"failed\""));
}

TEST(AiaRun, BadWorkerNamesAndMetricsAddressesAreRefused) {
  const std::string config = WriteConfig(kSyntheticSgd);
  ProcessResult no_port = Aia({"run", config, "--workers=dns:///localhost:0"});
  EXPECT_EQ(no_port.exit_code, 2);
  EXPECT_THAT(no_port.err, HasSubstr("'dns:///localhost:0': expected dns:///NAME:PORT"));
  ProcessResult unknown = Aia({"run", config, "--workers=dns:///no-such-host.invalid:7070"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("cannot resolve 'no-such-host.invalid'"));
  ProcessResult metrics = Aia({"run", config, "--local_workers=1", "--metrics_listen=nonsense",
                               "--out=" + NewTempDir("metrics") + "/out"});
  EXPECT_EQ(metrics.exit_code, 2);
  EXPECT_THAT(metrics.err, HasSubstr("--metrics_listen"));
}

TEST(AiaRun, WorkersFileIsValidated) {
  const std::string dir = NewTempDir("workers_file");
  WriteFileOrDie(dir + "/bad", "# workers\n127.0.0.1:1 127.0.0.1:2\n");
  ProcessResult run = Aia({"run", WriteConfig(kSyntheticSgd), "--workers_file=" + dir + "/bad"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(dir + "/bad:2: expected one HOST:PORT"));
}

TEST(AiaRun, RefusesToOverwriteARun) {
  const std::string out = NewTempDir("twice") + "/out";
  const std::string config = WriteConfig(kSyntheticSgd);
  ASSERT_EQ(Aia({"run", config, "--local_workers=1", "--set", "stop.iteration=10", "--out=" + out,
                 "--quiet"})
                .exit_code,
            0);
  ProcessResult again = Aia({"run", config, "--local_workers=1", "--set", "stop.iteration=10",
                             "--out=" + out, "--quiet"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("history.csv"));
}

}  // namespace
}  // namespace aia
