#include "worker/problem_cache.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace aia {

std::string ProblemCache::Key(const v1::ProblemSpec& spec, const std::string& data_root,
                              int worker_index, int worker_count) {
  std::string spec_bytes;
  spec.SerializeToString(&spec_bytes);
  std::string key =
      absl::StrCat(data_root, "\n", worker_index, "/", worker_count, "\n", spec_bytes);
  if (spec.has_file()) {
    // A relative path is relative to the data root; an unreadable file gets no
    // stamp and is never cached, because building it fails.
    const std::string& path = spec.file().path();
    const std::string full = !path.empty() && path[0] == '/' ? path : data_root + "/" + path;
    struct stat info;
    if (stat(full.c_str(), &info) == 0) {
      absl::StrAppend(&key, "\n", info.st_size, "@", info.st_mtim.tv_sec, ".",
                      info.st_mtim.tv_nsec);
    }
  }
  return key;
}

std::unique_ptr<Problem> ProblemCache::Take(const std::string& key) {
  absl::MutexLock lock(&mu_);
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      std::unique_ptr<Problem> problem = std::move(it->second);
      bytes_ -= problem->memory_bytes();
      entries_.erase(it);
      return problem;
    }
  }
  return nullptr;
}

void ProblemCache::Put(const std::string& key, std::unique_ptr<Problem> problem) {
  if (capacity_ <= 0 || problem == nullptr || problem->memory_bytes() > max_bytes_) return;
  absl::MutexLock lock(&mu_);
  bytes_ += problem->memory_bytes();
  entries_.emplace_front(key, std::move(problem));
  while (static_cast<int>(entries_.size()) > capacity_ || bytes_ > max_bytes_) {
    bytes_ -= entries_.back().second->memory_bytes();
    entries_.pop_back();
  }
}

int64_t ProblemCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

int ProblemCache::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(entries_.size());
}

}  // namespace aia
