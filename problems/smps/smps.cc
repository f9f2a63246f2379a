#include "problems/smps/smps.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ClpSimplex.hpp"
#include "CoinPackedMatrix.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "problems/lp_values.h"
#include "problems/readers.h"

namespace aia {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One data line of an SMPS file: its 1-based number, blank-separated tokens,
// and whether it opens a section (a non-blank first character).
struct Line {
  int number = 0;
  bool header = false;
  std::vector<std::string> tokens;
};

struct File {
  std::string path;
  std::vector<Line> lines;
};

// SMPS files larger than this are refused (stormG2-1000's is 6 MB).
constexpr int64_t kMaxSmpsFileBytes = int64_t{1} << 30;

absl::StatusOr<File> ReadLines(OpenedFile opened) {
  File file{opened.name(), {}};
  ASSIGN_OR_RETURN(const std::string content, ReadWholeFile(std::move(opened), kMaxSmpsFileBytes));
  int number = 0;
  // stocfor3.cor indents every line, its NAME line included, by one blank: the
  // first line's indent is taken off every line.
  size_t indent = std::string::npos;
  std::vector<absl::string_view> all_lines = absl::StrSplit(content, '\n');
  if (!all_lines.empty() && all_lines.back().empty()) all_lines.pop_back();
  for (absl::string_view view : all_lines) {
    std::string text(view);
    ++number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '*') continue;
    if (indent == std::string::npos) {
      indent = text.find_first_not_of(" \t");
      if (indent == std::string::npos) continue;
    }
    if (indent > 0 && text.find_first_not_of(" \t") >= indent) text.erase(0, indent);
    if (text.empty() || text[0] == '*') continue;
    std::vector<std::string> tokens =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (tokens.empty()) continue;
    file.lines.push_back(Line{number, text[0] != ' ' && text[0] != '\t', std::move(tokens)});
  }
  return file;
}

absl::Status LineError(const File& file, const Line& line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file.path, ":", line.number, ": ", what));
}

// Numbers at or beyond this in a bound's infinite direction (UP, LO) mean
// infinity, as in CoinMpsIO.
constexpr double kMpsInfinity = 1e30;

// Field `index` (0-based) of `line` as a finite number of any size.
absl::StatusOr<double> ParseAnyNumber(const File& file, const Line& line, size_t index) {
  double value;
  if (!absl::SimpleAtod(line.tokens[index], &value) || !std::isfinite(value)) {
    return LineError(file, line, absl::StrCat("field ", index + 1, " is not a finite number (of magnitude at most ",
                                     kMaxLpMagnitudeText, ")"));
  }
  return value;
}

absl::Status CheckMagnitude(const File& file, const Line& line, size_t index, double value,
                            absl::string_view how = "") {
  if (IsLpNumber(value)) return absl::OkStatus();
  return LineError(file, line,
                   absl::StrCat("field ", index + 1, how, " is beyond +-", kMaxLpMagnitudeText,
                                ", the largest magnitude accepted (Clp's numerics)"));
}

// Field `index` (0-based) of `line`: a finite number of magnitude at most
// kMaxLpMagnitude.
absl::StatusOr<double> ParseNumber(const File& file, const Line& line, size_t index) {
  ASSIGN_OR_RETURN(double value, ParseAnyNumber(file, line, index));
  RETURN_IF_ERROR(CheckMagnitude(file, line, index, value));
  return value;
}

std::string Upper(absl::string_view s) { return absl::AsciiStrToUpper(s); }

// ---------------------------------------------------------------------------
// The core file.

struct Core {
  std::string name;
  std::string objective;  // the first N row
  absl::flat_hash_set<std::string> free_rows;
  std::vector<std::string> row_names;
  std::vector<char> row_type;  // 'E', 'L', 'G'
  absl::flat_hash_map<std::string, int> row_index;
  std::vector<std::string> col_names;
  absl::flat_hash_map<std::string, int> col_index;
  std::vector<double> cost;
  // Constraint coefficients, keyed by (row, col).
  std::map<std::pair<int, int>, double> entries;
  std::vector<double> rhs, range;
  std::vector<bool> has_range;
  std::vector<double> lower, upper;
  double objective_rhs = 0;
};

