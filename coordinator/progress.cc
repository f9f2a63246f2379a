#include "coordinator/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace aia {
namespace {

// More workers than this and the bar's answers line shows min/max/lost instead.
constexpr size_t kMaxWorkersListed = 8;
constexpr int kMinWidth = 20;

// Control characters would break the line count the bar relies on (a '\n') or
// the no-ANSI promise of kLines (an ESC), wherever they come from.
std::string Sanitize(std::string text) {
  for (char& c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return text;
}

// Cuts `text` to at most `columns` code points, never inside a UTF-8 sequence.
std::string Truncate(const std::string& text, int columns) {
  int seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool continuation = (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
    if (continuation) continue;
    if (seen == columns) return text.substr(0, i);
    ++seen;
  }
  return text;
}

bool IsLive(const ProgressSnapshot& snapshot, size_t worker) {
  return worker >= snapshot.live.size() || snapshot.live[worker];
}

struct AnswerRange {
  int64_t min = 0;
  int64_t max = 0;
  size_t live = 0;
  size_t lost = 0;
};

AnswerRange RangeOf(const ProgressSnapshot& snapshot) {
  AnswerRange range;
  range.min = std::numeric_limits<int64_t>::max();
  range.max = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < snapshot.answer_count.size(); ++i) {
    if (!IsLive(snapshot, i)) {
      ++range.lost;
      continue;
    }
    ++range.live;
    range.min = std::min(range.min, snapshot.answer_count[i]);
    range.max = std::max(range.max, snapshot.answer_count[i]);
  }
  return range;
}

// Floors, so a run at 99.7% never shows 100% before it is done.
int Percent(double fraction) { return static_cast<int>(std::floor(fraction * 100)); }

std::string Counters(const ProgressSnapshot& snapshot) {
  return absl::StrFormat("iteration %d  epoch %d  %.1f s", snapshot.iteration, snapshot.epoch,
                         snapshot.elapsed_s);
}

std::string Precision(const ProgressSnapshot& snapshot) {
  return snapshot.precision.has_value() ? absl::StrFormat("  precision %.1e", *snapshot.precision)
                                        : "";
}

std::string Values(const ProgressSnapshot& snapshot) {
  std::string out;
  for (const auto& [name, value] : snapshot.values) {
    absl::StrAppend(&out, out.empty() ? "" : "  ", Sanitize(name), " ", Sanitize(value));
  }
  return out;
}

std::string BarCells(const std::optional<double>& fraction, int cells, int64_t frame) {
  std::string bar(cells, '.');
  if (fraction.has_value()) {
    const int filled = std::clamp(static_cast<int>(*fraction * cells), 0, cells);
    std::fill(bar.begin(), bar.begin() + filled, '#');
    return bar;
  }
  // Indeterminate: a block of three bouncing between the ends.
  constexpr int kBlock = 3;
  const int travel = cells - kBlock;
  const int64_t period = 2 * static_cast<int64_t>(travel);
  const int64_t phase = period > 0 ? frame % period : 0;
  const int position = static_cast<int>(phase <= travel ? phase : period - phase);
  std::fill(bar.begin() + position, bar.begin() + position + kBlock, '#');
  return bar;
}

std::string AnswersForBar(const ProgressSnapshot& snapshot) {
  const size_t workers = snapshot.answer_count.size();
  std::string out = "answers";
  if (workers <= kMaxWorkersListed) {
    for (size_t i = 0; i < workers; ++i) {
      if (IsLive(snapshot, i)) {
        absl::StrAppend(&out, "  w", i, " ", snapshot.answer_count[i]);
      } else {
        absl::StrAppend(&out, "  w", i, " lost");
      }
    }
    return out;
  }
  const AnswerRange range = RangeOf(snapshot);
  absl::StrAppend(&out, "  ", workers, " workers");
  if (range.live == 0) return absl::StrCat(out, "  all lost");
  absl::StrAppend(&out, "  min ", range.min, "  max ", range.max, "  lost ", range.lost);
  return out;
}

std::string AnswersForLine(const ProgressSnapshot& snapshot) {
  const AnswerRange range = RangeOf(snapshot);
  if (range.live == 0) return "answers all lost";
  std::string out = range.min == range.max ? absl::StrCat("answers ", range.min)
                                           : absl::StrCat("answers ", range.min, "..", range.max);
  if (range.lost > 0) absl::StrAppend(&out, " (", range.lost, " lost)");
  return out;
}

void Write(std::FILE* out, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

}  // namespace

std::optional<double> ProgressFraction(const v1::StopSpec& stop, int64_t iteration, int64_t epoch,
                                       double elapsed_s, std::optional<double> algorithm_fraction) {
  std::optional<double> best;
  const auto consider = [&best](double fraction) {
    if (std::isnan(fraction)) return;
    best = best.has_value() ? std::max(*best, fraction) : fraction;
  };
  const auto ratio = [](double done, double target) { return target > 0 ? done / target : 1.0; };
  if (stop.has_iteration()) consider(ratio(static_cast<double>(iteration), stop.iteration()));
  if (stop.has_epoch()) consider(ratio(static_cast<double>(epoch), stop.epoch()));
  if (stop.has_time_s()) consider(ratio(elapsed_s, stop.time_s()));
  if (algorithm_fraction.has_value()) consider(*algorithm_fraction);
  if (!best.has_value()) return std::nullopt;
  return std::clamp(*best, 0.0, 1.0);
}

std::vector<std::string> FormatProgressBar(const ProgressSnapshot& snapshot, int width,
                                           int64_t frame) {
  width = std::max(width, kMinWidth);
  // One column stays free: a line that fills the last column makes some terminals
  // wrap, and then the cursor-up count is off by one.
  const int columns = width - 1;
  std::string rest;
  if (snapshot.fraction.has_value()) {
    rest = absl::StrFormat(" %3d%%", Percent(*snapshot.fraction));
  } else {
    static constexpr char kSpinner[] = "|/-\\";
    rest = absl::StrCat("    ", std::string(1, kSpinner[frame % 4]));
  }
  absl::StrAppend(&rest, "  ", Counters(snapshot), Precision(snapshot));
  // The bar takes what the text leaves, between 10 and 30 cells; below 10 the
  // text is cut instead.
  const int cells = std::clamp(columns - 2 - static_cast<int>(rest.size()), 10, 30);
  std::string first = absl::StrCat("[", BarCells(snapshot.fraction, cells, frame), "]", rest);

  std::vector<std::string> lines = {std::move(first)};
  if (!snapshot.answer_count.empty()) lines.push_back(AnswersForBar(snapshot));
  if (!snapshot.values.empty()) lines.push_back(Values(snapshot));
  for (std::string& line : lines) line = Truncate(line, columns);
  return lines;
}

std::string FormatProgressLine(const ProgressSnapshot& snapshot) {
  std::string out = Counters(snapshot);
  if (snapshot.fraction.has_value()) absl::StrAppend(&out, "  ", Percent(*snapshot.fraction), "%");
  absl::StrAppend(&out, Precision(snapshot));
  if (!snapshot.answer_count.empty()) absl::StrAppend(&out, "  ", AnswersForLine(snapshot));
  if (!snapshot.values.empty()) absl::StrAppend(&out, "  ", Values(snapshot));
  return out;
}

ProgressReporter::Style ProgressReporter::StyleFor(std::FILE* out, bool quiet) {
  if (quiet || out == nullptr) return Style::kQuiet;
  const int fd = fileno(out);
  if (fd < 0 || !isatty(fd)) return Style::kLines;
  const char* term = std::getenv("TERM");
  if (term == nullptr || term[0] == '\0' || std::strcmp(term, "dumb") == 0) return Style::kLines;
  return Style::kBar;
}

ProgressReporter::Options ProgressReporter::DefaultOptions(std::FILE* out, bool quiet) {
  Options options;
  options.out = out;
  options.style = StyleFor(out, quiet);
  options.interval_s = options.style == Style::kBar ? kDefaultBarInterval : kDefaultLinesInterval;
  if (options.style == Style::kBar) {
    struct winsize size;
    if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
      options.width = size.ws_col;
    }
  }
  return options;
}

