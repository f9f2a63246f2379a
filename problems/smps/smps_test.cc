#include "problems/smps/smps.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Writes `text` to a file under the test's temporary directory; returns its path.
std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << text;
  return path;
}

// The shared data folder (AIA_SHARED_DATA; tests that need it skip without), or "" if absent.
std::string SharedData() {
  const char* env = std::getenv("AIA_SHARED_DATA");
  std::string root = env != nullptr && *env != '\0' ? env : "";  // scripts/test.sh passes ../shared/data
  std::ifstream probe(root + "/smps/posts/storm/stormg2.cor");
  return probe ? root : "";
}

#define REQUIRE_SHARED_DATA(root)                                                    \
  const std::string root = SharedData();                                             \
  if (root.empty()) {                                                                \
    GTEST_SKIP() << "shared data not found (set AIA_SHARED_DATA to the folder with " \
                    "smps/); skipping";                                              \
  }

// A small two-stage core exercising every section and bound type. Columns
// X1 X2 X3 are stage 1 (rows CAP, MIX), Y1..Y6 stage 2 (rows D1, D2, D3).
constexpr char kCore[] =
    "* a comment line\n"
    "NAME          TINY\n"
    "ROWS\n"
    " N  COST\n"
    " L  CAP\n"
    " E  MIX\n"
    " N  FREE\n"
    " G  D1\n"
    " E  D2\n"
    " L  D3\n"
    "COLUMNS\n"
    "    MARKER    'MARKER'     'INTORG'\n"
    "    X1        COST      1.0          CAP       1.0\n"
    "    X1        D1        1.0          FREE      9.0\n"
    "    MARKER    'MARKER'     'INTEND'\n"
    "    X2        COST      2.0          CAP       1.0\n"
    "    X2        MIX       1.0          D2        2.0\n"
    "*   X2        D3        100.0\n"
    "    X3        COST      -1.0         MIX       -1.0\n"
    "    Y1        COST      3.0          D1        1.0\n"
    "    Y2        COST      4.0          D2        1.0\n"
    "    Y3        COST      5.0          D3        1.0\n"
    "    Y4        D1        -1.0\n"
    "    Y5        D2        -1.0\n"
    "    Y6        D3        1.0\n"
    "RHS\n"
    "    RHS       CAP       10.0         COST      -7.5\n"
    "    RHS       D1        2.0          D2        3.0\n"
    "    RHS       D3        4.0\n"
    "RANGES\n"
    "    RNG       MIX       2.0          D2        -1.5\n"
    "    RNG       D3        3.0\n"
    "BOUNDS\n"
    " UP BND       X1        5.0\n"
    " LO BND       X2        1.0\n"
    " FX BND       X3        2.0\n"
    " FR BND       Y1\n"
    " MI BND       Y2\n"
    " UP BND       Y2        8.0\n"
    " BV BND       Y3\n"
    " UP BND       Y4        -3.0\n"
    " PL BND       Y5\n"
    " LO           Y6        -1.0\n"
    " UP           Y6        1.0\n"
    "ENDATA\n";

constexpr char kTime[] =
    "TIME          TINY\n"
    "PERIODS       IMPLICIT\n"
    "    X1        CAP                      T1\n"
    "    Y1        D1                       T2\n"
    "ENDATA\n";

