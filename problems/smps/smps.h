// Two-stage stochastic linear programs in SMPS format: the core (.cor, MPS),
// time (.tim) and stochastics (.sto) files, read into a TwoStageProgram
//
//   min  c'x + sum_j p_j q_j'y_j + objective_constant
//   s.t. row_lower(A) <= A x <= row_upper(A),            lower <= x <= upper
//        row_lower_j  <= T_j x + W_j y_j <= row_upper_j,  y_lower <= y_j <= y_upper
//
// where scenario j differs from the core (q, T, W, row bounds) by its Changes.
//
// Example:
//   ASSIGN_OR_RETURN(TwoStageProgram program,
//                    ReadSmps("/srv/data/smps/posts/storm/stormg2.cor",
//                             "/srv/data/smps/posts/storm/stormg2.tim",
//                             "/srv/data/smps/posts/storm/stormg2-8.sto",
//                             /*sample=*/0, /*seed=*/0));
//   ASSIGN_OR_RETURN(ExtensiveFormSolution ef, SolveExtensiveForm(program));
//   // ef.objective == 15535235.7301 (to 1e-6 relative)
//
// What is read (anything else is InvalidArgument "file:line: what"):
//   .cor  MPS sections NAME, ROWS (N, E, L, G), COLUMNS, RHS, RANGES, BOUNDS,
//         ENDATA. Fields are separated by blanks (free MPS; fixed-format files
//         whose names contain no blanks read the same). A line with '*' in
//         column 1 is a comment; blank lines are skipped; CRLF is fine; a file
//         whose first line is indented has that indent taken off every line
//         (stocfor3.cor). The
//         objective is the first N row; other N rows are dropped. MARKER lines
//         in COLUMNS are skipped (integrality is ignored: this is an LP). The
//         RHS/RANGES/BOUNDS set name is optional. Bound types: UP, LO, FX, FR,
//         MI, PL, BV ([0, 1]), LI and UI (as LO and UP); an UP bound below 0 on
//         a column whose lower bound is still 0 makes the lower bound -inf (the
//         usual MPS rule). RANGES R on row with rhs b: E gives [b, b+|R|] if
//         R > 0 and [b-|R|, b] if R < 0; L gives [b-|R|, b]; G gives [b, b+|R|].
//         An RHS value v on the objective row gives objective_constant = -v
//         (the convention of Clp, CPLEX and the SMPS papers).
//         Numbers: every value (costs, coefficients, RHS, RANGES, bounds, .sto
//         values, and a .sto value combined with the core by ADD or MULTIPLY)
//         must be finite with magnitude at most kMaxLpMagnitude = 1e20
//         (problems/lp_values.h: what Clp takes without numerical failure),
//         except that an UP (UI) bound >= 1e30 means +infinity and a LO (LI)
//         bound <= -1e30 means -infinity (CoinMpsIO's convention). Anything
//         else is InvalidArgument "file:line: field N ...".
//   .tim  TIME (or NAME), PERIODS [LP | IMPLICIT], then one line per period
//         "column row period" naming the first column and first row of each
//         period in core order, ENDATA. Exactly two periods, the first starting
//         at the first column and row (or naming the objective row, as
//         stocfor2.tim does); PERIODS EXPLICIT is not supported.
//   .sto  STOCH (or NAME), then sections (all DISCRETE; an option REPLACE (the
//         default), ADD or MULTIPLY says how a value combines with the core):
//         INDEP   "name row value [period] probability": one independent
//                 distribution per (name, row) element.
//         BLOCKS  "BL block period probability" opens a realization of the
//                 block; entries "name row value [row value]" follow. Blocks
//                 are independent of each other; a realization inherits the
//                 entries of the block's first realization that it does not
//                 list itself.
//         SCENARIOS "SC scenario ROOT probability period" then entries as in
//                 BLOCKS (REPLACE and ADD are relative to the core); each
//                 scenario's parent must be ROOT (two stages). The list is one
//                 more independent distribution, whose realizations are the
//                 scenarios.
//         An entry's name is a column of the core (then `row` is a row, or the
//         objective row for a cost), else the name of an RHS set (then the
//         value is the right-hand side of `row`). Only second-stage elements
//         may be random: q, T, W and second-stage right-hand sides (a random
//         right-hand side moves both bounds of a ranged row). Each
//         distribution's (or the scenario list's) probabilities must sum to 1
//         within 1e-3; they are then divided by their sum.
//
// Scenarios: the product of the independent distributions (INDEP elements and
// BLOCKS), or the SCENARIOS list. With sample == 0 every scenario is
// enumerated (at most kMaxEnumeratedScenarios of them, else InvalidArgument
// asking for a sample). With sample > 0, `sample` scenarios are drawn
// independently (duplicates possible), each with probability 1/sample, from a
// std::mt19937_64 seeded with `seed`: each draw takes, for each distribution in
// file order (or once from the SCENARIOS list), u = (engine() >> 11) * 2^-53
// and the first realization whose cumulative probability exceeds u (the last
// one if rounding leaves none). This is the same on every platform.
//
// Thread safety: the functions keep no state and may be called from several
// threads at once.
#ifndef AIA_PROBLEMS_SMPS_SMPS_H_
#define AIA_PROBLEMS_SMPS_SMPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "Eigen/SparseCore"
#include "absl/status/statusor.h"
#include "base/eigen.h"
#include "problems/problem.h"
#include "proto/problems.pb.h"