ProgressReporter::ProgressReporter(Options options)
    : style_(options.out == nullptr ? Style::kQuiet : options.style),
      interval_s_(options.interval_s >= 0        ? options.interval_s
                  : options.style == Style::kBar ? kDefaultBarInterval
                                                 : kDefaultLinesInterval),
      out_(options.out),
      width_(std::max(options.width, kMinWidth)),
      // A bar appears at once; a log gets its first line after one interval, so a
      // short run logs only its final line.
      next_due_s_(style_ == Style::kBar ? -std::numeric_limits<double>::infinity() : interval_s_) {}

void ProgressReporter::MaybeReport(double elapsed_s,
                                   const std::function<ProgressSnapshot()>& snapshot) {
  // Written so that a NaN time never reports.
  if (finished_ || style_ == Style::kQuiet || !(elapsed_s >= next_due_s_)) return;
  next_due_s_ = elapsed_s + interval_s_;
  Print(snapshot());
}

void ProgressReporter::Finish(const ProgressSnapshot& snapshot) {
  if (finished_ || style_ == Style::kQuiet) return;
  Print(snapshot);
  if (style_ == Style::kBar) {
    Write(out_, "\n");
    bar_lines_.clear();  // the final bar stays on screen; later events go below it
  }
  finished_ = true;
}

void ProgressReporter::Event(const std::string& line) {
  if (style_ == Style::kQuiet) return;
  if (style_ == Style::kLines || bar_lines_.empty()) {
    Write(out_, absl::StrCat(Sanitize(line), "\n"));
    return;
  }
  std::string text = CursorToBarStart();
  absl::StrAppend(&text, "\x1b[J", Truncate(Sanitize(line), width_ - 1), "\n");
  absl::StrAppend(&text, BarText());
  Write(out_, text);
}

void ProgressReporter::Print(const ProgressSnapshot& snapshot) {
  if (style_ == Style::kLines) {
    Write(out_, absl::StrCat(FormatProgressLine(snapshot), "\n"));
    return;
  }
  // Overwrite in place rather than clear and redraw, which would flicker; then
  // clear whatever is left below (a values line that went away).
  std::string text = CursorToBarStart();
  bar_lines_ = FormatProgressBar(snapshot, width_, frame_++);
  absl::StrAppend(&text, BarText(), "\x1b[J");
  Write(out_, text);
}

std::string ProgressReporter::CursorToBarStart() const {
  if (bar_lines_.empty()) return "\r";
  std::string text = "\r";
  if (bar_lines_.size() > 1) absl::StrAppend(&text, "\x1b[", bar_lines_.size() - 1, "A");
  return text;
}

std::string ProgressReporter::BarText() const {
  std::string text;
  for (size_t i = 0; i < bar_lines_.size(); ++i) {
    absl::StrAppend(&text, i == 0 ? "" : "\n", bar_lines_[i], "\x1b[K");
  }
  return text;
}

}  // namespace aia
