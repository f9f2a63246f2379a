#include "coordinator/progress.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace aia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// An in-memory FILE* whose contents the test reads back.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&buffer_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* file() const { return file_; }
  std::string contents() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// The snapshot of the header's example: 4 workers, worker 3 lost.
ProgressSnapshot Example() {
  ProgressSnapshot snapshot;
  snapshot.iteration = 4700;
  snapshot.epoch = 1175;
  snapshot.elapsed_s = 12.34;
  snapshot.precision = 1.2e-3;
  snapshot.answer_count = {1180, 1175, 1190, 1155};
  snapshot.live = {true, true, true, false};
  snapshot.fraction = 0.47;
  snapshot.values = {{"objective", "63.2"}, {"step", "0.01"}};
  return snapshot;
}

ProgressSnapshot ManyWorkers() {
  ProgressSnapshot snapshot = Example();
  snapshot.answer_count.clear();
  snapshot.live.clear();
  for (int i = 0; i < 16; ++i) {
    snapshot.answer_count.push_back(1000 + 10 * i);
    snapshot.live.push_back(i != 5);  // 1050 is lost
  }
  return snapshot;
}

ProgressReporter::Options OptionsFor(ProgressReporter::Style style, double interval_s,
                                     std::FILE* out) {
  ProgressReporter::Options options;
  options.style = style;
  options.interval_s = interval_s;
  options.out = out;
  return options;
}

// The visible text of each terminal row segment: split at '\r' and '\n', with
// CSI sequences (ESC [ ... final byte) removed.
std::vector<std::string> VisibleSegments(const std::string& text) {
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    plain.push_back(text[i] == '\r' ? '\n' : text[i]);
  }
  return absl::StrSplit(plain, '\n');
}

// ---------------------------------------------------------------- ProgressFraction

TEST(ProgressFraction, Iteration) {
  v1::StopSpec stop;
  stop.set_iteration(10000);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 4700, 1, 1.0, std::nullopt), 0.47);
}

TEST(ProgressFraction, Epoch) {
  v1::StopSpec stop;
  stop.set_epoch(100);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 999999, 25, 1.0, std::nullopt), 0.25);
}

TEST(ProgressFraction, Time) {
  v1::StopSpec stop;
  stop.set_time_s(20);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 999999, 999999, 5.0, std::nullopt), 0.25);
}

TEST(ProgressFraction, MaxOverSetCriteria) {
  v1::StopSpec stop;
  stop.set_iteration(1000);  // 0.1
  stop.set_epoch(10);        // 0.6
  stop.set_time_s(100);      // 0.3
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 100, 6, 30.0, std::nullopt), 0.6);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 100, 1, 30.0, std::nullopt), 0.3);
}

TEST(ProgressFraction, ClampsToOne) {
  v1::StopSpec stop;
  stop.set_time_s(10);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 0, 0, 12.5, std::nullopt), 1.0);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 0, 0, 1.0, 3.0), 1.0);
}

TEST(ProgressFraction, ClampsToZero) {
  v1::StopSpec stop;
  stop.set_precision(1e-6);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 0, 0, 1.0, -0.5), 0.0);
}

TEST(ProgressFraction, PrecisionAloneGivesNone) {
  v1::StopSpec stop;
  stop.set_precision(1e-6);
  EXPECT_EQ(ProgressFraction(stop, 4700, 1175, 12.3, std::nullopt), std::nullopt);
  EXPECT_EQ(ProgressFraction(v1::StopSpec(), 4700, 1175, 12.3, std::nullopt), std::nullopt);
}

TEST(ProgressFraction, AlgorithmFraction) {
  v1::StopSpec stop;
  stop.set_precision(1e-6);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 4700, 1175, 12.3, 0.8), 0.8);
  stop.set_iteration(10000);  // 0.47 < 0.8
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 4700, 1175, 12.3, 0.8), 0.8);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 4700, 1175, 12.3, 0.1), 0.47);
}