TEST(ReadSmps, ReadsEverySectionOfTheCore) {
  const std::string cor = WriteFile("tiny.cor", kCore);
  const std::string tim = WriteFile("tiny.tim", kTime);
  const std::string sto = WriteFile("tiny.sto",
                                    "STOCH         TINY\n"
                                    "INDEP         DISCRETE\n"
                                    "    RHS       D1        2.0          T2        0.5\n"
                                    "    RHS       D1        6.0          T2        0.5\n"
                                    "ENDATA\n");
  absl::StatusOr<TwoStageProgram> p = ReadSmps(cor, tim, sto, 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "TINY");
  EXPECT_THAT(p->x_names, ::testing::ElementsAre("X1", "X2", "X3"));
  EXPECT_THAT(p->y_names, ::testing::ElementsAre("Y1", "Y2", "Y3", "Y4", "Y5", "Y6"));
  EXPECT_THAT(p->first_row_names, ::testing::ElementsAre("CAP", "MIX"));
  EXPECT_THAT(p->second_row_names, ::testing::ElementsAre("D1", "D2", "D3"));
  EXPECT_EQ(p->objective_constant, 7.5);  // minus the RHS of the objective row
  EXPECT_EQ(p->first.c, Vector::Map(std::vector<double>{1, 2, -1}.data(), 3));
  EXPECT_EQ(p->q, Vector::Map(std::vector<double>{3, 4, 5, 0, 0, 0}.data(), 6));
  // A: CAP = X1 + X2 <= 10, MIX = X2 - X3 in [0, 2] (E with range +2).
  EXPECT_EQ(p->first.a.coeff(0, 0), 1);
  EXPECT_EQ(p->first.a.coeff(0, 1), 1);
  EXPECT_EQ(p->first.a.coeff(1, 2), -1);
  EXPECT_EQ(p->first.a.nonZeros(), 4);
  EXPECT_EQ(p->first.row_lower(0), -kInf);
  EXPECT_EQ(p->first.row_upper(0), 10);
  EXPECT_EQ(p->first.row_lower(1), 0);
  EXPECT_EQ(p->first.row_upper(1), 2);
  // T and W; the commented-out X2/D3 entry and the FREE row are not read.
  EXPECT_EQ(p->t.coeff(0, 0), 1);
  EXPECT_EQ(p->t.coeff(1, 1), 2);
  EXPECT_EQ(p->t.coeff(2, 1), 0);
  EXPECT_EQ(p->t.nonZeros(), 2);
  EXPECT_EQ(p->w.coeff(0, 3), -1);
  EXPECT_EQ(p->w.coeff(2, 5), 1);
  EXPECT_EQ(p->w.nonZeros(), 6);
  // G row D1 >= 2; E row D2 with range -1.5: [1.5, 3]; L row D3 with range 3: [1, 4].
  EXPECT_EQ(p->row_lower(0), 2);
  EXPECT_EQ(p->row_upper(0), kInf);
  EXPECT_EQ(p->row_lower(1), 1.5);
  EXPECT_EQ(p->row_upper(1), 3);
  EXPECT_EQ(p->row_lower(2), 1);
  EXPECT_EQ(p->row_upper(2), 4);
  EXPECT_EQ(p->rhs(1), 3);
  // Bounds: UP, LO, FX; FR, MI+UP, BV, negative UP (lower becomes -inf), PL, LO+UP.
  EXPECT_EQ(p->first.lower(0), 0);
  EXPECT_EQ(p->first.upper(0), 5);
  EXPECT_EQ(p->first.lower(1), 1);
  EXPECT_EQ(p->first.upper(1), kInf);
  EXPECT_EQ(p->first.lower(2), 2);
  EXPECT_EQ(p->first.upper(2), 2);
  const std::vector<double> lower = {-kInf, -kInf, 0, -kInf, 0, -1};
  const std::vector<double> upper = {kInf, 8, 1, -3, kInf, 1};
  for (int c = 0; c < 6; ++c) {
    EXPECT_EQ(p->y_lower(c), lower[c]) << p->y_names[c];
    EXPECT_EQ(p->y_upper(c), upper[c]) << p->y_names[c];
  }
  ASSERT_EQ(p->scenarios.size(), 2u);
  EXPECT_EQ(p->scenarios[1].probability, 0.5);
  ASSERT_EQ(p->scenarios[1].changes.size(), 1u);
  EXPECT_EQ(p->scenarios[1].changes[0].kind, Change::Kind::kRhs);
  EXPECT_EQ(p->scenarios[1].changes[0].row, 0);
  EXPECT_EQ(p->scenarios[1].changes[0].value, 6);
}

// A newsvendor: order x at cost 1, sell y <= min(x, demand) at price 3, demand
// 1, 3 or 5 (probabilities 0.25, 0.5, 0.25). E[min(x, d)] is maximized at ...
// the optimum is x = 3: 3 - 3 * (0.25 * 1 + 0.75 * 3) = -4.5.
constexpr char kNewsCore[] =
    "NAME NEWS\n"
    "ROWS\n"
    " N OBJ\n"
    " L CAPX\n"
    " L SELL\n"
    " L DEMAND\n"
    "COLUMNS\n"
    " X OBJ 1 CAPX 1\n"
    " X SELL -1\n"
    " Y OBJ -3 SELL 1\n"
    " Y DEMAND 1\n"
    "RHS\n"
    " RHS CAPX 100\n"
    " RHS DEMAND 3\n"
    "ENDATA\n";
constexpr char kNewsTime[] =
    "TIME NEWS\n"
    "PERIODS\n"
    " X CAPX P1\n"
    " Y SELL P2\n"
    "ENDATA\n";