namespace aia {

// Enumerating more scenarios than this needs a sample instead.
inline constexpr int64_t kMaxEnumeratedScenarios = 100'000;

using SparseRowMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor>;

// One element of a scenario that differs from the core.
struct Change {
  enum class Kind {
    kRhs,         // right-hand side of second-stage row `row` (0-based in stage 2)
    kTechnology,  // T(row, col): col is a first-stage column
    kRecourse,    // W(row, col): col is a second-stage column
    kCost,        // q(col): col is a second-stage column (`row` is -1)
  };
  Kind kind = Kind::kRhs;
  int row = -1;
  int col = -1;
  // The scenario's value of the element (already combined with the core for
  // ADD and MULTIPLY).
  double value = 0;
};

struct Scenario {
  // p_j >= 0; the probabilities of all scenarios sum to 1 (up to rounding).
  double probability = 0;
  // At most one change per element, sorted by (kind, row, col).
  std::vector<Change> changes;
};

// Stage 1 is x (n1 columns, m1 rows), stage 2 is y (n2 columns, m2 rows);
// rows and columns keep their core order within each stage. Infinite bounds
// are +-infinity.
struct TwoStageProgram {
  std::string name;  // from NAME in the core file
  // c (n1), A (m1 x n1), row bounds (m1), x bounds (n1).
  LinearConstraints first;
  // Second stage with core values: q (n2), T (m2 x n1), W (m2 x n2).
  Vector q;
  SparseRowMatrix t, w;
  // Row bounds of T x + W y (m2), the core right-hand side of each row (m2;
  // a kRhs change to value v shifts both bounds of row r by v - rhs(r)), and
  // y bounds (n2).
  Vector row_lower, row_upper, rhs;
  Vector y_lower, y_upper;
  std::vector<Scenario> scenarios;
  // Added to the objective: minus the RHS of the objective row (0 if none).
  double objective_constant = 0;
  // Names in core order, for messages.
  std::vector<std::string> x_names, y_names, first_row_names, second_row_names;
  // How many scenarios the distribution has (a double: it may be huge), and
  // whether `scenarios` is a sample of it.
  double distribution_size = 0;
  bool sampled = false;
};

// One scenario's second-stage data with its changes applied.
struct ScenarioRecourse {
  Vector q;
  SparseRowMatrix t, w;
  Vector row_lower, row_upper;
};

// Reads the three files (paths used as given; see above). `sample` >= 0.
// Errors: NotFound (a file cannot be opened, with the path and the system's
// reason), InvalidArgument ("path:line: what" for content; a problem with more
// than two periods, naming the .tim file; too many scenarios to enumerate).
absl::StatusOr<TwoStageProgram> ReadSmps(const std::string& cor_path, const std::string& tim_path,
                                         const std::string& sto_path, int64_t sample,
                                         uint64_t seed);

// ReadSmps on files.cor, .tim and .sto, each opened with OpenBeneath under
// `data_root` (so also PermissionDenied for a path outside it; errors name the
// files "<data_root>/" + the path as given), with
// files.sample and files.seed. InvalidArgument names a missing field
// ("problem.smps.tim is empty") or a negative sample.
absl::StatusOr<TwoStageProgram> ReadSmpsFiles(const v1::SmpsFiles& files,
                                              const std::string& data_root);

// Scenario j's q, T, W and row bounds (0 <= j < scenarios.size()).
ScenarioRecourse ApplyScenario(const TwoStageProgram& program, int64_t j);

struct ExtensiveFormSolution {
  // The optimal value, objective_constant included.
  double objective = 0;
  // An optimal first-stage x (n1).
  Vector x;
  double seconds = 0;  // wall time of the Clp solve
};

// Builds the deterministic equivalent (x, then y_j for each scenario) and
// solves it with Clp's dual simplex (log level 0). Errors: FailedPrecondition
// if it is infeasible or unbounded, Aborted if Clp stops without an answer.
absl::StatusOr<ExtensiveFormSolution> SolveExtensiveForm(const TwoStageProgram& program);

}  // namespace aia

#endif  // AIA_PROBLEMS_SMPS_SMPS_H_