absl::StatusOr<Core> ReadCore(const File& file) {
  const std::string& path = file.path;
  Core core;
  std::string section;
  bool ended = false;
  // Columns given a lower bound explicitly (for the negative UP bound rule).
  std::vector<bool> lower_set;
  for (const Line& line : file.lines) {
    const std::vector<std::string>& t = line.tokens;
    if (ended) return LineError(file, line, "data after ENDATA");
    if (line.header) {
      section = Upper(t[0]);
      if (section == "NAME") {
        core.name = t.size() > 1 ? t[1] : "";
      } else if (section == "ENDATA") {
        ended = true;
      } else if (section != "ROWS" && section != "COLUMNS" && section != "RHS" &&
                 section != "RANGES" && section != "BOUNDS") {
        return LineError(file, line,
                         "this section is not supported (expected NAME, ROWS, COLUMNS, RHS, "
                         "RANGES, BOUNDS or ENDATA)");
      }
      continue;
    }
    if (section == "ROWS") {
      if (t.size() != 2) return LineError(file, line, "expected 'type name' in ROWS");
      const std::string type = Upper(t[0]);
      const std::string& name = t[1];
      if (core.row_index.contains(name) || core.free_rows.contains(name) ||
          name == core.objective) {
        return LineError(file, line, "field 2: this row is defined twice");
      }
      if (type == "N") {
        if (core.objective.empty()) {
          core.objective = name;
        } else {
          core.free_rows.insert(name);
        }
      } else if (type == "E" || type == "L" || type == "G") {
        core.row_index[name] = static_cast<int>(core.row_names.size());
        core.row_names.push_back(name);
        core.row_type.push_back(type[0]);
      } else {
        return LineError(file, line,
                         "field 1 is not a row type (expected N, E, L or G)");
      }
    } else if (section == "COLUMNS") {
      if (t.size() >= 2 && (t[1] == "'MARKER'" || t[1] == "MARKER")) continue;
      if (t.size() != 3 && t.size() != 5) {
        return LineError(file, line, "expected 'column row value [row value]' in COLUMNS");
      }
      auto [it, inserted] =
          core.col_index.try_emplace(t[0], static_cast<int>(core.col_names.size()));
      if (inserted) {
        core.col_names.push_back(t[0]);
        core.cost.push_back(0);
      }
      const int col = it->second;
      for (size_t k = 1; k + 1 < t.size(); k += 2) {
        ASSIGN_OR_RETURN(double value, ParseNumber(file, line, k + 1));
        if (t[k] == core.objective) {
          core.cost[col] = value;
        } else if (core.free_rows.contains(t[k])) {
          continue;
        } else {
          auto row = core.row_index.find(t[k]);
          if (row == core.row_index.end()) {
            return LineError(file, line, absl::StrCat("field ", k + 1, " names an unknown row"));
          }
          if (!core.entries.emplace(std::make_pair(row->second, col), value).second) {
            return LineError(file, line,
                             absl::StrCat("field ", k + 1,
                                          ": a second entry for this row and column"));
          }
        }
      }
    } else if (section == "RHS" || section == "RANGES") {
      if (t.size() < 2 || t.size() > 5) {
        return LineError(file, line,
                         absl::StrCat("expected '[set] row value [row value]' in ", section));
      }
      if (core.rhs.empty()) {
        core.rhs.assign(core.row_names.size(), 0);
        core.range.assign(core.row_names.size(), 0);
        core.has_range.assign(core.row_names.size(), false);
      }
      for (size_t k = t.size() % 2; k + 1 < t.size(); k += 2) {
        ASSIGN_OR_RETURN(double value, ParseNumber(file, line, k + 1));
        if (t[k] == core.objective && section == "RHS") {
          core.objective_rhs = value;
          continue;
        }
        if (core.free_rows.contains(t[k])) continue;
        auto row = core.row_index.find(t[k]);
        if (row == core.row_index.end()) {
          return LineError(file, line, absl::StrCat("field ", k + 1, " names an unknown row"));
        }
        if (section == "RHS") {
          core.rhs[row->second] = value;
        } else {
          core.range[row->second] = value;
          core.has_range[row->second] = true;
        }
      }
    } else if (section == "BOUNDS") {
      const int n = static_cast<int>(core.col_names.size());
      if (core.lower.empty()) {
        core.lower.assign(n, 0);
        core.upper.assign(n, kInf);
        lower_set.assign(n, false);
      }
      const std::string type = Upper(t[0]);
      const bool takes_value =
          type == "UP" || type == "LO" || type == "FX" || type == "LI" || type == "UI";
      const bool no_value = type == "FR" || type == "MI" || type == "PL";
      if (!takes_value && !no_value && type != "BV") {
        return LineError(file, line,
                         "field 1: this bound type is not supported (UP, LO, FX, FR, MI, PL, "
                         "BV, LI, UI)");
      }
      // The bound set name is optional: find the column token.
      size_t col_token;
      if (takes_value) {
        if (t.size() != 3 && t.size() != 4)
          return LineError(file, line, "expected 'type [set] column value'");
        col_token = t.size() - 2;
      } else if (no_value) {
        if (t.size() != 2 && t.size() != 3)
          return LineError(file, line, "expected 'type [set] column'");
        col_token = t.size() - 1;
      } else {  // BV, with an optional (ignored) value
        if (t.size() < 2 || t.size() > 4)
          return LineError(file, line, "expected 'BV [set] column [value]'");
        col_token = t.size() == 4 ? 2 : (t.size() == 3 && core.col_index.contains(t[2]) ? 2 : 1);
      }
      auto col_it = core.col_index.find(t[col_token]);
      if (col_it == core.col_index.end()) {
        return LineError(file, line,
                         absl::StrCat("field ", col_token + 1, " names an unknown column"));
      }
      const int col = col_it->second;
      double value = 0;
      if (takes_value) {
        ASSIGN_OR_RETURN(value, ParseAnyNumber(file, line, col_token + 1));
        // The MPS convention: an upper bound of 1e30 or more is none, as is a lower
        // bound of -1e30 or less.
        const bool upper = type == "UP" || type == "UI";
        const bool lower = type == "LO" || type == "LI";
        if (upper && value >= kMpsInfinity) {
          value = kInf;
        } else if (lower && value <= -kMpsInfinity) {
          value = -kInf;
        } else {
          RETURN_IF_ERROR(CheckMagnitude(file, line, col_token + 1, value));
        }
      }
      if (type == "UP" || type == "UI") {
        core.upper[col] = value;
        if (value < 0 && !lower_set[col] && core.lower[col] == 0) core.lower[col] = -kInf;
      } else if (type == "LO" || type == "LI") {
        core.lower[col] = value;
        lower_set[col] = true;
      } else if (type == "FX") {
        core.lower[col] = core.upper[col] = value;
        lower_set[col] = true;
      } else if (type == "FR") {
        core.lower[col] = -kInf;
        core.upper[col] = kInf;
        lower_set[col] = true;
      } else if (type == "MI") {
        core.lower[col] = -kInf;
        lower_set[col] = true;
      } else if (type == "PL") {
        core.upper[col] = kInf;
      } else {  // BV
        core.lower[col] = 0;
        core.upper[col] = 1;
        lower_set[col] = true;
      }
    } else {
      return LineError(file, line, "data line outside a section");
    }
  }
  if (!ended) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no ENDATA (truncated file?)"));
  }
  if (core.objective.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no objective (N) row"));
  }
  if (core.col_names.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no columns"));
  }
  const size_t m = core.row_names.size(), n = core.col_names.size();
  if (core.rhs.empty()) {
    core.rhs.assign(m, 0);
    core.range.assign(m, 0);
    core.has_range.assign(m, false);
  }
  if (core.lower.empty()) {
    core.lower.assign(n, 0);
    core.upper.assign(n, kInf);
  }
  return core;
}

