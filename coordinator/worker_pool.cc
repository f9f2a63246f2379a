#include "coordinator/worker_pool.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/clock.h"
#include "coordinator/in_process_link.h"

namespace aia {

const char* StateName(const WorkerSlot& slot) {
  switch (slot.state) {
    case WorkerState::kVacant:
      return "vacant";
    case WorkerState::kConnecting:
      return "connecting";
    case WorkerState::kRunning:
      return "running";
    case WorkerState::kLost:
      return slot.left ? "left" : "lost";
    case WorkerState::kStopped:
      return "stopped";
    case WorkerState::kUnresponsive:
      return "unresponsive";
  }
  return "?";
}

WorkerPool::WorkerPool(Options options)
    : options_(std::move(options)), heartbeats_(absl::Seconds(options_.limits.keepalive_s / 4)) {
  for (const std::string& address : options_.addresses) {
    slots_.emplace_back();
    slots_.back().address = address;
  }
  if (options_.source != nullptr) {
    slots_.resize(options_.slots);
    for (WorkerSlot& slot : slots_) slot.state = WorkerState::kVacant;
  }
}

std::string WorkerPool::Name(int w) const {
  return absl::StrCat("worker ", w, " (", slots_[w].address, ")");
}

std::shared_ptr<grpc::Channel> WorkerPool::NewChannel(int w) const {
  const ResolvedLimits& limits = options_.limits;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(limits.max_message_bytes));
  args.SetMaxSendMessageSize(static_cast<int>(limits.max_message_bytes));
  // Liveness is the in-stream heartbeat: no HTTP/2 keepalive pings, which stock
  // gRPC servers refuse when frequent (too_many_pings).
  // Reconnect quickly: a restarted worker should be found within rejoin_interval_s.
  const int backoff_ms = static_cast<int>(limits.rejoin_interval_s * 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, backoff_ms);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, backoff_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff_ms);
  // Distinct channels, so that each worker (and each rejoin) gets its own
  // connection rather than a shared subchannel.
  args.SetInt("aia.worker_index", w);
  args.SetInt("aia.link", slots_[w].link_id + 1);
  if (!options_.tls_server_name.empty()) args.SetSslTargetNameOverride(options_.tls_server_name);
  auto channel = grpc::CreateCustomChannel(
      slots_[w].address,
      options_.credentials != nullptr ? options_.credentials : grpc::InsecureChannelCredentials(),
      args);
  channel->GetState(/*try_to_connect=*/true);
  return channel;
}

absl::StatusOr<std::vector<std::pair<int, std::string>>> WorkerPool::Connect() {
  std::vector<std::pair<int, bool>> failed;  // worker, timed out
  if (!options_.in_process) {
    for (int w = 0; w < count(); ++w) slots_[w].channel = NewChannel(w);
    const absl::Time deadline = SteadyNow() + absl::Seconds(options_.limits.connect_timeout_s);
    std::vector<int> waiting(count());
    for (int w = 0; w < count(); ++w) waiting[w] = w;
    while (!waiting.empty()) {
      if (options_.cancel != nullptr && options_.cancel->HasBeenNotified()) {
        return absl::CancelledError("the run was cancelled");
      }
      const bool late = SteadyNow() >= deadline;
      std::vector<int> still;
      for (int w : waiting) {
        const grpc_connectivity_state state = slots_[w].channel->GetState(true);
        if (state == GRPC_CHANNEL_READY) continue;
        if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN || late) {
          failed.emplace_back(w, late);
        } else {
          still.push_back(w);
        }
      }
      waiting = std::move(still);
      if (waiting.empty()) break;
      // Wait for the first of them to change state, 50 ms at most.
      const auto slice = std::chrono::system_clock::now() + std::chrono::milliseconds(50);
      slots_[waiting[0]].channel->WaitForStateChange(slots_[waiting[0]].channel->GetState(false),
                                                     slice);
    }
  }
  // The diagnoses (a TLS handshake each, bounded by its own timeout) in parallel,
  // 16 at a time.
  std::vector<std::pair<int, std::string>> unreachable(failed.size());
  constexpr size_t kParallel = 16;
  for (size_t begin = 0; begin < failed.size(); begin += kParallel) {
    std::vector<std::thread> threads;
    for (size_t i = begin; i < std::min(failed.size(), begin + kParallel); ++i) {
      threads.emplace_back([this, &failed, &unreachable, i] {
        unreachable[i] = {failed[i].first, ConnectFailure(failed[i].first, failed[i].second)};
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  return unreachable;
}

std::string WorkerPool::ConnectFailure(int w, bool timed_out) const {
  std::string cause =
      timed_out ? absl::StrCat("cannot connect within ", options_.limits.connect_timeout_s,
                               " s (limits.connect_timeout_s)")
                : "cannot connect";
  if (options_.diagnose_connect_failure) {
    const std::string why = options_.diagnose_connect_failure(slots_[w].address);
    if (!why.empty()) absl::StrAppend(&cause, ": ", why);
  }
  return cause;
}

void WorkerPool::OpenLink(int w, std::shared_ptr<const Outgoing> setup) {
  WorkerSlot& slot = slots_[w];
  ++slot.link_id;
  if (options_.in_process) {
    slot.link = std::make_unique<InProcessLink>(w, slot.link_id, options_.data_root, &events_);
  } else if (slot.open) {
    slot.link = slot.open(w, slot.link_id, &events_);
    heartbeats_.Add(slot.link.get());
  } else {
    if (slot.channel == nullptr) slot.channel = NewChannel(w);
    slot.stub = std::make_unique<grpc::GenericStub>(slot.channel);
    auto link = std::make_unique<WorkerLink>(w, slot.link_id, slot.stub.get(), &events_);
    heartbeats_.Add(link.get());
    slot.link = std::move(link);
  }
  slot.link->Start(std::move(setup));
}

void WorkerPool::RetireLink(int w) {
  WorkerSlot& slot = slots_[w];
  if (slot.link == nullptr) return;
  slot.link->Cancel();
  retired_.push_back({slot.channel, std::move(slot.stub), std::move(slot.link)});
}

void WorkerPool::SweepRetired() {
  const absl::Time now = SteadyNow();
  auto ended = [&](RetiredLink& retired) {
    if (!retired.link->AwaitDone(now)) return false;
    ForgetLink(retired.link.get());
    return true;
  };
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), ended), retired_.end());
}

