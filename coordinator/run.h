// Run: one run of the engine, from the Setups to summary.json (RunCoordinator in
// engine.h makes one and executes it). The class is split by concept:
//   run.cc      preparing (central problem, connections, setups, q0), what every
//               loop shares (waiting for events, answers, queries, records), the end
//   loops.cc    the central loops: asynchronous, synchronous rounds, task pool
//   membership.cc  Ready, Error, Leave, losses and the resilience; liveness,
//               answer deadlines, rejoins and slots filled while the run goes on
// on top of the worker connections (worker_pool.h) and the files it writes
// (recorder.h). Not thread-safe: the central loop's thread runs it.
#ifndef AIA_COORDINATOR_RUN_H_
#define AIA_COORDINATOR_RUN_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "algorithms/algorithm.h"
#include "config/config.h"
#include "coordinator/background_work.h"
#include "coordinator/engine.h"
#include "coordinator/link.h"
#include "coordinator/progress.h"
#include "coordinator/recorder.h"
#include "coordinator/run_state.h"
#include "coordinator/worker_pool.h"
#include "metrics/run_observer.h"
#include "problems/problem.h"
#include "proto/worker.pb.h"

namespace aia {

class Run {
 public:
  Run(const RunOptions& options, std::unique_ptr<Algorithm> algorithm,
      std::unique_ptr<RunDirectory> history)
      : options_(options),
        config_(options.config),
        limits_(ResolveLimits(options.config.limits())),
        synchronous_(options.config.mode() == v1::RunConfig::SYNCHRONOUS),
        algorithm_(std::move(algorithm)),
        recorder_(std::move(history), options.config, algorithm_.get()),
        dense_queries_(algorithm_->history_query_type() == kDenseVectorType),
        state_(SlotCount(options), config_.stop(), config_.save()),
        workers_(PoolOptions(options, limits_, algorithm_->supports_rejoin())) {
    in_flight_.resize(SlotCount(options));
  }

  RunResult Execute();

 private:
  static WorkerPool::Options PoolOptions(const RunOptions& options, const ResolvedLimits& limits,
                                         bool refill_lost);

  int count() const { return workers_.count(); }
  std::string Name(int w) const { return workers_.Name(w); }

  void Log(const std::string& line) const;

  double Elapsed() const;

  // ---- Step 2 and 3: central problem, connections, setups, q0 ----

  absl::Status Prepare();

  std::shared_ptr<const Outgoing> SetupMessage(int w) const;

  absl::Status SetUp();

  // How many slots must be set up before the run starts: config.min_workers, or
  // all of them.
  int MinWorkers() const;
  int Running() const;

  // ---- Step 4: the central loops ----

  // The next event, if one comes by `deadline`. Returns Cancelled once the run's
  // cancel notification fires (checked every 0.1 s).
  absl::StatusOr<bool> NextEvent(absl::Time deadline, Event* event);

  // When the loop must wake up even if no event comes: the time limit, the
  // earliest answer deadline, the pool's (silence, the next rejoin attempt).
  absl::Time NextWakeup() const;

  // Liveness, answer deadlines and rejoin attempts that are due.
  absl::Status Maintain();

  enum class Wake {
    kAnswer,  // an accepted answer is in the event
    kOther,   // anything else happened (handled), or nothing
    kTimeUp,  // the time limit is up
  };

  // Waits for the next event (or the next deadline) and handles all but an
  // accepted answer, which it leaves to the loop. Each loop calls it once per
  // turn, so that it re-checks its own state (a round completed by a loss, tasks
  // to dispatch) after every event.
  absl::StatusOr<Wake> Wait(Event& event);

  // The asynchronous central loop.
  absl::Status AsynchronousLoop();

  // The synchronous central loop: rounds.
  absl::Status SynchronousLoop();

  // The task-pool loop: idle workers take the next tasks; each task's answer is
  // one central step, which may add tasks, or leave work to do off the central
  // thread (BackgroundWork) while the queued tasks keep going out.
  absl::Status TaskPoolLoop();
  absl::Status TaskPoolSteps();
  // One task's answer as a central step; true if the run stops.
  struct TaskAnswer {
    int worker = 0;
    int64_t query_iteration = 0;  // of the block it answers
    std::string answer;
  };
  absl::StatusOr<bool> ApplyTaskAnswer(const TaskAnswer& task);
  // The background work's tasks into the queue, once it is done (waits).
  absl::Status CollectBackground();
  // Waits for background work still running, before the algorithm is called
  // from outside the loop (a loss, a rejoin).
  void AwaitBackground();

