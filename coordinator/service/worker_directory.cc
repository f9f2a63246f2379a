#include "coordinator/service/worker_directory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/clock.h"
#include "base/utf8.h"
#include "base/version.h"
#include "coordinator/worker_addresses.h"

namespace aia {
namespace {

constexpr size_t kMaxNameBytes = 256;

// "0.2" of "0.2.0".
std::string MajorMinor(const std::string& version) {
  std::vector<std::string> parts = absl::StrSplit(version, '.');
  if (parts.size() < 2) return version;
  return absl::StrCat(parts[0], ".", parts[1]);
}

const char* ConnectivityName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "idle";
    case GRPC_CHANNEL_CONNECTING:
      return "connecting";
    case GRPC_CHANNEL_READY:
      return "ready";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "cannot connect";
    case GRPC_CHANNEL_SHUTDOWN:
      return "shut down";
  }
  return "?";
}

}  // namespace

class WorkerDirectory::RunSource final : public WorkerSource {
 public:
  RunSource(WorkerDirectory* directory, std::string run_id)
      : directory_(directory), run_id_(std::move(run_id)) {}
  std::optional<Recruit> Take(int slot) override { return directory_->Take(run_id_, slot); }
  void Release(int64_t id, const std::string& cause) override { directory_->Release(id, cause); }

 private:
  WorkerDirectory* const directory_;
  const std::string run_id_;
};

WorkerDirectory::WorkerDirectory(Options options) : options_(std::move(options)) {}

WorkerDirectory::~WorkerDirectory() { Shutdown(); }

void WorkerDirectory::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void WorkerDirectory::Changed() const {
  if (options_.on_change) options_.on_change();
}

void WorkerDirectory::Refresh() {
  // Resolve outside the lock: a name lookup may take a while.
  std::set<std::string> addresses;
  std::map<std::string, std::string> errors;
  for (const std::string& entry : options_.entries) {
    absl::StatusOr<std::vector<std::string>> resolved = ExpandWorkerAddresses({entry});
    if (!resolved.ok()) {
      errors[entry] = std::string(resolved.status().message());
      continue;
    }
    addresses.insert(resolved->begin(), resolved->end());
  }
  std::vector<std::string> lines;
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    for (const auto& [entry, error] : errors) {
      if (resolve_errors_[entry] != error) lines.push_back(absl::StrCat(entry, ": ", error));
    }
    resolve_errors_ = errors;
    for (const std::string& address : addresses) {
      if (dialled_.count(address) != 0) continue;
      const int64_t id = next_id_++;
      Entry entry;
      entry.name = address;
      grpc::ChannelArguments args;
      if (!options_.tls_server_name.empty()) args.SetSslTargetNameOverride(options_.tls_server_name);
      args.SetInt("aia.probe", 1);
      entry.probe = grpc::CreateCustomChannel(
          address,
          options_.credentials != nullptr ? options_.credentials
                                          : grpc::InsecureChannelCredentials(),
          args);
      entry.probe->GetState(/*try_to_connect=*/true);
      entries_.emplace(id, std::move(entry));
      dialled_[address] = id;
      lines.push_back(absl::StrCat("worker ", address, " added to the pool"));
    }
    for (auto it = dialled_.begin(); it != dialled_.end();) {
      Entry& entry = entries_.at(it->second);
      // While a lookup fails, its name's addresses stay.
      if (addresses.count(it->first) != 0 || !errors.empty()) {
        entry.present = true;
        ++it;
        continue;
      }
      entry.present = false;
      if (entry.run_id.empty()) {
        lines.push_back(absl::StrCat("worker ", it->first, " left the pool (no longer resolved)"));
        entries_.erase(it->second);
        it = dialled_.erase(it);
      } else {
        ++it;
      }
    }
    const absl::Time now = SteadyNow();
    for (auto& [id, entry] : entries_) {
      if (entry.joined) continue;
      const grpc_connectivity_state state = entry.probe->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_READY) entry.seen_ready = true;
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) entry.seen_ready = false;
      const std::string cause = state == GRPC_CHANNEL_READY || state == GRPC_CHANNEL_IDLE
                                    ? ""
                                    : absl::StrCat("probe: ", ConnectivityName(state));
      if (entry.run_id.empty() && now >= entry.down_until && cause != entry.cause) {
        changed = changed || cause.empty();
        if (!cause.empty() && state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
          lines.push_back(absl::StrCat("worker ", entry.name, " is down: cannot connect"));
        }
        entry.cause = cause;
      }
    }
  }
  for (const std::string& line : lines) Log(line);
  if (changed || !lines.empty()) Changed();
}