void WorkerPool::ForgetLink(Link* link) { heartbeats_.Remove(link); }

void WorkerPool::Release(int w, const std::string& cause) {
  WorkerSlot& slot = slots_[w];
  if (slot.recruit == 0) return;
  options_.source->Release(slot.recruit, cause);
  slot.recruit = 0;
  slot.open = nullptr;
  slot.channel = nullptr;  // a retired link keeps its own reference
}

int WorkerPool::Fill(const std::function<std::shared_ptr<const Outgoing>(int w)>& setup) {
  int filled = 0;
  for (int w = 0; w < count(); ++w) {
    WorkerSlot& slot = slots_[w];
    if (slot.state != WorkerState::kVacant || slot.recruit != 0) continue;
    std::optional<Recruit> recruit = options_.source->Take(w);
    if (!recruit.has_value()) break;
    slot.recruit = recruit->id;
    slot.address = recruit->address;
    slot.open = std::move(recruit->open);
    slot.state = WorkerState::kConnecting;
    OpenLink(w, setup(w));
    ++filled;
  }
  return filled;
}

std::optional<std::string> WorkerPool::TryFill(
    int w, absl::Time now, const std::function<std::shared_ptr<const Outgoing>()>& setup) {
  WorkerSlot& slot = slots_[w];
  if (options_.source == nullptr) return std::nullopt;
  if (slot.state != WorkerState::kVacant &&
      !(slot.state == WorkerState::kLost && options_.refill_lost)) {
    return std::nullopt;
  }
  if (slot.rejoining) {
    if (now >= slot.rejoin_started + absl::Seconds(options_.limits.setup_timeout_s)) {
      return absl::StrCat("no Ready within ", options_.limits.setup_timeout_s,
                          " s (limits.setup_timeout_s)");
    }
    return std::nullopt;
  }
  if (slot.next_rejoin != absl::InfiniteFuture() && now < slot.next_rejoin) return std::nullopt;
  slot.next_rejoin = now + absl::Milliseconds(100);
  std::optional<Recruit> recruit = options_.source->Take(w);
  if (!recruit.has_value()) return std::nullopt;
  slot.recruit = recruit->id;
  slot.address = recruit->address;
  slot.open = std::move(recruit->open);
  slot.rejoining = true;
  slot.rejoin_started = now;
  OpenLink(w, setup());
  return std::nullopt;
}

std::optional<WorkerPool::Loss> WorkerPool::MarkLost(int w, const std::string& cause,
                                                     bool left) {
  WorkerSlot& slot = slots_[w];
  if (slot.state == WorkerState::kLost && !slot.rejoining) return std::nullopt;
  if (slot.state == WorkerState::kVacant) {
    // A fill that failed: the slot stays free; the worker goes back, marked.
    if (!slot.rejoining) return std::nullopt;
    slot.rejoining = false;
    slot.cause = cause;
    RetireLink(w);
    Release(w, cause);
    Loss loss;
    loss.rejoin_failed = true;
    return loss;
  }
  Loss loss;
  loss.was_running = slot.state == WorkerState::kRunning;
  loss.rejoin_failed = slot.state == WorkerState::kLost;
  slot.state = WorkerState::kLost;
  slot.rejoining = false;
  slot.outstanding = 0;
  slot.cause = cause;
  slot.left = left;
  if (!left) ++slot.failures;
  RetireLink(w);
  if (options_.source != nullptr) {
    Release(w, left ? "" : cause);
  } else if (options_.rejoin && !options_.in_process) {
    slot.next_rejoin = SteadyNow() + absl::Seconds(options_.limits.rejoin_interval_s);
  }
  return loss;
}

