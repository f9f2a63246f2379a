// RunDirectory writes a run's history to disk as the run goes: the run
// directory contract of docs (ARCHITECTURE.md, "The run directory").
//
//   config.textproto   the resolved config (written by Create)
//   history.csv record,iteration,epoch,time_s,precision,worker[,staleness][,extra...]
//                      one row per saved record, header first; staleness with
//                      save.staleness
//   queries.npy        dense queries, float64 [records, dim] (.npy v1.0), or
//   queries.binpb      other queries, each a varint length then the bytes
//   answers.npy        with save_answers: dense answers [answers, dim], or
//   answers.binpb      other answers (length-delimited, as queries.binpb)
//   answers.csv        record,worker: the record and origin of each answer
//   workers.csv        worker,address,answers,failures,mean_compute_s,state,cause
//   summary.json       status, stop_reason, counters, versions; written last
//
// Every Append/AppendAnswer writes its rows with write(2) before it returns,
// the payload before the CSV row that refers to it, so a killed coordinator
// leaves files that load and agree up to the last completed call.
// workers.csv and summary.json are replaced atomically (temporary file, then
// rename); summary.json is also fsynced.
//
// A full disk (ENOSPC, EFBIG, any write error): each row is written whole or
// not at all (AppendFile cuts a partial write off), and when a CSV row cannot
// be written the payload written for it is taken back, so history.csv,
// queries.*, answers.csv and answers.* always end on whole rows and agree (the
// .npy header counts the rows kept). The first error is returned, and by every
// later Append; WriteSummary still works where the disk has room for it, and
// reports "cannot write summary.json.tmp: ..." (removing the temporary file)
// where it has not.
//
// Number formats: integers plain; doubles in the shortest text that reads
// back to the same double (std::to_chars; "nan", "inf" in CSV, null in JSON);
// time_s in history.csv with "%.6f"; absent precision/worker as an empty
// field. CSV fields holding a comma, quote, CR or LF are quoted (RFC 4180).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<RunDirectory> run,
//                    RunDirectory::Create("runs/x", config, {"loss"}));
//   RunDirectory::Record record0{/*iteration=*/0, /*epoch=*/0, /*time_s=*/0,
//                                std::nullopt, std::nullopt, {loss0}};
//   RETURN_IF_ERROR(run->Append(record0, q0_bytes, /*dense=*/true));
//   ...
//   RETURN_IF_ERROR(run->WriteSummary(summary));
//
// Thread safety: a RunDirectory is not thread-safe; one thread (the
// coordinator's central loop) uses it.
#ifndef AIA_COORDINATOR_HISTORY_HISTORY_H_
#define AIA_COORDINATOR_HISTORY_HISTORY_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "coordinator/history/append_file.h"
#include "coordinator/history/npy_writer.h"
#include "proto/config.pb.h"

namespace aia {

// The history.csv column of save.staleness, after `worker`; a reserved name.
inline constexpr char kStalenessColumn[] = "staleness";

class RunDirectory {
 public:
  // One saved record: a row of history.csv and a query.
  struct Record {
    int64_t iteration = 0;
    int64_t epoch = 0;
    // Seconds since q0 was sent.
    double time_s = 0;
    // Distance to the previous query; absent for record 0 or when unknown.
    std::optional<double> precision;
    // The worker whose answer produced this record; absent for record 0.
    std::optional<int> worker;
    // One value per extra column given to Create, in that order.
    std::vector<double> extra;
    // The staleness of that worker's answer: written only with save.staleness,
    // absent for record 0 and synchronous rounds.
    std::optional<int64_t> staleness;
  };

  // One row of workers.csv.
  struct WorkerRow {
    int worker = 0;
    std::string address;
    int64_t answers = 0;
    int64_t failures = 0;
    double mean_compute_s = 0;
    // For example "alive", "lost", "stopped".
    std::string state;
    // Why it was last lost (empty if never).
    std::string cause;
    // What its last Ready said: its aia version, host name and shard digest.
    std::string version;
    std::string host;
    std::string shard_digest;
  };