TEST(ProgressFraction, IgnoresNaNAlgorithmFraction) {
  v1::StopSpec stop;
  EXPECT_EQ(ProgressFraction(stop, 1, 1, 1, std::nan("")), std::nullopt);
  stop.set_iteration(10);
  EXPECT_DOUBLE_EQ(*ProgressFraction(stop, 5, 1, 1, std::nan("")), 0.5);
}

// ---------------------------------------------------------------- StyleFor

TEST(ProgressReporter, StyleForQuietAndNonTerminal) {
  MemoryFile out;
  EXPECT_EQ(ProgressReporter::StyleFor(out.file(), /*quiet=*/true),
            ProgressReporter::Style::kQuiet);
  EXPECT_EQ(ProgressReporter::StyleFor(out.file(), /*quiet=*/false),
            ProgressReporter::Style::kLines);
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(ProgressReporter::StyleFor(file, /*quiet=*/false), ProgressReporter::Style::kLines);
  std::fclose(file);
}

TEST(ProgressReporter, DefaultIntervals) {
  MemoryFile out;
  EXPECT_EQ(
      ProgressReporter(OptionsFor(ProgressReporter::Style::kLines, -1, out.file())).interval_s(),
      5.0);
  EXPECT_EQ(
      ProgressReporter(OptionsFor(ProgressReporter::Style::kBar, -1, out.file())).interval_s(),
      0.1);
  EXPECT_EQ(ProgressReporter::DefaultOptions(out.file(), false).interval_s, 5.0);
}

// ---------------------------------------------------------------- kLines

TEST(ProgressReporter, LinesAtMostOncePerInterval) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kLines, 5.0, out.file()));
  int calls = 0;
  // Steps every 0.25 s for 21 s: due at 5, 10, 15, 20.
  for (int step = 0; step <= 84; ++step) {
    progress.MaybeReport(step * 0.25, [&calls] {
      ++calls;
      return Example();
    });
  }
  const std::string text = out.contents();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(Count(text, "\n"), 4) << text;
  EXPECT_EQ(Count(text, "iteration 4700"), 4) << text;
}

TEST(ProgressReporter, LinesIntervalCountsFromTheLastReport) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kLines, 5.0, out.file()));
  int calls = 0;
  const auto snapshot = [&calls] {
    ++calls;
    return Example();
  };
  progress.MaybeReport(4.9, snapshot);  // not yet
  EXPECT_EQ(calls, 0);
  progress.MaybeReport(7.0, snapshot);  // due: next at 12
  progress.MaybeReport(11.9, snapshot);
  EXPECT_EQ(calls, 1);
  progress.MaybeReport(12.0, snapshot);
  EXPECT_EQ(calls, 2);
}

TEST(ProgressReporter, LinesFormatHasNoAnsi) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kLines, 0, out.file()));
  ProgressSnapshot snapshot = Example();
  snapshot.values.push_back({"evil", "\x1b[2J"});
  progress.MaybeReport(1.0, [&snapshot] { return snapshot; });
  progress.Event("worker 3 (127.0.0.1:7073) lost: \x1b[31mdeadline\x1b[0m");
  progress.Finish(snapshot);
  const std::string text = out.contents();
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_THAT(text, HasSubstr("iteration 4700  epoch 1175  12.3 s  47%  precision 1.2e-03  "
                              "answers 1175..1190 (1 lost)  objective 63.2  step 0.01"));
  EXPECT_THAT(text, HasSubstr("worker 3 (127.0.0.1:7073) lost: "));
  EXPECT_EQ(Count(text, "\n"), 3) << text;
}

TEST(ProgressReporter, LinesWithoutFractionOrPrecision) {
  ProgressSnapshot snapshot = Example();
  snapshot.fraction.reset();
  snapshot.precision.reset();
  snapshot.live = {true, true, true, true};
  snapshot.values.clear();
  EXPECT_EQ(FormatProgressLine(snapshot), "iteration 4700  epoch 1175  12.3 s  answers 1155..1190");
}

TEST(ProgressReporter, LinesManyWorkersAsRange) {
  const std::string line = FormatProgressLine(ManyWorkers());
  EXPECT_THAT(line, HasSubstr("answers 1000..1150 (1 lost)"));
}