// Row bounds of core row r (rhs and range rules in smps.h).
std::pair<double, double> RowBounds(const Core& core, int r) {
  const double b = core.rhs[r];
  const double range = core.range[r];
  switch (core.row_type[r]) {
    case 'E':
      if (!core.has_range[r]) return {b, b};
      return range > 0 ? std::make_pair(b, b + std::abs(range))
                       : std::make_pair(b - std::abs(range), b);
    case 'L':
      return {core.has_range[r] ? b - std::abs(range) : -kInf, b};
    default:  // 'G'
      return {b, core.has_range[r] ? b + std::abs(range) : kInf};
  }
}

// ---------------------------------------------------------------------------
// The time file: where stage 2 starts.

struct Stages {
  int first_row2 = 0;  // index of the first second-stage row among constraint rows
  int first_col2 = 0;
  std::string period2;
};

absl::StatusOr<Stages> ReadTime(const File& file, const Core& core) {
  const std::string& path = file.path;
  struct Period {
    std::string col, row, name;
    const Line* line;
  };
  std::vector<Period> periods;
  std::string section;
  bool ended = false;
  for (const Line& line : file.lines) {
    const std::vector<std::string>& t = line.tokens;
    if (ended) return LineError(file, line, "data after ENDATA");
    if (line.header) {
      section = Upper(t[0]);
      if (section == "PERIODS") {
        if (t.size() > 1 && Upper(t[1]) == "EXPLICIT") {
          return LineError(file, line, "PERIODS EXPLICIT is not supported (only IMPLICIT)");
        }
        if (t.size() > 1 && Upper(t[1]) != "LP" && Upper(t[1]) != "IMPLICIT") {
          return LineError(file, line, "field 2 is not a PERIODS option (LP or IMPLICIT)");
        }
      } else if (section == "ENDATA") {
        ended = true;
      } else if (section != "TIME" && section != "NAME") {
        return LineError(file, line,
                         "this section is not supported in a time file (TIME, PERIODS, ENDATA)");
      }
      continue;
    }
    if (section != "PERIODS") return LineError(file, line, "data line outside PERIODS");
    if (t.size() != 3) return LineError(file, line, "expected 'column row period' in PERIODS");
    periods.push_back(Period{t[0], t[1], t[2], &line});
  }
  if (!ended)
    return absl::InvalidArgumentError(absl::StrCat(path, ": no ENDATA (truncated file?)"));
  if (periods.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", periods.size(), " periods; only two-stage problems are supported"));
  }
  int cols[2], rows[2];
  for (int k = 0; k < 2; ++k) {
    auto col = core.col_index.find(periods[k].col);
    if (col == core.col_index.end()) {
      return LineError(file, *periods[k].line,
                       "field 1 names an unknown column");
    }
    // stocfor2.tim names the objective row as the first row of period 1.
    if (k == 0 && periods[k].row == core.objective) {
      cols[k] = col->second;
      rows[k] = 0;
      continue;
    }
    auto row = core.row_index.find(periods[k].row);
    if (row == core.row_index.end()) {
      return LineError(file, *periods[k].line,
                       "field 2 names an unknown (or the objective) row");
    }
    cols[k] = col->second;
    rows[k] = row->second;
  }
  if (cols[0] != 0 || rows[0] != 0) {
    return LineError(file, *periods[0].line,
                     "the first period must start at the first column and the first row");
  }
  if (cols[1] <= 0 || rows[1] <= 0) {
    return LineError(file, *periods[1].line,
                     "the second period must start after the first column and row");
  }
  return Stages{rows[1], cols[1], periods[1].name};
}

