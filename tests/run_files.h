// Readers of a run directory's files for tests: CSV rows and summary.json fields.
#ifndef AIA_TESTS_RUN_FILES_H_
#define AIA_TESTS_RUN_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace aia::testing {

// The rows of a CSV file without quoted fields, split at commas (header included).
std::vector<std::vector<std::string>> ReadCsv(const std::string& path);

// The integer `text` (a test failure if it is not one).
int64_t ToInt(const std::string& text);

// The integers of the JSON list after "key": in `json` (summary.json's layout).
std::vector<int64_t> JsonIntList(const std::string& json, const std::string& key);

// The integer after "key": in `json`, or -1.
int64_t JsonInt(const std::string& json, const std::string& key);

// The number after "key": in `json`, or NaN.
double JsonDouble(const std::string& json, const std::string& key);

}  // namespace aia::testing

#endif  // AIA_TESTS_RUN_FILES_H_
