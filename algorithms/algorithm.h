// The Algorithm interface: the three steps a user writes, and the registry that
// config names pick plugins from.
//
//   step        runs on       input                         output
//   Initialize  coordinator   the central problem           q0
//   Answer      each worker   a query, the worker's shard   an answer
//   Update      coordinator   one answer, where it is from  that worker's next query
//
// Modes: every algorithm has the asynchronous central step (Update); one that
// also implements UpdateSynchronous says so with supports_synchronous(). Hooks
// (stop now, save now, saved values, progress, final report) are optional.
//
// Queries and answers cross the wire as bytes in an encoding each plugin declares
// (`query_type`, `answer_type`): "f64le" for a dense vector of little-endian
// doubles, or a protobuf message's full name. A step returns a Payload
// (payload.h): a std::string, or a dense vector adopted without a copy; it is
// sent from that memory. Plugins normally derive from TypedAlgorithm<Q, A>
// (typed_algorithm.h), which does the encoding.
//
// Error convention: Update returns DataLoss when the answer bytes are malformed
// (the sending worker is at fault); any other error fails the run.
//
// Thread safety: an instance is used by one thread at a time. The coordinator and
// each worker session create their own instance from the same AlgorithmSpec.
#ifndef AIA_ALGORITHMS_ALGORITHM_H_
#define AIA_ALGORITHMS_ALGORITHM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "algorithms/payload.h"
#include "base/registry.h"
#include "problems/problem.h"
#include "proto/algorithms.pb.h"

namespace aia {

// The encoding name of a dense vector of little-endian float64.
inline constexpr absl::string_view kDenseVectorType = "f64le";

// One answer of a synchronous round.
struct WorkerAnswer {
  int worker = 0;
  absl::string_view payload;
};

// Where an answer to an asynchronous central step comes from. Iterations count
// central steps: a query made by the step that took the counter to k was made at
// iteration k (q0 at 0).
struct AnswerInfo {
  // A worker's answer with no staleness. Implicit on purpose: tests and
  // simulations that do not track iterations pass the worker index alone.
  AnswerInfo(int worker) : worker(worker) {}  // NOLINT(google-explicit-constructor)
  AnswerInfo(int worker, int64_t query_iteration, int64_t iteration)
      : worker(worker), query_iteration(query_iteration), iteration(iteration) {}

  // Central steps applied since the answered query was made: 0 for a single
  // worker answering one query at a time.
  int64_t staleness() const { return iteration - query_iteration; }

  int worker = 0;               // 0-based
  int64_t query_iteration = 0;  // the iteration when the answered query was made (0: q0)
  int64_t iteration = 0;        // the iteration before this central step (steps so far)
};

// What the coordinator knows of a worker once it is Ready.
struct WorkerInfo {
  int64_t rows = 0;  // data rows in its shard
};

// Work a task-pool algorithm does off the central thread; its result is more
// tasks (Algorithm::TakeBackgroundWork).
using BackgroundJob = std::function<absl::StatusOr<std::vector<std::string>>()>;

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // Payload encodings; checked between coordinator and worker at Setup.
  virtual std::string query_type() const = 0;
  virtual std::string answer_type() const = 0;
  // What the messages mean, beyond their encoding ("gd_averaging/2: answers are
  // differences of weighted gradients"): checked at Setup like the types, so a
  // worker whose plugin reads or writes the same bytes with another meaning is
  // refused. A plugin changes it whenever the meaning changes.
  virtual std::string message_version() const { return "1"; }

  // --- The three steps ---

  // Coordinator: the first query, sent to every worker.
  virtual absl::StatusOr<Payload> Initialize(const Problem& central) = 0;
  // Coordinator, asynchronous mode: applies `answer`, which comes `from` a worker;
  // returns the next query for that worker.
  virtual absl::StatusOr<Payload> Update(absl::string_view answer, const AnswerInfo& from,
                                         const Problem& central) = 0;
  // Worker: the answer to `query` on this worker's problem.
  virtual absl::StatusOr<Payload> Answer(absl::string_view query, Problem& local) = 0;

  // --- Modes ---

  virtual bool supports_asynchronous() const { return true; }
  // Whether a dense query has the problem's dimension (checked on q0); false for
  // algorithms whose queries live elsewhere.
  virtual bool queries_match_problem_dimension() const { return true; }
  virtual bool supports_synchronous() const { return false; }
  // Whether a restarted worker may rejoin a running run (false when the
  // coordinator's state cannot take a worker that forgot its past answers).
  virtual bool supports_rejoin() const { return true; }
  // Coordinator, synchronous mode: applies one answer of every live worker of the
  // round (in worker order); returns the next query for all of them.
  virtual absl::StatusOr<Payload> UpdateSynchronous(const std::vector<WorkerAnswer>& answers,
                                                    const Problem& central);

