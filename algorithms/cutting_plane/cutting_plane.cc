// cutting_plane and trust_region: asynchronous decomposition methods for
// min c'x + sum_j f_j(x) over a polyhedron, with f_j convex piecewise linear
// (Linderoth & Wright, Comput. Optim. Appl. 2003).
//
// Coordinator: a master LP (CutModel) holds one cut variable theta_b per chunk of
// pieces and the cuts the workers' answers give. Each candidate x is split into
// tasks, one per chunk; idle workers evaluate them (values, subgradients,
// feasibility cuts). A candidate triggers the next master solve once a fraction
// alpha of its tasks are back (CandidateTracker), with at most `basket`
// candidates out at once.
//
//   cutting_plane  the L-shaped method: the master over the whole first stage;
//                  lower bound = the master's value, upper bound = the best fully
//                  evaluated candidate; stops at a relative gap <= tolerance.
//   trust_region   the master in the box |x - incumbent|_inf <= radius. A fully
//                  evaluated candidate replaces the incumbent if it decreases f by
//                  at least xi = 1e-4 of the decrease the model predicted; the
//                  radius doubles after a successful step that reached the box
//                  edge and shrinks after poor ones; stops when the model
//                  predicts a relative decrease <= tolerance.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "algorithms/algorithm.h"
#include "algorithms/cutting_plane/candidates.h"
#include "algorithms/cutting_plane/master.h"
#include "algorithms/typed_algorithm.h"
#include "base/status_macros.h"
#include "problems/lp_values.h"

namespace aia {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// trust_region: the fraction of the predicted decrease a step must achieve.
constexpr double kXi = 1e-4;

absl::StatusOr<DecomposableProblem*> AsDecomposable(const Problem& problem) {
  auto* decomposable = dynamic_cast<DecomposableProblem*>(const_cast<Problem*>(&problem));
  if (decomposable == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cutting-plane methods need a decomposable problem (two_stage_lp, "
                     "l1_regression), not ",
                     problem.Describe()));
  }
  return decomposable;
}

std::string Dense(const Vector& x) { return Codec<Vector>::Encode(x); }

struct Options {
  bool trust_region = false;
  double alpha = 1;
  int block_size = 1;
  int basket = 1;
  int64_t chunk = 0;  // 0: from the problem and the worker count
  double tolerance = 1e-6;
  double initial_radius = 1;
  double max_radius = 1e4;
};

class CuttingPlane : public Algorithm {
 public:
  CuttingPlane(const Options& options, int workers)
      : options_(options), workers_(workers), tracker_(options.alpha, options.basket) {}

  std::string query_type() const override { return v1::CutTask::descriptor()->full_name(); }
  std::string answer_type() const override { return v1::CutAnswer::descriptor()->full_name(); }
  std::string history_query_type() const override { return std::string(kDenseVectorType); }
  std::string message_version() const override {
    return "cutting_plane/1: a task is a candidate and a chunk of pieces; the answer their cuts";
  }
  bool uses_task_pool() const override { return true; }
  int block_size() const override { return options_.block_size; }
  // A restarted worker only needs the tasks it is given: any worker may rejoin.
  bool supports_rejoin() const override { return true; }

