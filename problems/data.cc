#include "problems/data.h"

#include <cmath>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace aia {
namespace {

bool IsCsvName(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  return absl::EndsWith(lower, ".csv") || absl::EndsWith(lower, ".csv.gz");
}

absl::Status ValidateSynthetic(const v1::SyntheticData& spec) {
  if (spec.rows() < 1 || spec.rows() > kMaxDenseElements) {
    return absl::InvalidArgumentError(absl::StrCat("problem.synthetic.rows must be in [1, ",
                                                   kMaxDenseElements, "], not ", spec.rows()));
  }
  if (spec.columns() < 1 || spec.columns() > kMaxDenseElements / spec.rows()) {
    return absl::InvalidArgumentError(
        absl::StrCat("problem.synthetic.columns must be in [1, ", kMaxDenseElements / spec.rows(),
                     "] (rows × columns <= ", kMaxDenseElements, "), not ", spec.columns()));
  }
  if (!std::isfinite(spec.noise()) || spec.noise() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("problem.synthetic.noise must be finite and >= 0, not ", spec.noise()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Dataset> LoadDataFile(const v1::DataFile& file, const std::string& data_root) {
  if (file.path().empty()) return absl::InvalidArgumentError("problem.file.path is empty");
  if (file.features() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("problem.file.features must be >= 0, not ", file.features()));
  }
  // Opened beneath the root in one step: nothing can swap a link between a check
  // and the open.
  ASSIGN_OR_RETURN(OpenedFile opened, OpenBeneath(data_root, file.path()));
  const std::string name = opened.name();
  const bool csv = file.format() == v1::DataFile::CSV ||
                   (file.format() == v1::DataFile::FORMAT_UNSPECIFIED && IsCsvName(file.path()));
  if (!csv) {
    if (file.label_column() != 0 || file.header() != v1::DataFile::HEADER_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("problem.file.label_column and problem.file.header "
                       "apply to CSV files, and '",
                       file.path(), "' is read as LIBSVM"));
    }
    return ReadLibsvm(std::move(opened), file.features());
  }
  ASSIGN_OR_RETURN(Dataset data, ReadCsv(std::move(opened), file.label_column(), file.header()));
  if (file.features() > 0 && data.features.cols() != file.features()) {
    return absl::InvalidArgumentError(absl::StrCat("problem.file.features is ", file.features(),
                                                   " but ", name, " has ", data.features.cols(),
                                                   " feature columns"));
  }
  return data;
}

absl::StatusOr<Dataset> GenerateSynthetic(const v1::SyntheticData& spec,
                                          const std::vector<int64_t>* keep) {
  RETURN_IF_ERROR(ValidateSynthetic(spec));
  const int64_t rows = spec.rows();
  const int64_t columns = spec.columns();
  const int64_t kept = keep == nullptr ? rows : static_cast<int64_t>(keep->size());

  std::mt19937_64 engine(spec.seed());
  std::normal_distribution<double> normal(0.0, 1.0);
  Vector x_star(columns);
  for (int64_t j = 0; j < columns; ++j) x_star(j) = normal(engine);

  Dataset data;
  data.source = absl::StrCat("synthetic data (seed ", spec.seed(), ", noise ", spec.noise(), ")");
  data.features.resize(kept, columns);
  data.labels.resize(kept);
  Vector row(columns);
  int64_t next = 0;  // into *keep
  for (int64_t i = 0; i < rows && next < kept; ++i) {
    for (int64_t j = 0; j < columns; ++j) row(j) = normal(engine);
    const double noise = normal(engine);
    if (keep != nullptr && (*keep)[next] != i) continue;
    data.features.row(next) = row.transpose();
    data.labels(next) = row.dot(x_star) + spec.noise() * noise;
    ++next;
  }
  if (next != kept) {
    return absl::InternalError("GenerateSynthetic: `keep` is not increasing or out of range");
  }
  return data;
}

absl::StatusOr<DataShard> LoadShard(const ProblemContext& context) {
  const v1::ProblemSpec& spec = context.spec;
  const int index = context.worker_index;
  const int count = context.worker_count;
  if (count < 1 || index < 0 || index >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker index ", index, " is not in [0, ", count, ")"));
  }
  auto no_rows = [&](int64_t total) {
    return absl::FailedPreconditionError(absl::StrCat(
        "worker ", index, " of ", count, " gets no rows: the data has ", total, " rows"));
  };

  DataShard shard;
  std::vector<int64_t> mine;
  switch (spec.source_case()) {
    case v1::ProblemSpec::kFile: {
      ASSIGN_OR_RETURN(Dataset full, LoadDataFile(spec.file(), context.data_root));
      shard.total_rows = full.features.rows();
      mine = ShardRows(shard.total_rows, index, count, spec.sharding());
      if (mine.empty()) return no_rows(shard.total_rows);
      if (static_cast<int64_t>(mine.size()) == shard.total_rows) {
        shard.data = std::move(full);
        break;
      }
      shard.data.source = std::move(full.source);
      shard.data.features.resize(static_cast<int64_t>(mine.size()), full.features.cols());
      shard.data.labels.resize(static_cast<int64_t>(mine.size()));
      for (size_t k = 0; k < mine.size(); ++k) {
        shard.data.features.row(k) = full.features.row(mine[k]);
        shard.data.labels(k) = full.labels(mine[k]);
      }
      break;
    }
    case v1::ProblemSpec::kSynthetic: {
      // Validate first so that a bad row count is reported as such, not as "no
      // rows".
      RETURN_IF_ERROR(ValidateSynthetic(spec.synthetic()));
      shard.total_rows = spec.synthetic().rows();
      mine = ShardRows(shard.total_rows, index, count, spec.sharding());
      if (mine.empty()) return no_rows(shard.total_rows);
      ASSIGN_OR_RETURN(shard.data, GenerateSynthetic(spec.synthetic(), &mine));
      break;
    }
    default:
      return absl::InvalidArgumentError("problem.file or problem.synthetic is required");
  }

  if (count == 1) {
    shard.description = absl::StrCat(shard.total_rows, " rows of ", shard.data.source);
  } else {
    shard.description = absl::StrCat(mine.size(), " of ", shard.total_rows, " rows (",
                                     ShardingName(spec.sharding()), " shard ", index, " of ", count,
                                     ") of ", shard.data.source);
  }
  return shard;
}

}  // namespace aia