  // --- Task pool (cutting-plane methods) ---
  //
  // A task-pool algorithm's central step emits zero or more tasks into a queue
  // instead of one reply; an idle worker takes the next tasks, up to block_size()
  // in one message; the tasks of a lost worker go back to the front of the queue.
  // Each task's answer is one central step (one iteration). Initialize still gives
  // q0, the query of record 0; HistoryQuery gives the query later records save.

  virtual bool uses_task_pool() const { return false; }
  virtual int block_size() const { return 1; }
  // The first tasks, after Initialize.
  virtual absl::StatusOr<std::vector<std::string>> InitialTasks(const Problem& central);
  // Applies the answer to one task, which comes `from` a worker; returns the new
  // tasks. The query iteration is the one the task's block was sent at, so the
  // later tasks of a block are staler by the steps of the tasks before them.
  virtual absl::StatusOr<std::vector<std::string>> UpdateTask(absl::string_view answer,
                                                              const AnswerInfo& from,
                                                              const Problem& central);
  // Work the last UpdateTask left to do off the central thread (a master
  // problem's solve), or null. The engine asks after each UpdateTask and runs it
  // on a thread of its own while the tasks already queued keep going to idle
  // workers; until it is done the algorithm is not called (answers that arrive
  // wait, and are applied after it in arrival order). The tasks it returns join
  // the queue; StopNow() is asked again once it is done.
  virtual BackgroundJob TakeBackgroundWork() { return nullptr; }
  // The query the history saves (a candidate, an incumbent), encoded as
  // history_query_type() says.
  virtual std::string HistoryQuery() const { return std::string(); }
  // The encoding of q0 and the saved queries (query_type() unless overridden).
  virtual std::string history_query_type() const { return query_type(); }

  // --- Events (coordinator) ---

  // Every worker is Ready (index i of `workers` is worker i); called before
  // Initialize. Workers that failed setup under resilience have rows 0.
  virtual void OnWorkersReady(const std::vector<WorkerInfo>& workers) {}
  // `worker` is lost (it left the run, or its answers stop coming).
  virtual void OnWorkerLost(int worker) {}
  // `worker` rejoined the run with a fresh session.
  virtual void OnWorkerRejoined(int worker) {}

  // --- Hooks (coordinator), each called after every central step ---

  // Stop the run now ("algorithm" becomes the stop reason).
  virtual bool StopNow() { return false; }
  // Save a record now.
  virtual bool SaveNow() { return false; }
  // Names of values saved with each record, as extra history.csv columns. Fixed
  // for the instance's life; SavedValues returns one value per name.
  virtual std::vector<std::string> saved_value_names() const { return {}; }
  virtual std::vector<double> SavedValues(const Problem& central) { return {}; }
  // A measure of progress between consecutive central queries; nullopt to use
  // the configured norm of their difference.
  virtual std::optional<double> Precision(absl::string_view query, absl::string_view previous) {
    return std::nullopt;
  }
  // Fraction of the work done in [0, 1], if the algorithm knows it.
  virtual std::optional<double> ProgressFraction() const { return std::nullopt; }
  // Name and value pairs shown under the progress bar.
  virtual std::vector<std::pair<std::string, std::string>> ProgressValues() const { return {}; }
  // Called once at the end of the run; goes into summary.json's "report".
  virtual std::map<std::string, double> FinalReport(const Problem& central) { return {}; }
};

// What an instance is built for.
struct AlgorithmContext {
  const v1::AlgorithmSpec& spec;
  // Seed of this instance's random choices.
  uint64_t seed = 0;
  // The worker this instance serves, or -1 on the coordinator.
  int worker_index = -1;
  int worker_count = 1;
};

using AlgorithmFactory =
    std::function<absl::StatusOr<std::unique_ptr<Algorithm>>(const AlgorithmContext&)>;

// Plugins register here: AIA_REGISTER(AlgorithmRegistry(), "sgd", NewSgd).
Registry<AlgorithmFactory>& AlgorithmRegistry();

// Builds the plugin spec.name names. InvalidArgument for an unknown name (listing
// the known ones), parameters of another plugin, or bad parameter values.
absl::StatusOr<std::unique_ptr<Algorithm>> NewAlgorithm(const AlgorithmContext& context);

}  // namespace aia

#endif  // AIA_ALGORITHMS_ALGORITHM_H_