constexpr char kNewsSto[] =
    "STOCH NEWS\n"
    "INDEP DISCRETE\n"
    " RHS DEMAND 1 P2 0.25\n"
    " RHS DEMAND 3 P2 0.5\n"
    " RHS DEMAND 5 P2 0.25\n"
    "ENDATA\n";

TEST(SolveExtensiveForm, SolvesANewsvendor) {
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news.cor", kNewsCore), WriteFile("news.tim", kNewsTime),
               WriteFile("news.sto", kNewsSto), 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  EXPECT_NEAR(ef->objective, -4.5, 1e-9);
  EXPECT_NEAR(ef->x(0), 3, 1e-9);
}

TEST(SolveExtensiveForm, AddsTheObjectiveConstant) {
  std::string core = kNewsCore;
  core.replace(core.find(" RHS DEMAND 3"), 0, " RHS OBJ 2\n");
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news_const.cor", core), WriteFile("news.tim", kNewsTime),
               WriteFile("news.sto", kNewsSto), 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->objective_constant, -2);
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  EXPECT_NEAR(ef->objective, -6.5, 1e-9);
}

TEST(SolveExtensiveForm, ReportsAnInfeasibleProgram) {
  std::string core = kNewsCore;
  // Demand row becomes an equality the sales cannot meet when x <= 0.
  core.replace(core.find(" L DEMAND"), 9, " E DEMAND");
  core.replace(core.find(" RHS CAPX 100"), 13, " RHS CAPX 0.5");
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news_inf.cor", core), WriteFile("news.tim", kNewsTime),
               WriteFile("news.sto", kNewsSto), 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  EXPECT_EQ(ef.status().code(), absl::StatusCode::kFailedPrecondition) << ef.status();
  EXPECT_THAT(ef.status().message(), HasSubstr("infeasible"));
}

TEST(ReadSmps, EnumeratesTheProductOfIndependentDistributions) {
  const std::string sto = WriteFile("news_product.sto",
                                    "STOCH NEWS\n"
                                    "INDEP DISCRETE\n"
                                    " RHS DEMAND 1 0.25\n"
                                    " RHS DEMAND 5 0.75\n"
                                    " Y OBJ -2 P2 0.5\n"
                                    " Y OBJ -4 P2 0.2\n"
                                    " Y OBJ -6 P2 0.3\n"
                                    "INDEP DISCRETE ADD\n"
                                    " X SELL 0.5 P2 1\n"
                                    "ENDATA\n");
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news.cor", kNewsCore), WriteFile("news.tim", kNewsTime), sto, 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->scenarios.size(), 6u);
  EXPECT_EQ(p->distribution_size, 6);
  EXPECT_FALSE(p->sampled);
  double total = 0;
  for (const Scenario& s : p->scenarios) total += s.probability;
  EXPECT_NEAR(total, 1, 1e-12);
  // The last distribution varies fastest: scenario 4 = (demand 5, cost -4, T += 0.5).
  const Scenario& s = p->scenarios[4];
  EXPECT_NEAR(s.probability, 0.75 * 0.2, 1e-15);
  ASSERT_EQ(s.changes.size(), 3u);  // sorted: rhs, technology, cost
  EXPECT_EQ(s.changes[0].kind, Change::Kind::kRhs);
  EXPECT_EQ(s.changes[0].value, 5);
  EXPECT_EQ(s.changes[1].kind, Change::Kind::kTechnology);
  EXPECT_EQ(s.changes[1].value, -0.5);  // ADD: core -1 + 0.5
  EXPECT_EQ(s.changes[2].kind, Change::Kind::kCost);
  EXPECT_EQ(s.changes[2].value, -4);
  const ScenarioRecourse r = ApplyScenario(*p, 4);
  EXPECT_EQ(r.q(0), -4);
  EXPECT_EQ(r.t.coeff(0, 0), -0.5);
  EXPECT_EQ(r.row_upper(1), 5);
  EXPECT_EQ(r.row_lower(1), -kInf);
}