// ---------------------------------------------------------------------------
// The stochastics file.

// Independent discrete distributions over the elements they change.
struct Realization {
  double probability = 0;
  std::vector<Change> changes;
};
struct Distribution {
  std::string what;  // for messages: "INDEP element at line 7", "block BLOCK1"
  int line = 0;
  double total = 0;
  std::vector<Realization> realizations;
};

using ElementKey = std::tuple<int, int, int>;  // kind, row, col
ElementKey KeyOf(const Change& c) { return {static_cast<int>(c.kind), c.row, c.col}; }
bool ChangeLess(const Change& a, const Change& b) { return KeyOf(a) < KeyOf(b); }

class StochReader {
 public:
  StochReader(const Core& core, const Stages& stages) : core_(core), stages_(stages) {}

  absl::StatusOr<std::vector<Distribution>> Read(File file) {
    file_ = std::move(file);
    const std::string path = file_.path;
    std::string section;
    std::string mode = "REPLACE";
    bool ended = false;
    absl::flat_hash_map<ElementKey, int> indep;    // element -> distribution
    absl::flat_hash_map<std::string, int> blocks;  // block name -> distribution
    int scenarios = -1;                            // the SCENARIOS distribution
    Realization* current = nullptr;                // of BLOCKS / SCENARIOS
    for (const Line& line : file_.lines) {
      const std::vector<std::string>& t = line.tokens;
      if (ended) return LineError(file_, line, "data after ENDATA");
      if (line.header) {
        section = Upper(t[0]);
        current = nullptr;
        if (section == "INDEP" || section == "BLOCKS" || section == "SCENARIOS") {
          std::string distribution = t.size() > 1 ? Upper(t[1]) : "DISCRETE";
          if (distribution != "DISCRETE") {
            return LineError(file_, line,
                             "field 2: this distribution is not supported (only DISCRETE)");
          }
          mode = t.size() > 2 ? Upper(t[2]) : "REPLACE";
          if (mode != "REPLACE" && mode != "ADD" && mode != "MULTIPLY") {
            return LineError(
                file_, line,
                "field 3 is not an option (expected REPLACE, ADD or MULTIPLY)");
          }
          if (section == "SCENARIOS" && mode == "MULTIPLY") {
            return LineError(file_, line, "SCENARIOS MULTIPLY is not supported");
          }
        } else if (section == "ENDATA") {
          ended = true;
        } else if (section != "STOCH" && section != "NAME") {
          return LineError(file_, line,
                           "this section is not supported (expected STOCH, INDEP, BLOCKS, "
                           "SCENARIOS or ENDATA)");
        }
        continue;
      }
      if (section == "INDEP") {
        if (t.size() != 4 && t.size() != 5) {
          return LineError(file_, line, "expected 'name row value [period] probability' in INDEP");
        }
        if (t.size() == 5) RETURN_IF_ERROR(CheckPeriod(line, 3));
        ASSIGN_OR_RETURN(Change change, Entry(line, t[0], t[1], 2, mode));
        ASSIGN_OR_RETURN(double probability, Probability(line, t.size() - 1));
        auto [it, inserted] = indep.try_emplace(KeyOf(change), static_cast<int>(result_.size()));
        if (inserted) {
          RETURN_IF_ERROR(Claim(line, change, it->second));
          result_.push_back(Distribution{
              absl::StrCat("the INDEP element of line ", line.number), line.number, 0, {}});
        }
        Distribution& d = result_[it->second];
        d.realizations.push_back(Realization{probability, {change}});
        d.total += probability;
      } else if (section == "BLOCKS" || section == "SCENARIOS") {
        const bool blocks_section = section == "BLOCKS";
        const std::string opener = blocks_section ? "BL" : "SC";
        if (Upper(t[0]) == opener) {
          int index;
          if (blocks_section) {
            if (t.size() != 4)
              return LineError(file_, line, "expected 'BL block period probability'");
            RETURN_IF_ERROR(CheckPeriod(line, 2));
            auto [it, inserted] = blocks.try_emplace(t[1], static_cast<int>(result_.size()));
            if (inserted) {
              result_.push_back(
                  Distribution{absl::StrCat("the block of line ", line.number), line.number, 0, {}});
            }
            index = it->second;
          } else {
            if (t.size() != 4 && t.size() != 5) {
              return LineError(file_, line, "expected 'SC scenario parent probability [period]'");
            }
            if (Upper(t[2]) != "ROOT") {
              return LineError(file_, line,
                               "field 3: the scenario branches from another scenario, not ROOT "
                               "(only two-stage problems are supported)");
            }
            if (t.size() == 5) RETURN_IF_ERROR(CheckPeriod(line, 4));
            if (scenarios < 0) {
              scenarios = static_cast<int>(result_.size());
              result_.push_back(Distribution{"the SCENARIOS list", line.number, 0, {}});
            }
            index = scenarios;
          }
          ASSIGN_OR_RETURN(double probability, Probability(line, 3));
          Distribution& d = result_[index];
          d.realizations.push_back(Realization{probability, {}});
          d.total += probability;
          current = &d.realizations.back();
          current_distribution_ = index;
          continue;
        }
        if (current == nullptr) {
          return LineError(file_, line, absl::StrCat("entry before the first ", opener, " line"));
        }
        if (t.size() != 3 && t.size() != 5) {
          return LineError(file_, line, "expected 'name row value [row value]'");
        }
        // REPLACE and ADD of a SCENARIOS entry are relative to the core (the
        // parent is ROOT), as for BLOCKS.
        for (size_t k = 1; k + 1 < t.size(); k += 2) {
          ASSIGN_OR_RETURN(Change change, Entry(line, t[0], t[k], k + 1, mode));
          for (const Change& other : current->changes) {
            if (KeyOf(other) == KeyOf(change)) {
              return LineError(
                  file_, line,
                  absl::StrCat("fields 1 and ", k + 1,
                               ": this element is given twice in one realization"));
            }
          }
          RETURN_IF_ERROR(Claim(line, change, current_distribution_));
          current->changes.push_back(change);
        }
      } else {
        return LineError(file_, line, "data line outside INDEP, BLOCKS or SCENARIOS");
      }
    }
    if (!ended) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no ENDATA (truncated file?)"));
    }
    for (Distribution& d : result_) {
      if (std::abs(d.total - 1) > 1e-3) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":", d.line, ": the probabilities of ",
                                                       d.what, " sum to ", d.total, ", not 1"));
      }
      // A block realization inherits the first realization's entries it does
      // not list.
      const std::vector<Change> first = d.realizations.front().changes;
      for (Realization& r : d.realizations) {
        r.probability /= d.total;
        for (const Change& c : first) {
          if (std::none_of(r.changes.begin(), r.changes.end(),
                           [&](const Change& o) { return KeyOf(o) == KeyOf(c); })) {
            r.changes.push_back(c);
          }
        }
        std::sort(r.changes.begin(), r.changes.end(), ChangeLess);
      }
    }
    return std::move(result_);
  }

 private:
  absl::Status CheckPeriod(const Line& line, size_t index) {
    if (line.tokens[index] != stages_.period2) {
      return LineError(file_, line,
                       absl::StrCat("field ", index + 1,
                                    " is not the second period of the time file (only two-stage "
                                    "problems are supported)"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<double> Probability(const Line& line, size_t index) {
    ASSIGN_OR_RETURN(double p, ParseNumber(file_, line, index));
    if (p < 0 || p > 1 + 1e-9) {
      return LineError(file_, line,
                       absl::StrCat("field ", index + 1, " (probability) is not in [0, 1]"));
    }
    return p;
  }

  // An element may be random in one distribution only.
  absl::Status Claim(const Line& line, const Change& change, int distribution) {
    auto [it, inserted] = owner_.try_emplace(KeyOf(change), distribution);
    if (!inserted && it->second != distribution) {
      return LineError(file_, line,
                       absl::StrCat("this element is already random in ", result_[it->second].what,
                                    " (line ", result_[it->second].line, ")"));
    }
    return absl::OkStatus();
  }

  // The change that entry "name row value" makes.
  absl::StatusOr<Change> Entry(const Line& line, const std::string& name, const std::string& row,
                               size_t value_field, const std::string& mode) {
    ASSIGN_OR_RETURN(double value, ParseNumber(file_, line, value_field));
    const int m1 = stages_.first_row2, n1 = stages_.first_col2;
    Change change;
    double core_value;
    auto col_it = core_.col_index.find(name);
    const bool objective = row == core_.objective;
    int r = -1;
    if (!objective) {
      auto row_it = core_.row_index.find(row);
      if (row_it == core_.row_index.end()) {
        return LineError(file_, line,
                         absl::StrCat("field ", value_field, " names an unknown row"));
      }
      r = row_it->second;
      if (r < m1) {
        return LineError(file_, line,
                         absl::StrCat("field ", value_field,
                                      " names a row in the first stage, which cannot be random"));
      }
    }
    if (col_it != core_.col_index.end()) {
      const int c = col_it->second;
      if (objective) {
        if (c < n1) {
          return LineError(
              file_, line,
              "field 1 names a first-stage column, whose cost cannot be random");
        }
        change = Change{Change::Kind::kCost, -1, c - n1, 0};
        core_value = core_.cost[c];
      } else {
        if (c < n1) {
          change = Change{Change::Kind::kTechnology, r - m1, c, 0};
        } else {
          change = Change{Change::Kind::kRecourse, r - m1, c - n1, 0};
        }
        auto e = core_.entries.find({r, c});
        core_value = e == core_.entries.end() ? 0 : e->second;
      }
    } else {
      if (objective) {
        return LineError(file_, line, "a random objective constant is not supported");
      }
      change = Change{Change::Kind::kRhs, r - m1, -1, 0};
      core_value = core_.rhs[r];
    }
    if (mode == "ADD") {
      change.value = core_value + value;
      RETURN_IF_ERROR(CheckMagnitude(file_, line, value_field, change.value, " added to the core"));
    } else if (mode == "MULTIPLY") {
      change.value = core_value * value;
      RETURN_IF_ERROR(
          CheckMagnitude(file_, line, value_field, change.value, " times the core value"));
    } else {
      change.value = value;
    }
    return change;
  }

  const Core& core_;
  const Stages& stages_;
  File file_;
  std::vector<Distribution> result_;
  absl::flat_hash_map<ElementKey, int> owner_;
  int current_distribution_ = -1;
};

// Scenario from one realization index per distribution.
Scenario Combine(const std::vector<Distribution>& distributions, const std::vector<int>& pick,
                 double probability) {
  Scenario s;
  s.probability = probability;
  for (size_t d = 0; d < distributions.size(); ++d) {
    const std::vector<Change>& c = distributions[d].realizations[pick[d]].changes;
    s.changes.insert(s.changes.end(), c.begin(), c.end());
  }
  std::sort(s.changes.begin(), s.changes.end(), ChangeLess);
  return s;
}

absl::Status BuildScenarios(const std::string& sto_path, const std::vector<Distribution>& dists,
                            int64_t sample, uint64_t seed, TwoStageProgram& program) {
  double size = 1;
  for (const Distribution& d : dists) size *= d.realizations.size();
  program.distribution_size = size;
  std::vector<int> pick(dists.size(), 0);
  if (sample == 0) {
    if (size > kMaxEnumeratedScenarios) {
      return absl::InvalidArgumentError(
          absl::StrCat(sto_path, ": the distribution has ", size, " scenarios, more than ",
                       kMaxEnumeratedScenarios, " to enumerate; set smps.sample"));
    }
    program.scenarios.reserve(static_cast<size_t>(size));
    // Mixed radix counter, the last distribution varying fastest.
    while (true) {
      double p = 1;
      for (size_t d = 0; d < dists.size(); ++d) p *= dists[d].realizations[pick[d]].probability;
      program.scenarios.push_back(Combine(dists, pick, p));
      int d = static_cast<int>(dists.size()) - 1;
      while (d >= 0 && ++pick[d] == static_cast<int>(dists[d].realizations.size())) pick[d--] = 0;
      if (d < 0) break;
    }
    return absl::OkStatus();
  }
  program.sampled = true;
  std::mt19937_64 engine(seed);
  program.scenarios.reserve(sample);
  for (int64_t s = 0; s < sample; ++s) {
    for (size_t d = 0; d < dists.size(); ++d) {
      const double u = static_cast<double>(engine() >> 11) * 0x1.0p-53;
      const std::vector<Realization>& r = dists[d].realizations;
      int k = 0;
      double cumulative = r[0].probability;
      while (k + 1 < static_cast<int>(r.size()) && cumulative <= u)
        cumulative += r[++k].probability;
      pick[d] = k;
    }
    program.scenarios.push_back(Combine(dists, pick, 1.0 / static_cast<double>(sample)));
  }
  return absl::OkStatus();
}

SparseRowMatrix MakeSparse(int rows, int cols, const std::vector<Eigen::Triplet<double>>& entries) {
  SparseRowMatrix m(rows, cols);
  m.setFromTriplets(entries.begin(), entries.end());
  m.makeCompressed();
  return m;
}

}  // namespace

namespace {

absl::StatusOr<TwoStageProgram> ReadOpenedSmps(OpenedFile cor, OpenedFile tim, OpenedFile sto,
                                               int64_t sample, uint64_t seed) {
  if (sample < 0) return absl::InvalidArgumentError(absl::StrCat("sample ", sample, " < 0"));
  const std::string cor_path = cor.name(), tim_path = tim.name(), sto_path = sto.name();
  ASSIGN_OR_RETURN(File cor_file, ReadLines(std::move(cor)));
  ASSIGN_OR_RETURN(File tim_file, ReadLines(std::move(tim)));
  ASSIGN_OR_RETURN(File sto_file, ReadLines(std::move(sto)));
  ASSIGN_OR_RETURN(Core core, ReadCore(cor_file));
  ASSIGN_OR_RETURN(Stages stages, ReadTime(tim_file, core));
  const int m = static_cast<int>(core.row_names.size());
  const int n = static_cast<int>(core.col_names.size());
  const int m1 = stages.first_row2, n1 = stages.first_col2, m2 = m - m1, n2 = n - n1;

  TwoStageProgram p;
  p.name = core.name;
  p.objective_constant = -core.objective_rhs;
  p.first.c = Eigen::Map<const Vector>(core.cost.data(), n1);
  p.first.lower = Eigen::Map<const Vector>(core.lower.data(), n1);
  p.first.upper = Eigen::Map<const Vector>(core.upper.data(), n1);
  p.q = Eigen::Map<const Vector>(core.cost.data() + n1, n2);
  p.y_lower = Eigen::Map<const Vector>(core.lower.data() + n1, n2);
  p.y_upper = Eigen::Map<const Vector>(core.upper.data() + n1, n2);
  p.first.row_lower.resize(m1);
  p.first.row_upper.resize(m1);
  p.row_lower.resize(m2);
  p.row_upper.resize(m2);
  p.rhs.resize(m2);
  for (int r = 0; r < m; ++r) {
    auto [lo, up] = RowBounds(core, r);
    if (r < m1) {
      p.first.row_lower(r) = lo;
      p.first.row_upper(r) = up;
    } else {
      p.row_lower(r - m1) = lo;
      p.row_upper(r - m1) = up;
      p.rhs(r - m1) = core.rhs[r];
    }
  }
  std::vector<Eigen::Triplet<double>> a, t, w;
  for (const auto& [key, value] : core.entries) {
    const auto [r, c] = key;
    if (r < m1) {
      if (c >= n1) {
        return absl::InvalidArgumentError(
            absl::StrCat(cor_path, ": first-stage row ", r + 1, " (in ROWS order) has an entry in ",
                         "second-stage column ", c + 1, " (in COLUMNS order; per ",
                         tim_path, "); not a two-stage problem"));
      }
      a.emplace_back(r, c, value);
    } else if (c < n1) {
      t.emplace_back(r - m1, c, value);
    } else {
      w.emplace_back(r - m1, c - n1, value);
    }
  }
  p.first.a = MakeSparse(m1, n1, a);
  p.t = MakeSparse(m2, n1, t);
  p.w = MakeSparse(m2, n2, w);
  p.x_names.assign(core.col_names.begin(), core.col_names.begin() + n1);
  p.y_names.assign(core.col_names.begin() + n1, core.col_names.end());
  p.first_row_names.assign(core.row_names.begin(), core.row_names.begin() + m1);
  p.second_row_names.assign(core.row_names.begin() + m1, core.row_names.end());

  StochReader reader(core, stages);
  ASSIGN_OR_RETURN(std::vector<Distribution> distributions, reader.Read(std::move(sto_file)));
  RETURN_IF_ERROR(BuildScenarios(sto_path, distributions, sample, seed, p));
  return p;
}

}  // namespace

absl::StatusOr<TwoStageProgram> ReadSmps(const std::string& cor_path, const std::string& tim_path,
                                         const std::string& sto_path, int64_t sample,
                                         uint64_t seed) {
  ASSIGN_OR_RETURN(OpenedFile cor, OpenPath(cor_path));
  ASSIGN_OR_RETURN(OpenedFile tim, OpenPath(tim_path));
  ASSIGN_OR_RETURN(OpenedFile sto, OpenPath(sto_path));
  return ReadOpenedSmps(std::move(cor), std::move(tim), std::move(sto), sample, seed);
}

absl::StatusOr<TwoStageProgram> ReadSmpsFiles(const v1::SmpsFiles& files,
                                              const std::string& data_root) {
  const std::pair<const std::string*, const char*> fields[3] = {
      {&files.cor(), "cor"}, {&files.tim(), "tim"}, {&files.sto(), "sto"}};
  for (int k = 0; k < 3; ++k) {
    if (fields[k].first->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("problem.smps.", fields[k].second, " is empty"));
    }
  }
  if (files.sample() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("problem.smps.sample is ", files.sample(), "; it must be >= 0"));
  }
  // Each file opened beneath the root in one step (no check-then-open race).
  ASSIGN_OR_RETURN(OpenedFile cor, OpenBeneath(data_root, files.cor()));
  ASSIGN_OR_RETURN(OpenedFile tim, OpenBeneath(data_root, files.tim()));
  ASSIGN_OR_RETURN(OpenedFile sto, OpenBeneath(data_root, files.sto()));
  return ReadOpenedSmps(std::move(cor), std::move(tim), std::move(sto), files.sample(),
                        files.seed());
}

