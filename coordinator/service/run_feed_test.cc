#include "coordinator/service/run_feed.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace aia {
namespace {

v1::RunSummary Summary(const std::string& state) {
  v1::RunSummary summary;
  summary.set_run_id("run-1");
  summary.set_state(state);
  return summary;
}

RecordRow Row(int64_t record) {
  RecordRow row;
  row.record = record;
  row.iteration = record * 10;
  row.worker = static_cast<int>(record % 2);
  row.values = {0.5 * static_cast<double>(record)};
  return row;
}

// Every update the cursor gets now, as kinds: "summary:STATE", "record:N",
// "event:TEXT", "progress:ITERATION"; "end" when the feed says the run is over.
std::vector<std::string> Drain(RunFeed& feed, RunFeed::Cursor& cursor) {
  std::vector<std::string> kinds;
  for (int i = 0; i < 1000; ++i) {
    bool ended = false;
    std::optional<v1::RunUpdate> update = feed.Next(cursor, &ended);
    if (!update.has_value()) {
      if (ended) kinds.push_back("end");
      break;
    }
    switch (update->kind_case()) {
      case v1::RunUpdate::kSummary:
        kinds.push_back("summary:" + update->summary().state());
        break;
      case v1::RunUpdate::kRecord:
        kinds.push_back("record:" + std::to_string(update->record().record()));
        break;
      case v1::RunUpdate::kEvent:
        kinds.push_back("event:" + update->event());
        break;
      case v1::RunUpdate::kProgress:
        kinds.push_back("progress:" + std::to_string(update->progress().iteration()));
        break;
      default:
        kinds.push_back("?");
    }
  }
  return kinds;
}

TEST(RunFeed, SummaryFirstThenRecordsEventsAndTheLatestProgress) {
  RunFeed feed(Summary("queued"));
  RunFeed::Cursor cursor;
  EXPECT_EQ(Drain(feed, cursor), (std::vector<std::string>{"summary:queued"}));
  feed.SetSummary(Summary("running"));
  feed.Record(Row(0));
  feed.Event("worker 0 ready");
  ProgressSnapshot snapshot;
  snapshot.iteration = 5;
  feed.Progress(snapshot);
  snapshot.iteration = 9;
  feed.Progress(snapshot);  // a watcher that was busy sees only the latest
  feed.Record(Row(1));
  EXPECT_EQ(Drain(feed, cursor),
            (std::vector<std::string>{"record:0", "record:1", "event:worker 0 ready",
                                      "summary:running", "progress:9"}));
  EXPECT_TRUE(Drain(feed, cursor).empty());  // nothing new, not ended
}

TEST(RunFeed, AnEndedRunEndsTheStreamAfterEveryRecordAndTheFinalSummary) {
  RunFeed feed(Summary("running"));
  RunFeed::Cursor cursor;
  Drain(feed, cursor);
  feed.Record(Row(0));
  feed.Record(Row(1));
  feed.SetSummary(Summary("completed"));
  EXPECT_EQ(Drain(feed, cursor),
            (std::vector<std::string>{"record:0", "record:1", "summary:completed", "end"}));
}

TEST(RunFeed, ACursorResumesFromARecordNumber) {
  RunFeed feed(Summary("completed"));
  std::vector<v1::Record> records(5);
  for (int i = 0; i < 5; ++i) records[i].set_record(i);
  feed.SetRecords(records);
  RunFeed::Cursor cursor;
  cursor.next_record = 3;
  EXPECT_EQ(Drain(feed, cursor),
            (std::vector<std::string>{"summary:completed", "record:3", "record:4", "end"}));
}

TEST(RunFeed, RecordsCarryTheirValuesAndAnswersSumTheProgress) {
  RunFeed feed(Summary("running"));
  feed.Record(Row(3));
  ProgressSnapshot snapshot;
  snapshot.answer_count = {4, 6, 0};
  feed.Progress(snapshot);
  EXPECT_EQ(feed.answers(), 10);
  v1::RunSummary summary = Summary("running");
  feed.AddProgress(summary);
  EXPECT_EQ(summary.answer_count_size(), 3);
  EXPECT_EQ(summary.answer_count(1), 6);
  RunFeed::Cursor cursor;
  bool ended = false;
  feed.Next(cursor, &ended);  // the summary
  std::optional<v1::RunUpdate> record = feed.Next(cursor, &ended);
  ASSERT_TRUE(record.has_value() && record->has_record());
  EXPECT_EQ(record->record().iteration(), 30);
  EXPECT_EQ(record->record().worker(), 1);
  ASSERT_EQ(record->record().values_size(), 1);
  EXPECT_DOUBLE_EQ(record->record().values(0), 1.5);
  EXPECT_FALSE(record->record().has_precision());
}

TEST(RunFeed, OldEventsGoFirstWhenTheLimitIsReached) {
  RunFeed feed(Summary("completed"));
  for (int i = 0; i < 250; ++i) feed.Event("line " + std::to_string(i));
  RunFeed::Cursor cursor;
  const std::vector<std::string> kinds = Drain(feed, cursor);
  ASSERT_EQ(kinds.size(), 1 + 200 + 1u);
  EXPECT_EQ(kinds[1], "event:line 50");
  EXPECT_EQ(kinds[200], "event:line 249");
}

class CountingWatcher : public RunFeed::Watcher {
 public:
  void Wake() override { ++wakes; }
  int wakes = 0;
};

TEST(RunFeed, WatchersAreWokenUntilTheyUnsubscribe) {
  RunFeed feed(Summary("running"));
  CountingWatcher watcher;
  feed.Subscribe(&watcher);
  EXPECT_EQ(feed.watchers(), 1);
  feed.Record(Row(0));
  feed.Event("x");
  EXPECT_EQ(watcher.wakes, 2);
  feed.Unsubscribe(&watcher);
  feed.Record(Row(1));
  EXPECT_EQ(watcher.wakes, 2);
  EXPECT_EQ(feed.watchers(), 0);
}

}  // namespace
}  // namespace aia