TEST(ReadSmps, BlockRealizationsInheritTheFirstRealization) {
  const std::string sto = WriteFile("news_blocks.sto",
                                    "STOCH NEWS\n"
                                    "BLOCKS DISCRETE\n"
                                    " BL B1 P2 0.6\n"
                                    "    RHS DEMAND 2 SELL 1\n"
                                    " BL B1 P2 0.4\n"
                                    "    RHS DEMAND 4\n"
                                    " BL B2 P2 0.5\n"
                                    "    Y OBJ -5\n"
                                    " BL B2 P2 0.5\n"
                                    "    Y OBJ -1\n"
                                    "ENDATA\n");
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news.cor", kNewsCore), WriteFile("news.tim", kNewsTime), sto, 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->scenarios.size(), 4u);
  // Scenario 2 = (B1 second realization, B2 first): demand 4, SELL rhs 1 inherited.
  const ScenarioRecourse r = ApplyScenario(*p, 2);
  EXPECT_EQ(r.row_upper(1), 4);
  EXPECT_EQ(r.row_upper(0), 1);
  EXPECT_EQ(r.q(0), -5);
  EXPECT_NEAR(p->scenarios[2].probability, 0.2, 1e-15);
}

TEST(ReadSmps, ReadsTwoStageScenarios) {
  const std::string sto = WriteFile("news_scen.sto",
                                    "NAME NEWS\n"
                                    "SCENARIOS DISCRETE REPLACE\n"
                                    " SC S1 ROOT 0.3 P2\n"
                                    "    RHS DEMAND 1\n"
                                    " SC S2 ROOT 0.7 P2\n"
                                    "    RHS DEMAND 2\n"
                                    "    Y OBJ -10\n"
                                    "ENDATA\n");
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(WriteFile("news.cor", kNewsCore), WriteFile("news.tim", kNewsTime), sto, 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->scenarios.size(), 2u);
  EXPECT_EQ(p->scenarios[0].probability, 0.3);
  EXPECT_EQ(p->scenarios[1].changes.size(), 2u);
  // x = 2 sells min(x, d): 2 - (0.3 * 3 * 1 + 0.7 * 10 * 2) = -12.9.
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  EXPECT_NEAR(ef->objective, -12.9, 1e-9);
}

// The first 12 demands drawn with seed 7 (pinned after the first run).
constexpr char kSeed7Draws[] = "551511553353";

TEST(ReadSmps, SamplesDeterministicallyBySeed) {
  const std::string cor = WriteFile("news.cor", kNewsCore);
  const std::string tim = WriteFile("news.tim", kNewsTime);
  const std::string sto = WriteFile("news.sto", kNewsSto);
  absl::StatusOr<TwoStageProgram> a = ReadSmps(cor, tim, sto, 4000, 7);
  absl::StatusOr<TwoStageProgram> b = ReadSmps(cor, tim, sto, 4000, 7);
  absl::StatusOr<TwoStageProgram> c = ReadSmps(cor, tim, sto, 4000, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status() << b.status() << c.status();
  ASSERT_EQ(a->scenarios.size(), 4000u);
  EXPECT_TRUE(a->sampled);
  double total = 0;
  int counts[6] = {0};
  bool differs = false;
  for (size_t j = 0; j < a->scenarios.size(); ++j) {
    total += a->scenarios[j].probability;
    const double d = a->scenarios[j].changes.at(0).value;
    EXPECT_EQ(d, b->scenarios[j].changes.at(0).value) << j;
    differs |= d != c->scenarios[j].changes.at(0).value;
    ++counts[static_cast<int>(d)];
  }
  EXPECT_NEAR(total, 1, 1e-9);
  EXPECT_TRUE(differs);
  // Frequencies 0.25 / 0.5 / 0.25 within 5 standard deviations (~0.034).
  EXPECT_NEAR(counts[1] / 4000.0, 0.25, 0.035);
  EXPECT_NEAR(counts[3] / 4000.0, 0.5, 0.04);
  EXPECT_NEAR(counts[5] / 4000.0, 0.25, 0.035);
  // The first draws of seed 7 are pinned so that a change of the drawing rule shows.
  std::string first;
  for (int j = 0; j < 12; ++j) absl::StrAppend(&first, a->scenarios[j].changes[0].value);
  EXPECT_EQ(first, kSeed7Draws);
}

// Errors.

struct BadInput {
  std::string what, cor, tim, sto;
  absl::StatusCode code;
  std::string message;
};

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) return "replacement target not found: " + from;
  return text.replace(at, from.size(), to);
}