ScenarioRecourse ApplyScenario(const TwoStageProgram& program, int64_t j) {
  ScenarioRecourse s{program.q, program.t, program.w, program.row_lower, program.row_upper};
  for (const Change& c : program.scenarios[j].changes) {
    switch (c.kind) {
      case Change::Kind::kRhs: {
        const double shift = c.value - program.rhs(c.row);
        s.row_lower(c.row) += shift;  // infinite bounds stay infinite
        s.row_upper(c.row) += shift;
        break;
      }
      case Change::Kind::kTechnology:
        s.t.coeffRef(c.row, c.col) = c.value;
        break;
      case Change::Kind::kRecourse:
        s.w.coeffRef(c.row, c.col) = c.value;
        break;
      case Change::Kind::kCost:
        s.q(c.col) = c.value;
        break;
    }
  }
  s.t.makeCompressed();
  s.w.makeCompressed();
  return s;
}

absl::StatusOr<ExtensiveFormSolution> SolveExtensiveForm(const TwoStageProgram& program) {
  const int n1 = program.first.c.size(), m1 = program.first.a.rows();
  const int n2 = program.q.size(), m2 = program.w.rows();
  const int64_t scenarios = program.scenarios.size();
  const int64_t rows = m1 + scenarios * m2, cols = n1 + scenarios * n2;
  if (rows > std::numeric_limits<int>::max() / 2 || cols > std::numeric_limits<int>::max() / 2) {
    return absl::InvalidArgumentError("the extensive form is too large for Clp");
  }
  std::vector<int> row_index, col_index;
  std::vector<double> element;
  std::vector<double> obj(cols), col_lower(cols), col_upper(cols), row_lower(rows), row_upper(rows);
  auto add = [&](int64_t r, int64_t c, double v) {
    row_index.push_back(static_cast<int>(r));
    col_index.push_back(static_cast<int>(c));
    element.push_back(v);
  };
  for (int r = 0; r < m1; ++r) {
    for (SparseRowMatrix::InnerIterator it(program.first.a, r); it; ++it)
      add(r, it.col(), it.value());
    row_lower[r] = ToClp(program.first.row_lower(r));
    row_upper[r] = ToClp(program.first.row_upper(r));
  }
  for (int c = 0; c < n1; ++c) {
    obj[c] = program.first.c(c);
    col_lower[c] = ToClp(program.first.lower(c));
    col_upper[c] = ToClp(program.first.upper(c));
  }
  for (int64_t j = 0; j < scenarios; ++j) {
    const ScenarioRecourse s = ApplyScenario(program, j);
    const double p = program.scenarios[j].probability;
    const int64_t row0 = m1 + j * m2, col0 = n1 + j * n2;
    for (int r = 0; r < m2; ++r) {
      for (SparseRowMatrix::InnerIterator it(s.t, r); it; ++it) add(row0 + r, it.col(), it.value());
      for (SparseRowMatrix::InnerIterator it(s.w, r); it; ++it) {
        add(row0 + r, col0 + it.col(), it.value());
      }
      row_lower[row0 + r] = ToClp(s.row_lower(r));
      row_upper[row0 + r] = ToClp(s.row_upper(r));
    }
    for (int c = 0; c < n2; ++c) {
      obj[col0 + c] = p * s.q(c);
      col_lower[col0 + c] = ToClp(program.y_lower(c));
      col_upper[col0 + c] = ToClp(program.y_upper(c));
    }
  }
  CoinPackedMatrix matrix(/*colordered=*/true, row_index.data(), col_index.data(), element.data(),
                          static_cast<CoinBigIndex>(element.size()));
  // The triplet constructor sizes the matrix by its largest indices.
  matrix.setDimensions(static_cast<int>(rows), static_cast<int>(cols));
  ClpSimplex model;
  model.setLogLevel(0);
  model.loadProblem(matrix, col_lower.data(), col_upper.data(), obj.data(), row_lower.data(),
                    row_upper.data());
  const auto start = std::chrono::steady_clock::now();
  model.dual();
  if (!model.isProvenOptimal() && !model.isProvenPrimalInfeasible() &&
      !model.isProvenDualInfeasible()) {
    model.primal(1);  // numerical trouble in the dual: finish with the primal
  }
  ExtensiveFormSolution solution;
  solution.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (model.isProvenPrimalInfeasible()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the extensive form of ", program.name, " is infeasible"));
  }
  if (model.isProvenDualInfeasible()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the extensive form of ", program.name, " is unbounded"));
  }
  if (!model.isProvenOptimal()) {
    return absl::AbortedError(absl::StrCat("Clp stopped on the extensive form of ", program.name,
                                           " with status ", model.status(), "/",
                                           model.secondaryStatus()));
  }
  solution.objective = model.objectiveValue() + program.objective_constant;
  solution.x = Eigen::Map<const Vector>(model.primalColumnSolution(), n1);
  return solution;
}

}  // namespace aia