  // The content of summary.json.
  struct Summary {
    // "completed", "failed" or "cancelled".
    std::string status;
    std::string stop_reason;
    int64_t iterations = 0;
    int64_t epochs = 0;
    double elapsed_s = 0;
    // By worker index.
    std::vector<int64_t> answer_count;
    // Written only when non-empty (a failed run's reason).
    std::string error;
    // Component name to version.
    std::map<std::string, std::string> versions;
    // The algorithm's final report; written only when non-empty.
    std::map<std::string, double> report;
  };

  // Creates `dir` and its parents if needed, writes config.textproto and the
  // header of history.csv (base columns, `staleness` when
  // resolved_config.save.staleness, then `extra_columns`).
  // FailedPrecondition naming the file if `dir` already holds any file of a
  // run (history.csv, summary.json, config.textproto, queries.*, answers.*,
  // workers.csv): a run is never overwritten. InvalidArgument if an extra
  // column name is empty or repeats a column name; `staleness` is reserved
  // (readers tell the column by its name), so it is refused as an extra.
  static absl::StatusOr<std::unique_ptr<RunDirectory>> Create(
      const std::string& dir, const aia::v1::RunConfig& resolved_config,
      const std::vector<std::string>& extra_columns = {});

  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // Saves one record: its query (to queries.npy when `dense`, else to
  // queries.binpb) and its row of history.csv, whose `record` column is the
  // number of records saved before it (0, 1, 2, ...; the row index in
  // queries.npy). Dense queries are little-endian float64 bytes.
  // InvalidArgument (nothing written) if record.extra does not match the extra
  // columns, a dense query's size is not a multiple of 8 or differs from the
  // first dense query's (which fixes the dimension), or `dense` differs from
  // the first call's.
  absl::Status Append(const Record& record, absl::string_view query, bool dense);

  // Saves one answer behind saved record `record` and its origin `worker`:
  // the answer to answers.npy (dense, same rules as Append) or answers.binpb,
  // and a row of answers.csv. The files are created on first use.
  // InvalidArgument (nothing written) if `record` is not a saved record,
  // worker < 0, or the answer breaks the dense rules.
  absl::Status AppendAnswer(int64_t record, int worker, absl::string_view answer, bool dense);

  // Writes workers.csv whole, replacing the previous one atomically; may be
  // called any number of times during a run.
  absl::Status WriteWorkers(const std::vector<WorkerRow>& workers);

  // Writes summary.json atomically (summary.json.tmp, fflush, fsync, rename).
  // Call it last.
  absl::Status WriteSummary(const Summary& summary);

  // The run directory, as given to Create.
  const std::string& path() const { return dir_; }
  // How many records were saved (the next record number).
  int64_t records() const { return records_; }
  // How many answers were saved.
  int64_t answers() const { return answers_; }

  // The text of summary.json for `summary` (pretty-printed JSON).
  static std::string SummaryJson(const Summary& summary);

 private:
  // A stream of payloads: .npy when dense, else length-delimited .binpb.
  struct PayloadFile {
    std::string stem;  // "queries" or "answers"
    std::optional<bool> dense;
    std::unique_ptr<NpyWriter> npy;
    std::unique_ptr<AppendFile> binpb;
  };

  RunDirectory(std::string dir, bool staleness, int64_t extra_columns);

  absl::Status CheckPayload(const PayloadFile& file, absl::string_view payload, bool dense) const;
  absl::Status WritePayload(PayloadFile& file, absl::string_view payload, bool dense);
  // Takes back the payload WritePayload wrote last (its row could not be written).
  absl::Status UnwritePayload(PayloadFile& file, int64_t binpb_length);
  // Appends `line` and a line end, whole or not at all; records an error.
  absl::Status WriteLine(AppendFile& file, const std::string& line);
  std::string FilePath(absl::string_view name) const;

  std::string dir_;
  bool staleness_;  // whether history.csv has the staleness column
  int64_t extra_columns_;
  std::unique_ptr<AppendFile> history_;
  std::unique_ptr<AppendFile> answers_csv_;
  PayloadFile queries_;
  PayloadFile answer_payloads_;
  int64_t records_ = 0;
  int64_t answers_ = 0;
  // The first I/O error; later writes return it. The files stay consistent:
  // each ends on a whole row and they agree (see "A full disk" above).
  absl::Status error_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_HISTORY_HISTORY_H_