  absl::StatusOr<Payload> Initialize(const Problem& central) override {
    ASSIGN_OR_RETURN(DecomposableProblem * problem, AsDecomposable(central));
    pieces_ = problem->pieces();
    if (pieces_ < 1) return absl::FailedPreconditionError("the problem has no pieces");
    chunk_ = options_.chunk > 0 ? options_.chunk
                                : std::max<int64_t>(1, pieces_ / (4 * std::max(1, workers_)));
    chunks_ = (pieces_ + chunk_ - 1) / chunk_;
    first_ = problem->first_stage();
    const double theta_lower_bound = problem->piece_lower_bound() * chunk_;
    if (theta_lower_bound != -kInfinity && !IsLpNumber(theta_lower_bound)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the problem's lower bound on a chunk of ", chunk_, " pieces is beyond +-",
          kMaxLpMagnitudeText, ", more than the master LP takes"));
    }
    ASSIGN_OR_RETURN(master_,
                     CutModel::Create(first_, static_cast<int>(chunks_), theta_lower_bound));
    // The first candidate: the master with no cuts (each theta at its bound).
    ASSIGN_OR_RETURN(CutModel::Solution first, master_->Solve());
    lower_bound_ = first.value;
    incumbent_ = first.x;
    radius_ = options_.initial_radius;
    candidates_[next_candidate_] = {first.x, first.value};
    return Dense(first.x);
  }

  absl::StatusOr<std::vector<std::string>> InitialTasks(const Problem&) override {
    return OpenCandidate(next_candidate_++);
  }

  absl::StatusOr<std::vector<std::string>> UpdateTask(absl::string_view bytes,
                                                      const AnswerInfo& from,
                                                      const Problem& central) override {
    v1::CutAnswer answer;
    if (!answer.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError("the answer is not a CutAnswer");
    }
    auto it = candidates_.find(answer.candidate());
    if (it == candidates_.end() || answer.chunk() < 0 || answer.chunk() >= chunks_) {
      return absl::DataLossError(absl::StrCat("an answer for unknown candidate ",
                                              answer.candidate(), " chunk ", answer.chunk()));
    }
    Candidate& candidate = it->second;
    ++evaluations_;
    // A worker's numbers go into the master LP: refuse what Clp cannot take.
    auto bad = [worker = from.worker](const absl::Status& status) {
      return absl::InvalidArgumentError(
          absl::StrCat("worker ", worker, " answered ", status.message()));
    };
    if (answer.feasible()) {
      ASSIGN_OR_RETURN(ConstVectorRef g, Codec<Vector>::Decode(answer.subgradient()));
      if (g.size() != candidate.x.size()) {
        return absl::DataLossError(absl::StrCat("a subgradient of dimension ", g.size()));
      }
      if (absl::Status s = CheckLpNumber("CutAnswer.value", answer.value()); !s.ok()) {
        return bad(s);
      }
      if (absl::Status s = CheckLpVector("CutAnswer.subgradient", g); !s.ok()) return bad(s);
      RETURN_IF_ERROR(master_->AddOptimalityCut(static_cast<int>(answer.chunk()), answer.value(), g,
                                                candidate.x));
      candidate.value += answer.value();
    } else {
      candidate.feasible = false;
      for (const v1::CutAnswer::FeasibilityCut& cut : answer.feasibility_cuts()) {
        ASSIGN_OR_RETURN(ConstVectorRef g, Codec<Vector>::Decode(cut.g()));
        if (g.size() != candidate.x.size()) {
          return absl::DataLossError(absl::StrCat("a feasibility cut of dimension ", g.size()));
        }
        if (absl::Status s = CheckLpVector("CutAnswer.feasibility_cuts.g", g); !s.ok()) {
          return bad(s);
        }
        if (absl::Status s = CheckLpNumber("CutAnswer.feasibility_cuts.r", cut.r()); !s.ok()) {
          return bad(s);
        }
        RETURN_IF_ERROR(master_->AddFeasibilityCut(g, cut.r()));
        ++feasibility_cuts_;
      }
    }
    const bool trigger = tracker_.TaskBack(answer.candidate());
    if (tracker_.Complete(answer.candidate())) Completed(candidate);
    // The master's solve makes the next candidate, off the central thread
    // (TakeBackgroundWork): the tasks queued meanwhile keep workers busy.
    if (trigger && !converged_) solve_pending_ = true;
    return std::vector<std::string>();
  }

  BackgroundJob TakeBackgroundWork() override {
    if (!solve_pending_) return nullptr;
    solve_pending_ = false;
    return [this] { return NextCandidate(); };
  }

  absl::StatusOr<Payload> Update(absl::string_view, const AnswerInfo&,
                                     const Problem&) override {
    return absl::UnimplementedError("cutting-plane methods use the task pool");
  }

  // Worker: evaluates the chunk's pieces at x.
  absl::StatusOr<Payload> Answer(absl::string_view bytes, Problem& local) override {
    ASSIGN_OR_RETURN(DecomposableProblem * problem, AsDecomposable(local));
    v1::CutTask task;
    if (!task.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError("the task is not a CutTask");
    }
    ASSIGN_OR_RETURN(ConstVectorRef x, Codec<Vector>::Decode(task.x()));
    if (x.size() != problem->dimension()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the candidate has dimension ", x.size(), " but the problem has ", problem->dimension()));
    }
    // A point Clp cannot take aborts it (x = 1e99 did): refuse it here, naming the
    // task field, whatever the problem checks itself.
    RETURN_IF_ERROR(CheckLpVector("CutTask.x", x));
    v1::CutAnswer answer;
    answer.set_candidate(task.candidate());
    answer.set_chunk(task.chunk());
    answer.set_feasible(true);
    Vector g = Vector::Zero(x.size());
    double value = 0;
    const int64_t begin = task.first_piece();
    const int64_t end = begin + task.pieces();
    if (begin < 0 || task.pieces() < 1 || end > problem->pieces()) {
      return absl::InvalidArgumentError(
          absl::StrCat("pieces [", begin, ", ", end, ") are not in [0, ", problem->pieces(), ")"));
    }
    for (int64_t j = begin; j < end; ++j) {
      ASSIGN_OR_RETURN(PieceEvaluation piece, problem->Evaluate(j, x));
      if (piece.feasible) {
        value += piece.value;
        g += piece.subgradient;
      } else {
        answer.set_feasible(false);
        v1::CutAnswer::FeasibilityCut* cut = answer.add_feasibility_cuts();
        cut->set_g(Dense(piece.subgradient));
        cut->set_r(piece.value);
      }
    }
    answer.set_value(value);
    answer.set_subgradient(Dense(g));
    return answer.SerializeAsString();
  }

  // Hooks.
  bool StopNow() override { return converged_; }
  std::vector<std::string> saved_value_names() const override {
    return {"objective", "lower_bound", "gap", "candidates", "cuts"};
  }
  std::vector<double> SavedValues(const Problem&) override {
    return {upper_bound_, lower_bound_, Gap(), static_cast<double>(next_candidate_),
            static_cast<double>(master_ ? master_->cuts() : 0)};
  }
  std::string HistoryQuery() const override { return Dense(incumbent_); }
  std::optional<double> ProgressFraction() const override { return std::nullopt; }
  std::vector<std::pair<std::string, std::string>> ProgressValues() const override {
    std::vector<std::pair<std::string, std::string>> values = {
        {"best", absl::StrFormat("%.10g", upper_bound_)},
        {options_.trust_region ? "model" : "bound", absl::StrFormat("%.10g", lower_bound_)},
        {"gap", absl::StrFormat("%.2e", Gap())},
        {"candidates", absl::StrCat(next_candidate_)}};
    if (options_.trust_region) values.push_back({"radius", absl::StrFormat("%.3g", radius_)});
    return values;
  }
  std::map<std::string, double> FinalReport(const Problem&) override {
    std::map<std::string, double> report = {
        {"objective", upper_bound_},
        {"lower_bound", lower_bound_},
        {"gap", Gap()},
        {"candidates", static_cast<double>(next_candidate_)},
        {"evaluations", static_cast<double>(evaluations_)},
        {"cuts", static_cast<double>(master_->cuts())},
        {"feasibility_cuts", static_cast<double>(feasibility_cuts_)},
        {"chunk", static_cast<double>(chunk_)}};
    if (options_.trust_region) report["radius"] = radius_;
    return report;
  }

 private:
  struct Candidate {
    Vector x;
    double model_value = 0;  // the master's value when it was made
    double value = 0;        // c'x + the chunk values back so far
    bool feasible = true;
  };

  // (best - bound) / max(1, |best|): the relative gap (cutting_plane) or the
  // relative decrease the model predicts (trust_region).
  double Gap() const {
    if (!std::isfinite(upper_bound_)) return kInfinity;
    return std::max(0.0, upper_bound_ - lower_bound_) / std::max(1.0, std::abs(upper_bound_));
  }

  absl::StatusOr<std::vector<std::string>> OpenCandidate(uint64_t id) {
    Candidate& candidate = candidates_[id];
    candidate.value = first_.c.dot(candidate.x);
    tracker_.Open(id, chunks_);
    std::vector<std::string> tasks;
    tasks.reserve(chunks_);
    const std::string x = Dense(candidate.x);
    for (int64_t c = 0; c < chunks_; ++c) {
      v1::CutTask task;
      task.set_candidate(id);
      task.set_chunk(c);
      task.set_x(x);
      task.set_first_piece(c * chunk_);
      task.set_pieces(std::min(chunk_, pieces_ - c * chunk_));
      tasks.push_back(task.SerializeAsString());
    }
    return tasks;
  }

  // Every task of `candidate` is back: its value is known.
  void Completed(Candidate& candidate) {
    if (!candidate.feasible) {
      if (options_.trust_region) ShrinkRadius(kInfinity);
      return;
    }
    const double f = candidate.value;
    if (!options_.trust_region) {
      if (f < upper_bound_) {
        upper_bound_ = f;
        incumbent_ = candidate.x;
      }
      converged_ = Gap() <= options_.tolerance;
      return;
    }
    if (!std::isfinite(upper_bound_)) {  // the first incumbent
      upper_bound_ = f;
      incumbent_ = candidate.x;
      return;
    }
    const double predicted = upper_bound_ - candidate.model_value;
    if (f <= upper_bound_ - kXi * predicted) {
      const double step = (candidate.x - incumbent_).lpNorm<Eigen::Infinity>();
      upper_bound_ = f;
      incumbent_ = candidate.x;
      if (step >= 0.999 * radius_) radius_ = std::min(2 * radius_, options_.max_radius);
      poor_steps_ = 0;
    } else if (predicted > 0) {
      ShrinkRadius(std::min(1.0, radius_) * (f - upper_bound_) / predicted);
    }
  }

  // Linderoth & Wright's rule after a rejected step with ratio rho.
  void ShrinkRadius(double rho) {
    if (rho <= 0) return;
    ++poor_steps_;
    if (rho > 3 || (poor_steps_ >= 3 && rho > 1)) {
      radius_ = radius_ / std::min(std::max(rho, 1.0), 4.0);
      poor_steps_ = 0;
    }
  }

  absl::StatusOr<std::vector<std::string>> NextCandidate() {
    if (options_.trust_region && std::isfinite(upper_bound_)) {
      RETURN_IF_ERROR(master_->SetTrustRegion(incumbent_, radius_));
    }
    ASSIGN_OR_RETURN(CutModel::Solution solution, master_->Solve());
    if (options_.trust_region) {
      lower_bound_ = solution.value;  // the model's value in the box
      if (Gap() <= options_.tolerance) {
        converged_ = true;
        return std::vector<std::string>();
      }
    } else {
      lower_bound_ = std::max(lower_bound_, solution.value);
      if (Gap() <= options_.tolerance) {
        converged_ = true;
        return std::vector<std::string>();
      }
    }
    const uint64_t id = next_candidate_++;
    candidates_[id] = {solution.x, solution.value};
    return OpenCandidate(id);
  }

  const Options options_;
  const int workers_;
  CandidateTracker tracker_;
  int64_t pieces_ = 0, chunk_ = 0, chunks_ = 0;
  LinearConstraints first_;
  std::unique_ptr<CutModel> master_;
  std::map<uint64_t, Candidate> candidates_;
  uint64_t next_candidate_ = 0;
  Vector incumbent_;
  double upper_bound_ = kInfinity;
  double lower_bound_ = -kInfinity;
  double radius_ = 1;
  int poor_steps_ = 0;
  int64_t evaluations_ = 0;
  int64_t feasibility_cuts_ = 0;
  bool converged_ = false;
  bool solve_pending_ = false;  // a trigger came; the next solve is to run
};

