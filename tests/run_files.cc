#include "tests/run_files.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/process.h"

namespace aia::testing {

std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(ReadFileOrDie(path), '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

int64_t ToInt(const std::string& text) {
  int64_t value = -1;
  EXPECT_TRUE(absl::SimpleAtoi(text, &value)) << "not an integer: '" << text << "'";
  return value;
}

std::vector<int64_t> JsonIntList(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": [");
  if (at == std::string::npos) return {};
  const size_t open = json.find('[', at), close = json.find(']', at);
  std::vector<int64_t> values;
  for (absl::string_view item :
       absl::StrSplit(json.substr(open + 1, close - open - 1), ',', absl::SkipWhitespace())) {
    values.push_back(ToInt(std::string(absl::StripAsciiWhitespace(item))));
  }
  return values;
}

int64_t JsonInt(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  const size_t start = at + key.size() + 4;
  return ToInt(json.substr(start, json.find_first_of(",\n}", start) - start));
}

double JsonDouble(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  double value = std::nan("");
  if (at == std::string::npos) return value;
  const size_t start = at + key.size() + 4;
  EXPECT_TRUE(
      absl::SimpleAtod(json.substr(start, json.find_first_of(",\n}", start) - start), &value));
  return value;
}

}  // namespace aia::testing
