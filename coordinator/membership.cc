// Membership of a Run (run.h): who is in the run and what their comings and
// goings do to it — Ready (a first setup, a rejoin, a slot filled late), Error,
// a closed stream, Leave, losses against the resilience, and the periodic
// liveness, answer-deadline, rejoin and fill checks.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "coordinator/run.h"

namespace aia {

int Run::MinWorkers() const {
  return config_.min_workers() > 0 ? config_.min_workers() : count();
}

int Run::Running() const {
  int running = 0;
  for (int w = 0; w < count(); ++w) running += workers_[w].state == WorkerState::kRunning;
  return running;
}

absl::Status Run::Maintain() {
  const absl::Time now = SteadyNow();
  workers_.SweepRetired();
  for (int w = 0; w < count(); ++w) {
    if (const std::string silence = workers_.Silence(w, now); !silence.empty()) {
      RETURN_IF_ERROR(Lose(w, LossCause::kSilent, silence));
    }
    WorkerSlot& slot = workers_[w];
    if (slot.state == WorkerState::kRunning && slot.outstanding != 0 &&
        limits_.answer_timeout_s > 0 &&
        now >= slot.sent_at + absl::Seconds(limits_.answer_timeout_s)) {
      RETURN_IF_ERROR(Lose(w, LossCause::kAnswerTimeout,
                           absl::StrCat("no answer within ", limits_.answer_timeout_s,
                                        " s (limits.answer_timeout_s)")));
    }
    if (std::optional<std::string> failed =
            workers_.TryRejoin(w, now, [&] { return SetupMessage(w); })) {
      Lose(w, LossCause::kSetup, *failed).IgnoreError();  // schedules the next attempt
    }
    if (std::optional<std::string> failed =
            workers_.TryFill(w, now, [&] { return SetupMessage(w); })) {
      Lose(w, LossCause::kSetup, *failed).IgnoreError();  // frees the slot again
    }
  }
  return absl::OkStatus();
}

absl::Status Run::HandleEvent(const Event& event, const std::string& context) {
  if (event.kind == Event::Kind::kWake) return absl::OkStatus();  // the loop looks itself
  const int w = event.worker;
  WorkerSlot& slot = workers_[w];
  if (event.link_id != slot.link_id) return absl::OkStatus();  // an old link's
  if (event.kind == Event::Kind::kClosed) {
    if (slot.state == WorkerState::kStopped) return absl::OkStatus();
    if ((slot.state == WorkerState::kLost || slot.state == WorkerState::kVacant) &&
        !slot.rejoining) {
      return absl::OkStatus();
    }
    const absl::Status& s = event.status;
    return Lose(w, LossCause::kStreamEnded,
                absl::StrCat(context, "the stream ended (", static_cast<int>(s.code()),
                             s.message().empty() ? "" : ": ", s.message(), ")"));
  }
  const v1::FromWorker& message = event.message;
  if (message.has_leave()) return Leave(w, ValidUtf8(message.leave().reason()));
  if (message.has_error())
    return Lose(w, LossCause::kError, context + ValidUtf8(message.error().reason()));
  if (message.has_ready()) return HandleReady(w, message.ready());
  return Lose(
      w, LossCause::kProtocol,
      absl::StrCat(context, "sent an unexpected ", message.has_answer() ? "Answer" : "message"));
}

absl::Status Run::HandleReady(int w, const v1::Ready& ready) {
  WorkerSlot& slot = workers_[w];
  const bool first = slot.state == WorkerState::kConnecting;
  const bool fill = slot.state == WorkerState::kVacant || workers_.has_source();
  if (!first &&
      !((slot.state == WorkerState::kLost || slot.state == WorkerState::kVacant) &&
        slot.rejoining)) {
    return Lose(w, LossCause::kProtocol, "sent an unexpected Ready");
  }
  if (ready.dimension() != central_->dimension()) {
    return Lose(w, LossCause::kProtocol,
                absl::StrCat("has a problem of dimension ", ready.dimension(),
                             " but the coordinator's has ", central_->dimension()));
  }
  if (ready.algorithm_version() != algorithm_->message_version()) {
    return Lose(w, LossCause::kProtocol,
                absl::StrCat("runs algorithm '", config_.algorithm().name(), "' meaning '",
                             ValidUtf8(ready.algorithm_version()), "' by its messages, not '",
                             algorithm_->message_version(), "'"));
  }
  const std::string expected = central_->ShardDigest(w, count());
  if (!expected.empty() && !ready.shard_digest().empty() && ready.shard_digest() != expected) {
    return Lose(
        w, LossCause::kProtocol,
        absl::StrCat("holds data with digest ", ValidUtf8(ready.shard_digest()), " but shard ", w,
                     " of ", count(), " of the coordinator's data has digest ", expected,
                     " (different data files under the two data roots?)"));
  }
  slot.version = ValidUtf8(ready.version());
  slot.host = ValidUtf8(ready.host());
  slot.shard_digest = ValidUtf8(ready.shard_digest());
  slot.rows = ready.rows();
  slot.state = WorkerState::kRunning;
  if (first) {
    Log(absl::StrFormat("%s ready: %d rows%s, %.3f s", Name(w), ready.rows(),
                        ready.cached() ? " (cached)" : "", ready.setup_s()));
    return absl::OkStatus();
  }
  slot.rejoining = false;
  state_.MarkRejoined(w);
  AwaitBackground();
  algorithm_->OnWorkerRejoined(w);
  ReportMembership();
  if (fill) {
    Log(absl::StrFormat("%s filled its slot at iteration %d, epoch %d (%d rows)", Name(w),
                        state_.iteration(), state_.epoch(), ready.rows()));
  } else {
    Log(absl::StrFormat("%s rejoined at iteration %d", Name(w), state_.iteration()));
  }
  // Asynchronous: it gets the latest query now; synchronous: at the next round;
  // task pool: the next tasks, from the loop.
  if (!synchronous_ && !task_pool_) SendLatestQuery(w);
  return absl::OkStatus();
}

absl::Status Run::Leave(int w, const std::string& reason) {
  const std::optional<WorkerPool::Loss> loss =
      workers_.MarkLost(w, absl::StrCat("left: ", reason), /*left=*/true);
  if (loss.has_value()) Drop(w, *loss, absl::StrCat("left the run: ", reason));
  // Without rejoin or a pool to fill slots, a run whose workers all left cannot
  // go on.
  for (int v = 0; v < count(); ++v) {
    if (workers_[v].state == WorkerState::kRunning ||
        workers_[v].state == WorkerState::kConnecting) {
      return absl::OkStatus();
    }
  }
  if (config_.rejoin() || workers_.has_source()) return absl::OkStatus();
  return absl::UnavailableError("every worker left the run (rejoin: false)");
}

void Run::Drop(int w, const WorkerPool::Loss& loss, const std::string& what) {
  if (synchronous_) round_.erase(w);
  if (task_pool_ && in_flight_[w] != nullptr) {
    // Its unfinished tasks go back to the front of the queue, in order.
    v1::TaskBlock block;
    block.ParseFromArray(in_flight_[w]->query_payload().data(),
                         static_cast<int>(in_flight_[w]->query_payload().size()));
    for (int i = block.items_size() - 1; i >= 0; --i) tasks_.push_front(block.items(i));
    in_flight_[w].reset();
    Log(absl::StrCat(Name(w), ": ", block.items_size(), " unfinished tasks back in the queue"));
  }
  if (loss.rejoin_failed) return;
  if (state_.live(w)) state_.MarkLost(w);
  // (Workers lost during setup are announced after OnWorkersReady.)
  if (loss.was_running && started_) {
    AwaitBackground();
    algorithm_->OnWorkerLost(w);
  }
  Log(absl::StrCat(Name(w), " ", what));
  ReportMembership();
}

absl::Status Run::Lose(int w, LossCause kind, const std::string& cause) {
  const std::optional<WorkerPool::Loss> loss = workers_.MarkLost(w, cause);
  if (!loss.has_value()) return absl::OkStatus();
  if (options_.observer != nullptr && !loss->rejoin_failed) options_.observer->WorkerLost(kind);
  Drop(w, *loss, absl::StrCat("lost: ", cause));
  if (loss->rejoin_failed) {
    Log(absl::StrCat(Name(w), " could not rejoin: ", cause));
    return absl::OkStatus();
  }
  std::vector<std::string> lost;
  for (int v = 0; v < count(); ++v) {
    if (workers_[v].state == WorkerState::kLost && !workers_[v].left) {
      lost.push_back(absl::StrCat(Name(v), ": ", workers_[v].cause));
    }
  }
  if (static_cast<int>(lost.size()) > config_.resilience()) {
    if (lost.size() == 1) return absl::UnavailableError(lost[0]);
    return absl::UnavailableError(absl::StrCat(lost.size(), " workers lost at once (resilience ",
                                               config_.resilience(),
                                               "): ", absl::StrJoin(lost, "; ")));
  }
  return absl::OkStatus();
}

}  // namespace aia