absl::StatusOr<std::unique_ptr<Algorithm>> NewCuttingPlaneMethod(const AlgorithmContext& context,
                                                                 bool trust_region) {
  const char* name = trust_region ? "trust_region" : "cutting_plane";
  const v1::CuttingPlaneParams& params =
      trust_region ? context.spec.trust_region() : context.spec.cutting_plane();
  Options options;
  options.trust_region = trust_region;
  options.alpha = params.has_alpha() ? params.alpha() : 1.0;
  options.block_size = params.has_block_size() ? params.block_size() : 1;
  options.basket = params.has_basket() ? params.basket() : (options.alpha < 1 ? 3 : 1);
  options.chunk = params.has_chunk() ? params.chunk() : 0;
  options.tolerance = params.has_tolerance() ? params.tolerance() : 1e-6;
  options.initial_radius = params.has_initial_radius() ? params.initial_radius() : 1;
  options.max_radius = params.has_max_radius() ? params.max_radius() : 1e4;
  auto field = [name](const char* f) { return absl::StrCat("algorithm.", name, ".", f); };
  if (!(options.alpha > 0 && options.alpha <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("alpha"), " must be in (0, 1], got ", options.alpha));
  }
  if (options.block_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("block_size"), " must be >= 1, got ", options.block_size));
  }
  if (options.basket < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("basket"), " must be >= 1, got ", options.basket));
  }
  if (params.has_chunk() && options.chunk < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("chunk"), " must be >= 1, got ", options.chunk));
  }
  if (!(options.tolerance >= 0 && std::isfinite(options.tolerance))) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("tolerance"), " must be >= 0, got ", options.tolerance));
  }
  if (!(options.initial_radius > 0) || !(options.max_radius >= options.initial_radius)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field("initial_radius"), " must be > 0 and <= max_radius, got ",
                     options.initial_radius, " and ", options.max_radius));
  }
  if (!(options.max_radius <= kMaxLpMagnitude)) {
    return absl::InvalidArgumentError(absl::StrCat(field("max_radius"), " must be at most ",
                                                   kMaxLpMagnitudeText, ", got ",
                                                   options.max_radius));
  }
  return std::make_unique<CuttingPlane>(options, context.worker_count);
}

absl::StatusOr<std::unique_ptr<Algorithm>> NewCuttingPlane(const AlgorithmContext& context) {
  return NewCuttingPlaneMethod(context, false);
}

absl::StatusOr<std::unique_ptr<Algorithm>> NewTrustRegion(const AlgorithmContext& context) {
  return NewCuttingPlaneMethod(context, true);
}

}  // namespace

AIA_REGISTER(AlgorithmRegistry(), "cutting_plane", NewCuttingPlane);
AIA_REGISTER(AlgorithmRegistry(), "trust_region", NewTrustRegion);

}  // namespace aia
