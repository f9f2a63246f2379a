// The run progress display: what the coordinator shows while the central loop
// runs, in one of three styles.
//
//   kBar    a terminal: two or three lines redrawn in place with ANSI codes
//             [#######..........]  47%  iteration 4700  epoch 1175  12.3 s  precision 1.2e-03
//             answers  w0 1180  w1 1175  w2 1190  w3 lost
//             objective 63.2  step 0.01
//           The answers line shows min/max/lost when there are more than 8 workers;
//           the values line appears only when the algorithm has values; with no
//           known fraction a moving block and a spinner replace the percentage.
//           The bar takes the columns the text leaves (10 to 30 cells); every line is
//           cut to options.width - 1 columns, so the terminal never wraps.
//   kLines  a log or a pipe: one plain line per interval, no ANSI codes at all
//             iteration 4700  epoch 1175  12.3 s  47%  precision 1.2e-03  answers 1175..1190
//   kQuiet  nothing, ever.
//
// MaybeReport is meant to be called after every central step: when the next
// report is not due it only compares two doubles; the snapshot callback runs only
// when something is printed. kLines reports first at interval_s, then at most once
// per interval_s; kBar draws at the first call, then at most once per interval_s.
// Times are the caller's (seconds since the start of the run), so tests need no clock.
//
// Example:
//   ProgressReporter::Options options = ProgressReporter::DefaultOptions(stderr, quiet);
//   ProgressReporter progress(options);
//   while (...) {
//     ... one central step ...
//     progress.MaybeReport(now_s, [&] { return MakeSnapshot(state, algorithm); });
//     if (lost) progress.Event(absl::StrCat("worker 2 (", address, ") lost: ", why));
//   }
//   progress.Finish(MakeSnapshot(state, algorithm));
//
// Thread safety: not thread-safe; one thread (the central loop) owns the reporter.
// It writes to options.out with stdio and flushes after each report; nothing else
// should write to that stream while a bar is shown (use Event instead).
#ifndef AIA_COORDINATOR_PROGRESS_H_
#define AIA_COORDINATOR_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/config.pb.h"

namespace aia {

// What one report shows. Built by the caller, only when a report is due.
struct ProgressSnapshot {
  int64_t iteration = 0;
  int64_t epoch = 0;
  double elapsed_s = 0;
  // The latest distance between consecutive central queries (absent: not measured).
  std::optional<double> precision;
  // Per worker: answers processed.
  std::vector<int64_t> answer_count;
  // Per worker: false once the worker is lost. Missing entries count as live.
  std::vector<bool> live;
  // Fraction of the run done in [0, 1] (see ProgressFraction); absent if unknown.
  std::optional<double> fraction;
  // The algorithm's name and value pairs (Algorithm::ProgressValues), in order.
  std::vector<std::pair<std::string, std::string>> values;
};

// Combines the stop criteria into a fraction of the run done: the max over the
// set criteria of iteration / stop.iteration, epoch / stop.epoch,
// elapsed_s / stop.time_s, and `algorithm_fraction`; clamped to [0, 1]. A
// criterion <= 0 counts as done (1). nullopt when none is known: stop.precision
// alone gives no fraction; a NaN algorithm fraction is ignored.
std::optional<double> ProgressFraction(const v1::StopSpec& stop, int64_t iteration, int64_t epoch,
                                       double elapsed_s, std::optional<double> algorithm_fraction);

class ProgressReporter {
 public:
  enum class Style { kBar, kLines, kQuiet };

  // Default intervals between reports, in seconds.
  static constexpr double kDefaultBarInterval = 0.1;
  static constexpr double kDefaultLinesInterval = 5.0;

  struct Options {
    Style style = Style::kLines;
    // Seconds between reports; < 0 means the style's default (kDefaultBarInterval,
    // kDefaultLinesInterval); 0 reports at every call.
    double interval_s = -1;
    // Where to write; not owned, must outlive the reporter. Null behaves as kQuiet.
    std::FILE* out = stderr;
    // Terminal columns (kBar only); lines are cut to width - 1 columns. Values < 20
    // are taken as 20.
    int width = 80;
  };

  // kQuiet if `quiet`; kBar if `out` is a terminal (isatty) and TERM is set and
  // not "dumb"; otherwise kLines.
  static Style StyleFor(std::FILE* out, bool quiet);

  // Options for `out`: StyleFor(out, quiet), the style's default interval, and,
  // for kBar, the terminal's width (TIOCGWINSZ; 80 if unknown).
  static Options DefaultOptions(std::FILE* out, bool quiet);

  explicit ProgressReporter(Options options);

  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Called by the central loop after each step with the time since the start.
  // Prints a report if one is due, calling `snapshot` once to get its content;
  // otherwise returns at once without calling `snapshot`. Does nothing after Finish.
  void MaybeReport(double elapsed_s, const std::function<ProgressSnapshot()>& snapshot);

  // Prints the final state whether or not a report is due (kBar: a last redraw
  // and a newline, leaving the bar on screen). Call once, at the end.
  void Finish(const ProgressSnapshot& snapshot);

  // A free-form event line ("worker 2 (host:7070) lost: ..."). kBar: printed above
  // the bar (the bar is cleared, the line printed, the bar redrawn); kLines: a
  // plain line; kQuiet: nothing. Control characters in `line` become spaces.
  void Event(const std::string& line);

  Style style() const { return style_; }
  double interval_s() const { return interval_s_; }

 private:
  void Print(const ProgressSnapshot& snapshot);
  // kBar: the codes that move the cursor to the start of the bar's first line.
  std::string CursorToBarStart() const;
  // kBar: bar_lines_, each followed by clear-to-end-of-line; the cursor ends at
  // the end of the last line.
  std::string BarText() const;

  const Style style_;
  const double interval_s_;
  std::FILE* const out_;
  const int width_;

  // The time from which the next report is due.
  double next_due_s_;
  bool finished_ = false;
  // kBar: the lines currently on screen (empty before the first draw and after
  // Finish), and the frame counter for the indeterminate bar and spinner.
  std::vector<std::string> bar_lines_;
  int64_t frame_ = 0;
};

// The text of the reports, exposed for tests and for callers that want the
// lines without the reporter. `frame` animates the indeterminate bar.
std::vector<std::string> FormatProgressBar(const ProgressSnapshot& snapshot, int width,
                                           int64_t frame);
std::string FormatProgressLine(const ProgressSnapshot& snapshot);

}  // namespace aia

#endif  // AIA_COORDINATOR_PROGRESS_H_
