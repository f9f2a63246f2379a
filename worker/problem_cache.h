// ProblemCache: problems a worker daemon has built, kept for later runs.
//
// A session checks a problem out (exclusive use, since worker steps may change a
// problem's state, such as a warm-started solver) and returns it when the session
// ends. Two sessions that need the same problem at once get two instances. The
// least recently returned entries are dropped beyond `capacity` entries or
// `max_bytes` of memory (Problem::memory_bytes), whichever comes first; a problem
// larger than max_bytes alone is not kept.
//
// Example:
//   std::string key = ProblemCache::Key(spec, data_root, index, count);
//   std::unique_ptr<Problem> problem = cache.Take(key);
//   if (problem == nullptr) { ASSIGN_OR_RETURN(problem, NewProblem(context)); }
//   ...
//   cache.Put(key, std::move(problem));
//
// Thread safety: all methods may be called from any thread.
#ifndef AIA_WORKER_PROBLEM_CACHE_H_
#define AIA_WORKER_PROBLEM_CACHE_H_

#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "problems/problem.h"
#include "proto/problems.pb.h"

namespace aia {

class ProblemCache {
 public:
  explicit ProblemCache(int capacity, int64_t max_bytes = int64_t{1} << 30)
      : capacity_(capacity), max_bytes_(max_bytes) {}

  // The identity of a built problem: the spec, the data root and the shard, plus
  // the size and modification time of a data file, so a changed file is reread.
  static std::string Key(const v1::ProblemSpec& spec, const std::string& data_root,
                         int worker_index, int worker_count);

  // Removes and returns the problem cached under `key`, or null.
  std::unique_ptr<Problem> Take(const std::string& key);
  // Caches `problem` under `key` as the most recently used entry.
  void Put(const std::string& key, std::unique_ptr<Problem> problem);

  int size() const;
  // The memory_bytes() of the cached problems.
  int64_t bytes() const;

 private:
  const int capacity_;
  const int64_t max_bytes_;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Mutex mu_;
  // Most recently used first.
  std::list<std::pair<std::string, std::unique_ptr<Problem>>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aia

#endif  // AIA_WORKER_PROBLEM_CACHE_H_