  // Gives idle live workers the next tasks, up to block_size() each.
  void Dispatch();

  // Every member of the round still in it has answered (lost members leave it).
  bool RoundComplete() const;

  // Applies the synchronous central step to the round's answers and starts the
  // next round; true if the run stops.
  absl::StatusOr<bool> FinishRound();

  // After a central step made `query` from `answers` of `members`: counts,
  // saves, checks the stop criteria. `staleness` is the answer's, for an
  // asynchronous step. True if the run stops.
  absl::StatusOr<bool> CentralStepDone(Payload query, const std::vector<int>& members,
                                       const std::vector<WorkerAnswer>& answers,
                                       std::optional<int64_t> staleness);

  absl::Status StopOnTime() { return StopWithoutStep("time_s"); }
  // Stops between central steps (the time limit, the algorithm after its
  // background work), saving the last step if it was not.
  absl::Status StopWithoutStep(const std::string& reason);

  static bool IsAnswer(const Event& event);

  // Checks an answer against the protocol; false if it is to be ignored (a stale
  // link's, a lost worker's).
  absl::StatusOr<bool> AcceptAnswer(const Event& event);

  // Every event but an answer: Ready, Error, a closed stream.
  absl::Status HandleEvent(const Event& event, const std::string& context);

  absl::Status HandleReady(int w, const v1::Ready& ready);

  // Worker w is out of the run. An error if more workers are lost at once than
  // the resilience allows.
  absl::Status Lose(int w, LossCause kind, const std::string& cause);
  // Worker w left the run of its own accord (Leave): out like a lost worker, but
  // neither a failure nor counted against the resilience.
  absl::Status Leave(int w, const std::string& reason);
  // What a loss or a leave does to the run beyond the pool: rounds, tasks, epochs,
  // the algorithm, the log.
  void Drop(int w, const WorkerPool::Loss& loss, const std::string& what);

  // A query message made at central iteration `iteration`; every worker it goes
  // to answers under its id.
  std::shared_ptr<const Outgoing> NewQuery(Payload payload, int64_t iteration);

  // Sends the latest central query to worker w. The message is shared, not copied,
  // by all its recipients.
  void SendLatestQuery(int w);

  absl::Status SaveRecord(int origin, std::optional<double> precision,
                          const std::vector<WorkerAnswer>& answers,
                          std::optional<int64_t> staleness);

  // The algorithm's measure, or the configured norm of the difference between the
  // latest central query and `previous` (dense queries of one size only).
  std::optional<double> Precision(const Outgoing& previous);

  void ReportProgress(double now);
  // Tells the listener at once that the live slots changed (a loss, a leave, a fill).
  void ReportMembership();
  double next_listener_progress_s_ = 0;

  ProgressSnapshot Snapshot(double now) const;

  // ---- Step 5 ----

  RunResult Finish(const absl::Status& status);

  const RunOptions& options_;
  const v1::RunConfig& config_;
  const ResolvedLimits limits_;
  const bool synchronous_;
  std::unique_ptr<Algorithm> algorithm_;
  Recorder recorder_;
  const bool dense_queries_;
  std::unique_ptr<Problem> central_;
  RunState state_;
  WorkerPool workers_;
  std::chrono::steady_clock::time_point start_;
  bool started_ = false;
  double end_s_ = 0;     // Elapsed() when the loop ended
  absl::Time end_time_;  // SteadyNow() then
  uint64_t next_query_id_ = 1;
  std::shared_ptr<const Outgoing> last_query_;      // carries the latest central query
  std::shared_ptr<const Outgoing> previous_query_;  // and the one before
  std::optional<double> last_precision_;
  // The answer(s) of the latest central step and its staleness, for a final save
  // on the time limit.
  std::vector<std::pair<int, v1::FromWorker>> last_step_;
  std::optional<int64_t> last_staleness_;
  // Task pool: tasks waiting for a worker, and the block each worker is on.
  const bool task_pool_ = algorithm_->uses_task_pool();
  std::deque<std::string> tasks_;
  std::vector<std::shared_ptr<const Outgoing>> in_flight_;  // by worker
  // The algorithm's work off the central thread, and the task answers that came
  // while it ran (applied after it, in arrival order).
  std::unique_ptr<BackgroundWork> background_;
  std::deque<TaskAnswer> waiting_;
  // Synchronous mode: the members of the current round and their answers so far.
  std::map<int, std::optional<v1::FromWorker>> round_;
  std::string stop_reason_;
};

}  // namespace aia

#endif  // AIA_COORDINATOR_RUN_H_
