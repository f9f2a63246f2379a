#include "coordinator/history/history.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <system_error>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "google/protobuf/text_format.h"

namespace aia {
namespace {

constexpr const char* kBaseColumns[] = {"record", "iteration", "epoch",
                                        "time_s", "precision", "worker"};
// Files a run writes; Create refuses a directory holding any of them.
constexpr const char* kRunFiles[] = {"history.csv",   "summary.json",  "config.textproto",
                                     "queries.npy",   "queries.binpb", "answers.npy",
                                     "answers.binpb", "answers.csv",   "workers.csv"};

absl::Status ErrnoStatus(int error_number, absl::string_view what, absl::string_view path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(what, " ", path));
}

// Shortest text that reads back to the same double.
std::string FormatDouble(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";  // JSON has no NaN or infinity.
  return FormatDouble(value);
}

// RFC 4180: quote a field holding a separator, quote or line break.
std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(field);
  }
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Length of the valid UTF-8 sequence at the start of `s`, or 0.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto byte = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  size_t length;
  unsigned char low = 0x80, high = 0xbf;  // Bounds of the second byte.
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    if (c == 0xe0) low = 0xa0;   // Overlong.
    if (c == 0xed) high = 0x9f;  // Surrogates.
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    if (c == 0xf0) low = 0x90;   // Overlong.
    if (c == 0xf4) high = 0x8f;  // Above U+10FFFF.
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

// A JSON string literal. Bytes that are not valid UTF-8 (error messages may
// carry anything) become U+FFFD so the file stays valid JSON.
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  while (!s.empty()) {
    const unsigned char c = s[0];
    const size_t length = Utf8SequenceLength(s);
    if (length == 0) {
      out += "\\ufffd";
      s.remove_prefix(1);
      continue;
    }
    if (length > 1) {
      out.append(s.data(), length);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
    s.remove_prefix(length);
  }
  out += '"';
  return out;
}

// Writes `content` to `path` + ".tmp" and renames it over `path`, so readers
// see the old or the new file whole. On any failure the temporary file is
// removed and the previous `path` (if any) stays as it was.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, bool sync) {
  const std::string temp = path + ".tmp";
  absl::StatusOr<std::unique_ptr<AppendFile>> file =
      AppendFile::Create(temp, /*exclusive=*/false);
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Append(content);
  if (status.ok() && sync) status = (*file)->Sync();
  file->reset();
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(errno, "cannot rename to", path);
  }
  if (!status.ok()) ::unlink(temp.c_str());
  return status;
}

// Protobuf's base-128 varint, as before each message of a .binpb file.
std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RunDirectory>> RunDirectory::Create(
    const std::string& dir, const aia::v1::RunConfig& resolved_config,
    const std::vector<std::string>& extra_columns) {
  std::vector<std::string> columns(std::begin(kBaseColumns), std::end(kBaseColumns));
  std::set<std::string> seen(columns.begin(), columns.end());
  seen.insert(kStalenessColumn);
  const bool staleness = resolved_config.save().staleness();
  if (staleness) columns.push_back(kStalenessColumn);
  for (const std::string& name : extra_columns) {
    if (name.empty()) {
      return absl::InvalidArgumentError("history: empty extra column name");
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("history: column '", name, "' given twice"));
    }
    columns.push_back(name);
  }

  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::ErrnoToStatus(error.value(), absl::StrCat("cannot create directory ", dir));
  }
  auto run = absl::WrapUnique(new RunDirectory(dir, staleness, extra_columns.size()));
  for (const char* name : kRunFiles) {
    const std::string path = run->FilePath(name);
    if (std::filesystem::exists(path, error)) {
      return absl::FailedPreconditionError(
          absl::StrCat("run directory ", dir, " already holds ", path,
                       "; refusing to overwrite a run (choose another --out)"));
    }
  }

  std::string config_text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetExpandAny(true);  // a plugin's params as the config wrote them
  if (!printer.PrintToString(resolved_config, &config_text)) {
    return absl::InternalError("cannot print the config as text");
  }
  RETURN_IF_ERROR(WriteFileAtomically(run->FilePath("config.textproto"), config_text,
                                      /*sync=*/false));

  const std::string history_path = run->FilePath("history.csv");
  // Exclusive: fail rather than truncate if a run appeared since the check above.
  ASSIGN_OR_RETURN(run->history_, AppendFile::Create(history_path, /*exclusive=*/true));
  std::vector<std::string> header;
  for (const std::string& name : columns) header.push_back(CsvField(name));
  RETURN_IF_ERROR(run->WriteLine(*run->history_, absl::StrJoin(header, ",")));
  return run;
}