TEST(ReadSmps, ReportsMalformedInputWithFileAndLine) {
  const std::vector<BadInput> cases = {
      {"bad number", Replace(kNewsCore, " X OBJ 1 CAPX 1", " X OBJ 1x CAPX 1"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:8: field 3 is not a finite number"},
      {"unknown row", Replace(kNewsCore, " X SELL -1", " X SEL -1"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:9: field 2 names an unknown row"},
      {"row type", Replace(kNewsCore, " L SELL", " K SELL"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:5: field 1 is not a row type"},
      {"bound type", Replace(kNewsCore, "RHS\n", "BOUNDS\n SC BND X 1\nRHS\n"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:13: field 1: this bound type is not supported"},
      {"section", Replace(kNewsCore, "RHS\n", "OBJSENSE\n MAX\nRHS\n"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:12: this section is not supported"},
      {"no ENDATA", Replace(kNewsCore, "ENDATA\n", ""), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor: no ENDATA"},
      {"time column", kNewsCore, Replace(kNewsTime, " Y SELL P2", " Z SELL P2"), kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.tim:4: field 1 names an unknown column"},
      {"three stages", kNewsCore, Replace(kNewsTime, " Y SELL P2\n", " Y SELL P2\n Y DEMAND P3\n"),
       kNewsSto, absl::StatusCode::kInvalidArgument,
       "bad.tim: 3 periods; only two-stage problems are supported"},
      {"explicit", kNewsCore, Replace(kNewsTime, "PERIODS", "PERIODS EXPLICIT"), kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.tim:2: PERIODS EXPLICIT is not supported"},
      {"sto period", kNewsCore, kNewsTime, Replace(kNewsSto, "3 P2 0.5", "3 P3 0.5"),
       absl::StatusCode::kInvalidArgument, "bad.sto:4: field 4 is not the second period"},
      {"probabilities", kNewsCore, kNewsTime, Replace(kNewsSto, "3 P2 0.5", "3 P2 0.4"),
       absl::StatusCode::kInvalidArgument, "bad.sto:3: the probabilities of the INDEP element of line 3"},
      {"first-stage row", kNewsCore, kNewsTime, Replace(kNewsSto, "DEMAND 1 P2", "CAPX 1 P2"),
       absl::StatusCode::kInvalidArgument, "bad.sto:3: field 2 names a row in the first stage"},
      {"first-stage cost", kNewsCore, kNewsTime,
       Replace(kNewsSto, " RHS DEMAND 1 P2", " X OBJ 1 P2"), absl::StatusCode::kInvalidArgument,
       "bad.sto:3: field 1 names a first-stage column"},
      {"SC parent", kNewsCore, kNewsTime,
       "STOCH\nSCENARIOS DISCRETE\n SC S1 ROOT 1 P2\n RHS DEMAND 1\n SC S2 S1 0.5 P2\nENDATA\n",
       absl::StatusCode::kInvalidArgument, "bad.sto:5: field 3: the scenario branches from another scenario"},
      {"continuous", kNewsCore, kNewsTime, "STOCH\nINDEP NORMAL\n RHS DEMAND 1 1\nENDATA\n",
       absl::StatusCode::kInvalidArgument, "bad.sto:2: field 2: this distribution is not supported"},
      {"entry shape", kNewsCore, kNewsTime,
       Replace(kNewsSto, " RHS DEMAND 1 P2 0.25", " RHS DEMAND"),
       absl::StatusCode::kInvalidArgument,
       "bad.sto:3: expected 'name row value [period] probability'"},
  };
  for (const BadInput& c : cases) {
    absl::StatusOr<TwoStageProgram> p =
        ReadSmps(WriteFile("bad.cor", c.cor), WriteFile("bad.tim", c.tim),
                 WriteFile("bad.sto", c.sto), 0, 0);
    EXPECT_EQ(p.status().code(), c.code) << c.what << ": " << p.status();
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(c.message)) << c.what;
    // Errors go to clients and never quote the file's content.
    if (c.message.find("expected '") == std::string::npos) {
      EXPECT_THAT(std::string(p.status().message()), Not(HasSubstr("'"))) << c.what;
    }
  }
}

TEST(ReadSmps, MissingFileIsNotFound) {
  const std::string cor = WriteFile("news.cor", kNewsCore);
  const std::string tim = WriteFile("news.tim", kNewsTime);
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(cor, tim, ::testing::TempDir() + "/no_such.sto", 0, 0);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound) << p.status();
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("no_such.sto"));
}

TEST(ReadSmps, TooManyScenariosNeedASample) {
  std::string sto = "STOCH\nINDEP DISCRETE\n";
  // Two distributions of 400 values each: 160000 scenarios.
  for (const char* row : {"DEMAND", "SELL"}) {
    for (int k = 0; k < 400; ++k) absl::StrAppend(&sto, " RHS ", row, " ", k, " 0.0025\n");
  }
  sto += "ENDATA\n";
  const std::string cor = WriteFile("news.cor", kNewsCore);
  const std::string tim = WriteFile("news.tim", kNewsTime);
  const std::string sto_path = WriteFile("big.sto", sto);
  absl::StatusOr<TwoStageProgram> p = ReadSmps(cor, tim, sto_path, 0, 0);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("160000 scenarios"));
  p = ReadSmps(cor, tim, sto_path, 10, 1);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scenarios.size(), 10u);
  EXPECT_EQ(p->distribution_size, 160000);
}

TEST(ReadSmpsFiles, ResolvesPathsUnderTheDataRoot) {
  WriteFile("news.cor", kNewsCore);
  WriteFile("news.tim", kNewsTime);
  WriteFile("news.sto", kNewsSto);
  v1::SmpsFiles files;
  files.set_cor("news.cor");
  files.set_tim("news.tim");
  files.set_sto("news.sto");
  absl::StatusOr<TwoStageProgram> p = ReadSmpsFiles(files, ::testing::TempDir());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scenarios.size(), 3u);
  files.set_sto("../outside.sto");
  p = ReadSmpsFiles(files, ::testing::TempDir());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied) << p.status();
  files.set_tim("");
  p = ReadSmpsFiles(files, ::testing::TempDir());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("problem.smps.tim is empty"));
}

// Clp takes neither NaN nor infinite coefficients, and numbers far beyond its own
// infinity (1e27 on load, DBL_MAX in its arrays) abort it; the reader refuses every
// number whose magnitude exceeds 1e20, naming file, line and field, before Clp sees
// it. An RHS of 1e300 aborted aia run --in_process and its workers.
TEST(ReadSmps, RefusesNumbersClpCannotTake) {
  const std::vector<BadInput> cases = {
      {"core rhs", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND 1e300"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:14: field 3"},
      {"core rhs 1e101", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND -1e101"), kNewsTime,
       kNewsSto, absl::StatusCode::kInvalidArgument, "bad.cor:14: field 3"},
      {"cost", Replace(kNewsCore, " Y OBJ -3 SELL 1", " Y OBJ -1e101 SELL 1"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:10: field 3"},
      {"coefficient", Replace(kNewsCore, " Y OBJ -3 SELL 1", " Y OBJ -3 SELL 1e21"), kNewsTime,
       kNewsSto, absl::StatusCode::kInvalidArgument, "bad.cor:10: field 5"},
      {"range", Replace(kNewsCore, "ENDATA", "RANGES\n RNG DEMAND 1e308\nENDATA"), kNewsTime,
       kNewsSto, absl::StatusCode::kInvalidArgument, "bad.cor:16: field 3"},
      {"bound", Replace(kNewsCore, "ENDATA", "BOUNDS\n LO BND Y 1e25\nENDATA"), kNewsTime,
       kNewsSto, absl::StatusCode::kInvalidArgument, "bad.cor:16: field 4"},
      {"nan", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND nan"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:14: field 3"},
      {"inf", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND inf"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:14: field 3"},
      {"overflow", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND 1e400"), kNewsTime, kNewsSto,
       absl::StatusCode::kInvalidArgument, "bad.cor:14: field 3"},
      {"sto value", kNewsCore, kNewsTime, Replace(kNewsSto, "DEMAND 3 P2", "DEMAND 1e300 P2"),
       absl::StatusCode::kInvalidArgument, "bad.sto:4: field 3"},
      {"sto multiply", Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND 1e19"), kNewsTime,
       "STOCH\nINDEP DISCRETE MULTIPLY\n RHS DEMAND 1e19 1\nENDATA\n",
       absl::StatusCode::kInvalidArgument, "bad.sto:3: field 3"},
  };
  for (const BadInput& c : cases) {
    absl::StatusOr<TwoStageProgram> p =
        ReadSmps(WriteFile("bad.cor", c.cor), WriteFile("bad.tim", c.tim),
                 WriteFile("bad.sto", c.sto), 0, 0);
    EXPECT_EQ(p.status().code(), c.code) << c.what << ": " << p.status();
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(c.message)) << c.what;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("1e20")) << c.what;
  }
  // The bound itself is fine, and bounds at or beyond 1e30 in their infinite
  // direction are infinite (the MPS convention).
  absl::StatusOr<TwoStageProgram> p = ReadSmps(
      WriteFile("edge.cor", Replace(Replace(kNewsCore, " RHS DEMAND 3", " RHS DEMAND 3 CAPX 1e20"),
                                    "ENDATA", "BOUNDS\n UP BND X 1e30\n LO BND Y -1e31\nENDATA")),
      WriteFile("edge.tim", kNewsTime), WriteFile("edge.sto", kNewsSto), 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->first.upper(0), kInf);
  EXPECT_EQ(p->y_lower(0), -kInf);
  EXPECT_TRUE(SolveExtensiveForm(*p).ok());
}

// Debian's coinor-libcoinutils-dev ships `bug`, a two-stage SCENARIOS instance:
// min x1+x2+x3 + E[0.5 (y4+y5+y6)] with covering rows; buying y5 = 1 in each
// scenario (0.5) beats any first-stage purchase (x2 costs 1), so the optimum is 0.5.
TEST(ReadSmps, SolvesDebianBug) {
  const std::string dir = "/usr/share/coin/Data/Sample/";
  if (!std::ifstream(dir + "bug.cor")) GTEST_SKIP() << "coinor-libcoinutils-dev samples absent";
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "bug.cor", dir + "bug.time", dir + "bug.stoch", 0, 0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->scenarios.size(), 2u);
  EXPECT_EQ(p->x_names.size(), 3u);
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  EXPECT_NEAR(ef->objective, 0.5, 1e-9);
}

TEST(ReadSmps, RejectsDebianThreeStageApp0110) {
  const std::string dir = "/usr/share/coin/Data/Sample/";
  if (!std::ifstream(dir + "app0110.cor")) GTEST_SKIP() << "coinor-libcoinutils-dev samples absent";
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "app0110.cor", dir + "app0110.time", dir + "app0110.stoch", 0, 0);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("app0110.time: 3 periods; only two-stage problems are supported"));
}

// Shared data: reference values from the shared data folder's README.md.

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(SharedData, LandSExtensiveForm) {
  REQUIRE_SHARED_DATA(root);
  const std::string dir = root + "/smps/slptestset/electric/";
  for (const char* sto : {"lands.sto", "lands-blocks.sto"}) {
    absl::StatusOr<TwoStageProgram> p =
        ReadSmps(dir + "lands.cor", dir + "lands.tim", dir + sto, 0, 0);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->scenarios.size(), 3u);
    absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
    ASSERT_TRUE(ef.ok()) << ef.status();
    EXPECT_NEAR(ef->objective, 381.853333, 381.853333 * 1e-6) << sto;
  }
}

TEST(SharedData, StormG2ExtensiveForm) {
  REQUIRE_SHARED_DATA(root);
  const std::string dir = root + "/smps/posts/storm/";
  const struct {
    const char* sto;
    size_t scenarios;
    double optimum;
  } cases[] = {{"stormg2-8.sto", 8, 15535235.7301}, {"stormg2-27.sto", 27, 15508982.3055}};
  for (const auto& c : cases) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<TwoStageProgram> p =
        ReadSmps(dir + "stormg2.cor", dir + "stormg2.tim", dir + c.sto, 0, 0);
    ASSERT_TRUE(p.ok()) << p.status();
    const double read_seconds = Seconds(start);
    EXPECT_EQ(p->scenarios.size(), c.scenarios);
    EXPECT_EQ(p->x_names.size(), 121u);
    EXPECT_EQ(p->y_names.size(), 1259u);
    EXPECT_EQ(p->first_row_names.size(), 185u);
    EXPECT_EQ(p->second_row_names.size(), 528u);
    absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
    ASSERT_TRUE(ef.ok()) << ef.status();
    EXPECT_NEAR(ef->objective, c.optimum, c.optimum * 1e-6) << c.sto;
    std::printf("%s: read %.3f s, extensive form %.3f s, optimum %.4f\n", c.sto, read_seconds,
                ef->seconds, ef->objective);
  }
}