TEST(ProgressReporter, FinishPrintsEvenWhenNotDue) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kLines, 5.0, out.file()));
  progress.MaybeReport(1.0, [] { return Example(); });
  EXPECT_EQ(out.contents(), "");
  ProgressSnapshot last = Example();
  last.iteration = 10000;
  progress.Finish(last);
  EXPECT_THAT(out.contents(), HasSubstr("iteration 10000"));
  // Nothing after Finish.
  progress.MaybeReport(100.0, [] { return Example(); });
  EXPECT_EQ(Count(out.contents(), "\n"), 1);
}

// ---------------------------------------------------------------- kBar

TEST(ProgressReporter, BarShowsPercentAndRedrawsInPlace) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kBar, 0.1, out.file()));
  progress.MaybeReport(0.0, [] { return Example(); });
  const std::string first = out.contents();
  // At 80 columns the bar takes what the text leaves: 17 cells, 7 of them done.
  EXPECT_THAT(first, HasSubstr("\r[#######..........]  47%  iteration 4700  epoch 1175  12.3 s  "
                               "precision 1.2e-03\x1b[K"));
  EXPECT_THAT(first, HasSubstr("answers  w0 1180  w1 1175  w2 1190  w3 lost"));
  EXPECT_THAT(first, HasSubstr("objective 63.2  step 0.01"));
  EXPECT_THAT(first, HasSubstr("\x1b[K"));
  EXPECT_THAT(first, Not(HasSubstr("\x1b[2A")));  // nothing to go back over yet
  progress.MaybeReport(0.2, [] { return Example(); });
  const std::string second = out.contents().substr(first.size());
  // Back to the first of the three lines, then overwrite.
  EXPECT_EQ(second.rfind("\r\x1b[2A", 0), 0u) << second;
  EXPECT_THAT(second, HasSubstr("47%"));
  // The bar never ends a line until Finish.
  EXPECT_NE(out.contents().back(), '\n');
  progress.Finish(Example());
  EXPECT_EQ(out.contents().back(), '\n');
}

TEST(ProgressReporter, BarEventPrintedAboveTheBar) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kBar, 0.1, out.file()));
  progress.MaybeReport(0.0, [] { return Example(); });
  const size_t before = out.contents().size();
  progress.Event("worker 3 (127.0.0.1:7073) lost: deadline exceeded");
  const std::string event = out.contents().substr(before);
  // Up to the bar's first line, clear to the end of the screen, the line, the bar again.
  EXPECT_EQ(event.rfind("\r\x1b[2A\x1b[Jworker 3 (127.0.0.1:7073) lost: deadline exceeded\n", 0),
            0u)
      << event;
  EXPECT_THAT(event, HasSubstr("47%  iteration 4700"));
  EXPECT_THAT(event, HasSubstr("answers  w0 1180"));
}

TEST(ProgressReporter, BarEventBeforeFirstDrawIsAPlainLine) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kBar, 0.1, out.file()));
  progress.Event("connected to 4 workers");
  EXPECT_EQ(out.contents(), "connected to 4 workers\n");
}

TEST(ProgressReporter, BarWithoutFractionSpins) {
  ProgressSnapshot snapshot = Example();
  snapshot.fraction.reset();
  // At 200 columns the bar has its most cells, 30.
  const std::vector<std::string> a = FormatProgressBar(snapshot, 200, 0);
  const std::vector<std::string> b = FormatProgressBar(snapshot, 200, 1);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].find('%'), std::string::npos) << a[0];
  EXPECT_EQ(a[0].rfind("[###" + std::string(27, '.') + "]    |  iteration 4700", 0), 0u) << a[0];
  EXPECT_EQ(b[0].rfind("[.###" + std::string(26, '.') + "]    /  iteration 4700", 0), 0u) << b[0];
  // The block bounces between the ends and stays inside the bar.
  bool reached_end = false;
  for (int64_t frame = 0; frame < 100; ++frame) {
    const std::string line = FormatProgressBar(snapshot, 200, frame)[0];
    EXPECT_EQ(line.find(']'), 31u) << line;
    EXPECT_EQ(Count(line.substr(0, 32), "#"), 3) << line;
    if (line.substr(28, 4) == "###]") reached_end = true;
  }
  EXPECT_TRUE(reached_end);
}