bool WorkerPool::Listening(const WorkerSlot& slot) {
  return slot.state == WorkerState::kRunning || slot.state == WorkerState::kConnecting ||
         ((slot.state == WorkerState::kLost || slot.state == WorkerState::kVacant) &&
          slot.rejoining);
}

std::string WorkerPool::Silence(int w, absl::Time now) const {
  const WorkerSlot& slot = slots_[w];
  if (slot.link == nullptr || !Listening(slot)) return "";
  const absl::Duration silence = now - slot.link->last_received();
  if (silence < absl::Seconds(options_.limits.keepalive_s)) return "";
  return absl::StrFormat(
      "sent nothing (not even a heartbeat) for %.1f s (limits.keepalive_s=%g): frozen, cut off "
      "or gone",
      absl::ToDoubleSeconds(silence), options_.limits.keepalive_s);
}

std::optional<std::string> WorkerPool::TryRejoin(
    int w, absl::Time now, const std::function<std::shared_ptr<const Outgoing>()>& setup) {
  WorkerSlot& slot = slots_[w];
  if (slot.state != WorkerState::kLost || options_.source != nullptr) return std::nullopt;
  if (slot.rejoining) {
    if (now >= slot.rejoin_started + absl::Seconds(options_.limits.setup_timeout_s)) {
      return std::string("no Ready after rejoining");
    }
    return std::nullopt;
  }
  if (now < slot.next_rejoin) return std::nullopt;
  slot.next_rejoin = now + absl::Seconds(options_.limits.rejoin_interval_s);
  const grpc_connectivity_state connectivity = slot.channel != nullptr
                                                   ? slot.channel->GetState(/*try_to_connect=*/true)
                                                   : GRPC_CHANNEL_SHUTDOWN;
  if (connectivity == GRPC_CHANNEL_TRANSIENT_FAILURE || connectivity == GRPC_CHANNEL_SHUTDOWN) {
    slot.channel = NewChannel(w);  // a fresh channel skips gRPC's reconnect backoff
    return std::nullopt;
  }
  if (connectivity != GRPC_CHANNEL_READY) return std::nullopt;
  slot.rejoining = true;
  slot.rejoin_started = now;
  OpenLink(w, setup());
  return std::nullopt;
}

absl::Time WorkerPool::NextWakeup() const {
  absl::Time wakeup = absl::InfiniteFuture();
  const ResolvedLimits& limits = options_.limits;
  for (const WorkerSlot& slot : slots_) {
    if (slot.link != nullptr && Listening(slot)) {
      wakeup = std::min(wakeup, slot.link->last_received() + absl::Seconds(limits.keepalive_s));
    }
    if (slot.state == WorkerState::kLost || slot.state == WorkerState::kVacant) {
      wakeup = std::min(wakeup, slot.rejoining
                                    ? slot.rejoin_started + absl::Seconds(limits.setup_timeout_s)
                                    : slot.next_rejoin);
    }
  }
  return wakeup;
}

void WorkerPool::Shutdown(const std::string& reason, absl::Time end_time) {
  v1::ToWorker message;
  message.mutable_stop()->set_reason(reason);
  const auto stop = std::make_shared<const Outgoing>(std::move(message));
  for (WorkerSlot& slot : slots_) {
    if (slot.link == nullptr) continue;
    if (slot.state != WorkerState::kRunning) {
      slot.link->Cancel();  // a rejoin, a fill or a setup under way: nothing to wait for
      continue;
    }
    slot.link->Send(stop);
    slot.link->Close();
    slot.state = WorkerState::kStopped;
  }
  const double timeout_s = options_.limits.shutdown_timeout_s;
  const absl::Time deadline = SteadyNow() + absl::Seconds(timeout_s);
  auto await = [deadline](Link& link) {
    if (link.AwaitDone(deadline)) return true;
    link.Cancel();
    link.AwaitDone(absl::InfiniteFuture());  // cancellation ends it promptly
    return false;
  };
  for (WorkerSlot& slot : slots_) {
    if (slot.link == nullptr) continue;
    if (!await(*slot.link) && slot.state == WorkerState::kStopped) {
      slot.state = WorkerState::kUnresponsive;
      slot.cause = absl::StrFormat(
          "did not end its session within %g s of Stop (limits.shutdown_timeout_s); silent for "
          "%.1f s when the run ended",
          timeout_s, absl::ToDoubleSeconds(end_time - slot.link->last_received()));
    }
    ForgetLink(slot.link.get());
  }
  for (RetiredLink& retired : retired_) {
    await(*retired.link);
    ForgetLink(retired.link.get());
  }
  if (options_.source != nullptr) {
    for (int w = 0; w < count(); ++w) {
      Release(w, slots_[w].state == WorkerState::kUnresponsive ? slots_[w].cause : "");
    }
  }
}

}  // namespace aia