RunDirectory::RunDirectory(std::string dir, bool staleness, int64_t extra_columns)
    : dir_(std::move(dir)), staleness_(staleness), extra_columns_(extra_columns) {
  queries_.stem = "queries";
  answer_payloads_.stem = "answers";
}

RunDirectory::~RunDirectory() = default;

std::string RunDirectory::FilePath(absl::string_view name) const {
  return (std::filesystem::path(dir_) / std::string(name)).string();
}

absl::Status RunDirectory::WriteLine(AppendFile& file, const std::string& line) {
  // One write of the whole row: on a full disk it is on disk whole or not at all.
  absl::Status status = file.Append(absl::StrCat(line, "\n"));
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status RunDirectory::CheckPayload(const PayloadFile& file, absl::string_view payload,
                                        bool dense) const {
  if (file.dense.has_value() && *file.dense != dense) {
    return absl::InvalidArgumentError(
        absl::StrCat("history: ", file.stem, " are ", *file.dense ? "dense" : "not dense",
                     " since the first one, but this one is ", dense ? "dense" : "not dense"));
  }
  if (!dense) return absl::OkStatus();
  if (payload.size() % sizeof(double) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("history: dense ", file.stem, " payload of ",
                                                   payload.size(),
                                                   " bytes is not a whole number of float64"));
  }
  const int64_t dim = payload.size() / sizeof(double);
  if (file.npy != nullptr && dim != file.npy->columns()) {
    return absl::InvalidArgumentError(absl::StrCat("history: dense ", file.stem, " of dimension ",
                                                   dim, " in ", file.stem, ".npy of dimension ",
                                                   file.npy->columns()));
  }
  return absl::OkStatus();
}

absl::Status RunDirectory::WritePayload(PayloadFile& file, absl::string_view payload, bool dense) {
  if (!file.dense.has_value()) {
    if (dense) {
      auto npy = NpyWriter::Create(FilePath(file.stem + ".npy"), payload.size() / sizeof(double));
      if (!npy.ok()) {
        error_ = npy.status();
        return error_;
      }
      file.npy = std::move(npy).value();
    } else {
      auto binpb = AppendFile::Create(FilePath(file.stem + ".binpb"), /*exclusive=*/true);
      if (!binpb.ok()) {
        error_ = binpb.status();
        return error_;
      }
      file.binpb = std::move(binpb).value();
    }
    file.dense = dense;
  }
  if (dense) {
    absl::Status status = file.npy->AppendBytes(payload);
    if (status.ok()) status = file.npy->Flush();
    if (!status.ok()) error_ = status;
    return status;
  }
  absl::Status status = file.binpb->Append(absl::StrCat(Varint(payload.size()), payload));
  if (!status.ok()) error_ = status;
  return status;
}

absl::Status RunDirectory::UnwritePayload(PayloadFile& file, int64_t binpb_length) {
  absl::Status status =
      file.npy != nullptr ? file.npy->RemoveLastRow() : file.binpb->Truncate(binpb_length);
  if (!status.ok() && error_.ok()) error_ = status;
  return status;
}

absl::Status RunDirectory::Append(const Record& record, absl::string_view query, bool dense) {
  RETURN_IF_ERROR(error_);
  if (static_cast<int64_t>(record.extra.size()) != extra_columns_) {
    return absl::InvalidArgumentError(absl::StrCat("history: record has ", record.extra.size(),
                                                   " extra values for ", extra_columns_,
                                                   " extra columns"));
  }
  RETURN_IF_ERROR(CheckPayload(queries_, query, dense));
  // The query first: every row of history.csv then has its query on disk.
  const int64_t binpb_length = queries_.binpb != nullptr ? queries_.binpb->length() : 0;
  RETURN_IF_ERROR(WritePayload(queries_, query, dense));

  char time_s[64];
  std::snprintf(time_s, sizeof(time_s), "%.6f", record.time_s);
  std::string line =
      absl::StrCat(records_, ",", record.iteration, ",", record.epoch, ",", time_s, ",",
                   record.precision.has_value() ? FormatDouble(*record.precision) : "", ",",
                   record.worker.has_value() ? absl::StrCat(*record.worker) : "");
  if (staleness_) {
    absl::StrAppend(&line, ",",
                    record.staleness.has_value() ? absl::StrCat(*record.staleness) : "");
  }
  for (double value : record.extra) absl::StrAppend(&line, ",", FormatDouble(value));
  if (absl::Status status = WriteLine(*history_, line); !status.ok()) {
    // No row for this query: take the query back, so the files agree.
    UnwritePayload(queries_, binpb_length).IgnoreError();
    return status;
  }
  ++records_;
  return absl::OkStatus();
}