TEST(ProgressReporter, BarOmitsValuesLineWhenNone) {
  ProgressSnapshot snapshot = Example();
  snapshot.values.clear();
  EXPECT_EQ(FormatProgressBar(snapshot, 80, 0).size(), 2u);

  // Going from three lines to two clears the line left below.
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kBar, 0, out.file()));
  progress.MaybeReport(0.0, [] { return Example(); });
  const size_t before = out.contents().size();
  progress.MaybeReport(1.0, [&snapshot] { return snapshot; });
  const std::string second = out.contents().substr(before);
  EXPECT_EQ(second.rfind("\r\x1b[2A", 0), 0u);
  EXPECT_THAT(second, Not(HasSubstr("objective")));
  EXPECT_EQ(second.substr(second.size() - 3), "\x1b[J");
}

TEST(ProgressReporter, BarManyWorkersAbbreviated) {
  const std::vector<std::string> lines = FormatProgressBar(ManyWorkers(), 80, 0);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[1], "answers  16 workers  min 1000  max 1150  lost 1");
  EXPECT_THAT(lines[1], Not(HasSubstr("w15")));

  ProgressSnapshot eight = Example();
  eight.answer_count.resize(8, 7);
  eight.live.resize(8, true);
  EXPECT_THAT(FormatProgressBar(eight, 200, 0)[1], HasSubstr("w7 7"));
}

TEST(ProgressReporter, BarFitsTheWidth) {
  ProgressSnapshot snapshot = Example();
  snapshot.values.push_back({"note", std::string(300, 'x')});
  MemoryFile out;
  ProgressReporter::Options options = OptionsFor(ProgressReporter::Style::kBar, 0, out.file());
  options.width = 40;
  ProgressReporter progress(options);
  progress.MaybeReport(0.0, [&snapshot] { return snapshot; });
  progress.MaybeReport(1.0, [&snapshot] { return snapshot; });
  progress.Event(std::string(100, 'e'));
  progress.Finish(snapshot);
  const std::string text = out.contents();
  EXPECT_THAT(text, HasSubstr("47%"));
  for (const std::string& segment : VisibleSegments(text)) {
    EXPECT_LE(segment.size(), 39u) << segment;
  }
  // Cut by code points, not bytes: a multi-byte character is never split.
  snapshot.values = {{"ε", std::string(100, 'y')}};
  EXPECT_EQ(FormatProgressBar(snapshot, 20, 0)[2], "ε " + std::string(17, 'y'));
}

// ---------------------------------------------------------------- kQuiet

TEST(ProgressReporter, QuietWritesNothing) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kQuiet, 0, out.file()));
  int calls = 0;
  for (int step = 0; step < 100; ++step) {
    progress.MaybeReport(step * 1.0, [&calls] {
      ++calls;
      return Example();
    });
  }
  progress.Event("worker 1 lost");
  progress.Finish(Example());
  EXPECT_EQ(out.contents(), "");
  EXPECT_EQ(calls, 0);
}

// ---------------------------------------------------------------- the callback

TEST(ProgressReporter, SnapshotNotBuiltWhenNotDue) {
  MemoryFile out;
  ProgressReporter progress(OptionsFor(ProgressReporter::Style::kBar, 0.1, out.file()));
  int calls = 0;
  const auto snapshot = [&calls] {
    ++calls;
    return Example();
  };
  progress.MaybeReport(0.0, snapshot);  // the bar appears at once
  EXPECT_EQ(calls, 1);
  for (int i = 1; i <= 9; ++i) progress.MaybeReport(i * 0.01, snapshot);
  EXPECT_EQ(calls, 1);
  progress.MaybeReport(0.1, snapshot);
  EXPECT_EQ(calls, 2);
  progress.MaybeReport(0.15, snapshot);
  progress.MaybeReport(std::nan(""), snapshot);
  EXPECT_EQ(calls, 2);
  progress.MaybeReport(5.0, snapshot);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace aia