bool WorkerDirectory::FreeLocked(const Entry& entry, absl::Time now) const {
  if (!entry.run_id.empty() || now < entry.down_until) return false;
  if (entry.joined) return true;
  // Idle: connected before, and let go by the worker's --idle_timeout_s; the next
  // Refresh connects again.
  const grpc_connectivity_state state = entry.probe->GetState(false);
  return entry.present &&
         (state == GRPC_CHANNEL_READY || (state == GRPC_CHANNEL_IDLE && entry.seen_ready));
}

int WorkerDirectory::free_count() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = SteadyNow();
  int free = 0;
  for (const auto& [id, entry] : entries_) free += FreeLocked(entry, now);
  return free;
}

std::unique_ptr<WorkerSource> WorkerDirectory::SourceFor(const std::string& run_id) {
  return std::make_unique<RunSource>(this, run_id);
}

std::optional<Recruit> WorkerDirectory::Take(const std::string& run_id, int slot) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return std::nullopt;
  const absl::Time now = SteadyNow();
  // Joined workers first (in the order they joined), then dialled ones.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& [id, entry] : entries_) {
      if (entry.joined != (pass == 0) || !FreeLocked(entry, now)) continue;
      entry.run_id = run_id;
      entry.slot = slot;
      Recruit recruit;
      recruit.id = id;
      recruit.address = entry.name;
      if (entry.joined) {
        std::shared_ptr<JoinStream> stream = entry.stream;
        recruit.open = [stream](int w, int link_id, EventQueue* events) {
          return JoinStream::OpenLink(stream, w, link_id, events);
        };
      }
      return recruit;
    }
  }
  return std::nullopt;
}

void WorkerDirectory::Release(int64_t id, const std::string& cause) {
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    if (entry.joined) {
      // Its stream carried a session: the worker joins again with a new one.
      entries_.erase(it);
      return;
    }
    entry.run_id.clear();
    entry.slot = -1;
    if (!entry.present) {
      dialled_.erase(entry.name);
      entries_.erase(it);
    } else if (cause.empty()) {
      entry.failures = 0;
      entry.cause.clear();
    } else {
      // Not offered again for a while, longer after each loss in a row.
      ++entry.failures;
      const int seconds = 1 << std::min(entry.failures - 1, 5);
      entry.down_until = SteadyNow() + absl::Seconds(seconds);
      entry.cause = cause;
    }
  }
  Changed();
}

std::vector<v1::PoolWorker> WorkerDirectory::List() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = SteadyNow();
  std::vector<v1::PoolWorker> workers;
  for (const auto& [id, entry] : entries_) {
    v1::PoolWorker worker;
    worker.set_name(entry.name);
    worker.set_joined(entry.joined);
    worker.set_state(!entry.run_id.empty() ? "busy" : FreeLocked(entry, now) ? "idle" : "down");
    worker.set_run_id(entry.run_id);
    worker.set_slot(entry.slot);
    worker.set_host(entry.host);
    worker.set_version(entry.version);
    worker.set_peer(entry.peer);
    if (worker.state() == "down") worker.set_cause(entry.cause);
    workers.push_back(std::move(worker));
  }
  return workers;
}

grpc::Status WorkerDirectory::Offered(std::shared_ptr<JoinStream> stream, const v1::Offer& offer) {
  const std::string version = ValidUtf8(offer.version());
  if (MajorMinor(version) != MajorMinor(kVersion)) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("the worker runs aia ", version, "; this coordinator runs ",
                                     kVersion, " (major.minor must match)"));
  }
  if (offer.name().size() > kMaxNameBytes || offer.host().size() > kMaxNameBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("Offer.name and Offer.host must be at most ", kMaxNameBytes,
                                     " bytes"));
  }
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the service is stopping");
    int joined = 0;
    for (const auto& [id, entry] : entries_) joined += entry.joined;
    if (joined >= options_.max_joined) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("the pool holds ", joined, " joined workers, its limit"));
    }
    Entry entry;
    entry.joined = true;
    entry.name = absl::StrCat("joined:", ValidUtf8(offer.name().empty() ? stream->peer()
                                                                         : offer.name()));
    entry.host = ValidUtf8(offer.host());
    entry.version = version;
    entry.peer = stream->peer();
    entry.stream = std::move(stream);
    name = entry.name;
    entries_.emplace(next_id_++, std::move(entry));
  }
  Log(absl::StrCat("worker ", name, " joined the pool"));
  Changed();
  return grpc::Status::OK;
}

void WorkerDirectory::Gone(JoinStream* stream) {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.stream.get() != stream || !it->second.run_id.empty()) continue;
      name = it->second.name;
      entries_.erase(it);
      break;
    }
  }
  if (!name.empty()) Log(absl::StrCat("worker ", name, " left the pool"));
}

void WorkerDirectory::Shutdown() {
  std::vector<std::shared_ptr<JoinStream>> waiting;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [id, entry] : entries_) {
      if (entry.joined && entry.run_id.empty()) waiting.push_back(entry.stream);
    }
  }
  for (const auto& stream : waiting) stream->Cancel();
}

}  // namespace aia
