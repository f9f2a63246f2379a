#include "coordinator/service/run_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/version.h"
#include "coordinator/history/history.h"
#include "google/protobuf/text_format.h"

namespace aia {
namespace {

constexpr char kSummaryFile[] = "service.textproto";

absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temporary));
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", error.message()));
  return absl::OkStatus();
}

// When `path` was last written, in Unix seconds (0 if it does not exist).
double ModifiedAt(const std::filesystem::path& path) {
  struct stat status;
  if (stat(path.c_str(), &status) != 0) return 0;
  return static_cast<double>(status.st_mtim.tv_sec) + status.st_mtim.tv_nsec * 1e-9;
}

// The number of run-N, for ordering; -1 for other names.
int64_t RunNumber(const std::string& id) {
  int64_t number = -1;
  if (id.rfind("run-", 0) != 0 || !absl::SimpleAtoi(id.substr(4), &number)) return -1;
  return number;
}

}  // namespace

absl::Status SaveServiceSummary(const std::string& dir, const v1::RunSummary& summary) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(summary, &text);
  return WriteAtomically((std::filesystem::path(dir) / kSummaryFile).string(), text);
}

absl::StatusOr<std::vector<v1::Record>> ReadHistory(const std::string& dir) {
  std::vector<v1::Record> records;
  std::ifstream in(std::filesystem::path(dir) / "history.csv");
  if (!in) return records;
  std::string line;
  int64_t number = 0;
  size_t first_value = 6;  // the algorithm's values follow the base columns
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::vector<std::string> cells = absl::StrSplit(line, ',');
    if (number == 1) {
      // save.staleness's column, a reserved name, is no algorithm value.
      if (cells.size() > 6 && cells[6] == kStalenessColumn) first_value = 7;
      continue;
    }
    v1::Record record;
    int64_t integer = 0;
    double real = 0;
    bool ok = cells.size() >= first_value;
    ok = ok && absl::SimpleAtoi(cells[0], &integer);
    record.set_record(integer);
    ok = ok && absl::SimpleAtoi(cells[1], &integer);
    record.set_iteration(integer);
    ok = ok && absl::SimpleAtoi(cells[2], &integer);
    record.set_epoch(integer);
    ok = ok && absl::SimpleAtod(cells[3], &real);
    record.set_time_s(real);
    if (ok && !cells[4].empty()) {
      ok = absl::SimpleAtod(cells[4], &real);
      record.set_precision(real);
    }
    record.set_worker(-1);
    if (ok && !cells[5].empty()) {
      ok = absl::SimpleAtoi(cells[5], &integer);
      record.set_worker(static_cast<int>(integer));
    }
    for (size_t i = first_value; ok && i < cells.size(); ++i) {
      ok = absl::SimpleAtod(cells[i], &real);
      record.add_values(real);
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat((std::filesystem::path(dir) / "history.csv").string(), ":", number,
                       ": not a history row"));
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<v1::RunSummary> LoadServiceRuns(const std::string& runs_dir,
                                            std::vector<std::string>* warnings) {
  std::vector<v1::RunSummary> runs;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(runs_dir, error)) {
    const std::filesystem::path file = entry.path() / kSummaryFile;
    if (!std::filesystem::exists(file, error)) continue;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    v1::RunSummary summary;
    if (!google::protobuf::TextFormat::ParseFromString(text.str(), &summary)) {
      warnings->push_back(absl::StrCat(file.string(), ": does not parse; the run is not listed"));
      continue;
    }
    if (summary.state() == "queued" || summary.state() == "running") {
      const std::string was = summary.state();
      summary.set_state("interrupted");
      summary.set_exit_status(1);
      // It ended, as far as anyone can tell, when its files were last written.
      summary.set_ended_at(std::max(ModifiedAt(entry.path() / "history.csv"), ModifiedAt(file)));
      summary.set_error(
          absl::StrCat("the coordinator service stopped while the run was ", was));
      const std::string dir = entry.path().string();
      absl::StatusOr<std::vector<v1::Record>> records = ReadHistory(dir);
      if (records.ok() && !records->empty()) {
        summary.set_iterations(records->back().iteration());
        summary.set_epochs(records->back().epoch());
        summary.set_elapsed_s(records->back().time_s());
      }
      if (!std::filesystem::exists(entry.path() / "summary.json", error)) {
        RunDirectory::Summary json;
        json.status = "interrupted";
        json.iterations = summary.iterations();
        json.epochs = summary.epochs();
        json.elapsed_s = summary.elapsed_s();
        json.error = summary.error();
        json.versions["aia"] = kVersion;
        WriteAtomically((entry.path() / "summary.json").string(), RunDirectory::SummaryJson(json))
            .IgnoreError();
      }
      if (absl::Status saved = SaveServiceSummary(dir, summary); !saved.ok()) {
        warnings->push_back(std::string(saved.message()));
      }
    }
    runs.push_back(std::move(summary));
  }
  std::sort(runs.begin(), runs.end(), [](const v1::RunSummary& a, const v1::RunSummary& b) {
    return RunNumber(a.run_id()) < RunNumber(b.run_id());
  });
  return runs;
}

}  // namespace aia