TEST(SharedData, SamplesWrightLandS) {
  REQUIRE_SHARED_DATA(root);
  const std::string dir = root + "/smps/wright/lands/";
  absl::StatusOr<TwoStageProgram> all =
      ReadSmps(dir + "lands.cor", dir + "lands.tim", dir + "lands.sto", 0, 0);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(all.status().message()), HasSubstr("set smps.sample"));
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(dir + "lands.cor", dir + "lands.tim", dir + "lands.sto", 100, 42);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->distribution_size, 1e6);
  EXPECT_EQ(p->scenarios.size(), 100u);
  EXPECT_EQ(p->x_names.size(), 4u);
  double total = 0;
  for (const Scenario& s : p->scenarios) total += s.probability;
  EXPECT_NEAR(total, 1, 1e-12);
  absl::StatusOr<ExtensiveFormSolution> ef = SolveExtensiveForm(*p);
  ASSERT_TRUE(ef.ok()) << ef.status();
  // The sampled optimum estimates the published 225.62 (a 100-scenario sample
  // is within a few percent).
  EXPECT_NEAR(ef->objective, 225.62, 15);
}

// Every two-stage instance of the shared data reads (sampled where the
// distribution is large); three-stage ones are rejected naming the .tim file.
TEST(SharedData, ReadsEveryInstance) {
  REQUIRE_SHARED_DATA(root);
  const std::string s = root + "/smps/";
  const struct {
    std::string cor, tim, sto;
    size_t n1;
  } two_stage[] = {
      {"wright/lands/lands.cor", "wright/lands/lands.tim", "wright/lands/lands.sto", 4},
      {"wright/gbd/gbd.cor", "wright/gbd/gbd.tim", "wright/gbd/gbd.sto", 0},
      {"wright/ssn/ssn.cor", "wright/ssn/ssn.tim", "wright/ssn/ssn.sto", 89},
      {"wright/20term/20.cor", "wright/20term/20.tim", "wright/20term/20.sto", 63},
      {"wright/storm/storm.cor", "wright/storm/storm.tim", "wright/storm/storm.sto", 121},
      {"posts/storm/stormg2.cor", "posts/storm/stormg2.tim", "posts/storm/stormg2-125.sto", 121},
      {"posts/storm/stormg2.cor", "posts/storm/stormg2.tim", "posts/storm/stormg2-1000.sto", 121},
      {"slptestset/assets/assets.cor", "slptestset/assets/assets.tim",
       "slptestset/assets/assets-small.sto", 0},
      {"slptestset/assets/assets.cor", "slptestset/assets/assets.tim",
       "slptestset/assets/assets-large.sto", 0},
      {"slptestset/chem/chem.cor", "slptestset/chem/chem.tim", "slptestset/chem/chem.sto", 0},
      {"slptestset/phone/phone.cor", "slptestset/phone/phone.tim", "slptestset/phone/phone.sto", 0},
      {"slptestset/stocfor2/stocfor2.cor", "slptestset/stocfor2/stocfor2.tim",
       "slptestset/stocfor2/stocfor2.sto", 0},
      {"coin-stochastic/bug.cor", "coin-stochastic/bug.time", "coin-stochastic/bug.stoch", 3},
      {"coin-stochastic/prod_mixR.cor", "coin-stochastic/prod_mixR.time",
       "coin-stochastic/prod_mixR.stoch", 0},
  };
  for (const auto& c : two_stage) {
    absl::StatusOr<TwoStageProgram> p = ReadSmps(s + c.cor, s + c.tim, s + c.sto, 0, 0);
    if (!p.ok() && absl::StrContains(p.status().message(), "set smps.sample")) {
      p = ReadSmps(s + c.cor, s + c.tim, s + c.sto, 20, 1);
    }
    ASSERT_TRUE(p.ok()) << c.sto << ": " << p.status();
    if (c.n1 > 0) {
      EXPECT_EQ(p->x_names.size(), c.n1) << c.cor;
    }
    std::printf("%-40s %4zu x %4zu first, %5zu x %5zu second, %g scenarios%s\n", c.sto.c_str(),
                p->first_row_names.size(), p->x_names.size(), p->second_row_names.size(),
                p->y_names.size(), p->distribution_size, p->sampled ? " (sampled 20)" : "");
  }
  for (const char* name : {"KandW3R", "app0110R", "wat_10_C_32"}) {
    const std::string base = s + "coin-stochastic/" + name;
    absl::StatusOr<TwoStageProgram> p =
        ReadSmps(base + ".cor", base + ".time", base + ".stoch", 0, 0);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(absl::StrCat(name, ".time: ")))
        << p.status();
  }
  absl::StatusOr<TwoStageProgram> p =
      ReadSmps(s + "slptestset/stocfor3/stocfor3.cor", s + "slptestset/stocfor3/stocfor3.tim",
               s + "slptestset/stocfor3/stocfor3.sto", 0, 0);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("stocfor3.tim: 7 periods"));
}

}  // namespace
}  // namespace aia