absl::Status RunDirectory::AppendAnswer(int64_t record, int worker, absl::string_view answer,
                                        bool dense) {
  RETURN_IF_ERROR(error_);
  if (record < 0 || record >= records_) {
    return absl::InvalidArgumentError(absl::StrCat("history: answer for record ", record,
                                                   " but records 0..", records_ - 1, " are saved"));
  }
  if (worker < 0) {
    return absl::InvalidArgumentError(absl::StrCat("history: answer from worker ", worker));
  }
  RETURN_IF_ERROR(CheckPayload(answer_payloads_, answer, dense));
  if (answers_csv_ == nullptr) {
    auto csv = AppendFile::Create(FilePath("answers.csv"), /*exclusive=*/true);
    if (!csv.ok()) {
      error_ = csv.status();
      return error_;
    }
    answers_csv_ = std::move(csv).value();
    RETURN_IF_ERROR(WriteLine(*answers_csv_, "record,worker"));
  }
  const int64_t binpb_length =
      answer_payloads_.binpb != nullptr ? answer_payloads_.binpb->length() : 0;
  RETURN_IF_ERROR(WritePayload(answer_payloads_, answer, dense));
  if (absl::Status status = WriteLine(*answers_csv_, absl::StrCat(record, ",", worker));
      !status.ok()) {
    UnwritePayload(answer_payloads_, binpb_length).IgnoreError();
    return status;
  }
  ++answers_;
  return absl::OkStatus();
}

absl::Status RunDirectory::WriteWorkers(const std::vector<WorkerRow>& workers) {
  std::string content =
      "worker,address,answers,failures,mean_compute_s,state,cause,version,host,shard_digest\n";
  for (const WorkerRow& row : workers) {
    absl::StrAppend(&content, row.worker, ",", CsvField(row.address), ",", row.answers, ",",
                    row.failures, ",", FormatDouble(row.mean_compute_s), ",", CsvField(row.state),
                    ",", CsvField(row.cause), ",", CsvField(row.version), ",",
                    CsvField(row.host), ",", CsvField(row.shard_digest), "\n");
  }
  return WriteFileAtomically(FilePath("workers.csv"), content,
                             /*sync=*/false);
}

std::string RunDirectory::SummaryJson(const Summary& summary) {
  std::vector<std::string> fields;
  fields.push_back(absl::StrCat("\"status\": ", JsonString(summary.status)));
  fields.push_back(absl::StrCat("\"stop_reason\": ", JsonString(summary.stop_reason)));
  fields.push_back(absl::StrCat("\"iterations\": ", summary.iterations));
  fields.push_back(absl::StrCat("\"epochs\": ", summary.epochs));
  fields.push_back(absl::StrCat("\"elapsed_s\": ", JsonNumber(summary.elapsed_s)));
  fields.push_back(
      absl::StrCat("\"answer_count\": [", absl::StrJoin(summary.answer_count, ", "), "]"));
  if (!summary.error.empty()) {
    fields.push_back(absl::StrCat("\"error\": ", JsonString(summary.error)));
  }
  // An object of `entries` ("key": value texts), nested one level.
  const auto object = [](const std::vector<std::string>& entries) {
    if (entries.empty()) return std::string("{}");
    return absl::StrCat("{\n    ", absl::StrJoin(entries, ",\n    "), "\n  }");
  };
  std::vector<std::string> entries;
  for (const auto& [name, version] : summary.versions) {
    entries.push_back(absl::StrCat(JsonString(name), ": ", JsonString(version)));
  }
  fields.push_back(absl::StrCat("\"versions\": ", object(entries)));
  if (!summary.report.empty()) {
    entries.clear();
    for (const auto& [name, value] : summary.report) {
      entries.push_back(absl::StrCat(JsonString(name), ": ", JsonNumber(value)));
    }
    fields.push_back(absl::StrCat("\"report\": ", object(entries)));
  }
  return absl::StrCat("{\n  ", absl::StrJoin(fields, ",\n  "), "\n}\n");
}

absl::Status RunDirectory::WriteSummary(const Summary& summary) {
  return WriteFileAtomically(FilePath("summary.json"), SummaryJson(summary),
                             /*sync=*/true);
}

}  // namespace aia
