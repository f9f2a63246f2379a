// The quick start of AsynchronousIterativeAlgorithms.jl as an aia plugin:
// asynchronous SGD ("my_sgd") on least squares with random data ("my_lrmse").
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "algorithms/typed_algorithm.h"
#include "problems/readers.h"
#include "quickstart.pb.h"
#include "sdk/plugin.h"

namespace quickstart {

using aia::ConstVectorRef;
using aia::Matrix;
using aia::Vector;

// f(x) = sum_i 1/2 (a_i'x - b_i)^2 over this worker's rows i of A.
class Lrmse : public aia::FiniteSumProblem {
 public:
  Lrmse(const LrmseParams& params, const aia::ProblemContext& context) {
    const int64_t rows = params.rows() > 0 ? params.rows() : 42;
    const int64_t columns = params.columns() > 0 ? params.columns() : 10;
    // Every worker draws the whole data set and keeps rows w, w + W, w + 2W, ...
    std::mt19937_64 rng(params.seed());
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    Matrix a(rows, columns);
    Vector b(rows);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < columns; ++j) a(i, j) = uniform(rng);
      b[i] = uniform(rng);
    }
    const std::vector<int64_t> mine = aia::ShardRows(
        rows, context.worker_index, context.worker_count, aia::v1::ProblemSpec::STRIDED);
    a_.resize(static_cast<Eigen::Index>(mine.size()), columns);
    b_.resize(static_cast<Eigen::Index>(mine.size()));
    for (size_t k = 0; k < mine.size(); ++k) {
      a_.row(k) = a.row(mine[k]);
      b_[k] = b[mine[k]];
    }
  }

  int64_t dimension() const override { return a_.cols(); }
  int64_t rows() const override { return a_.rows(); }
  std::string Describe() const override {
    return "my_lrmse: " + std::to_string(a_.rows()) + " random rows";
  }
  double Objective(const Eigen::Ref<const Vector>& x) const override {
    return 0.5 * (a_ * x - b_).squaredNorm();
  }
  void Gradient(const Eigen::Ref<const Vector>& x, Vector& gradient) const override {
    gradient = a_.transpose() * (a_ * x - b_);
  }
  void RowGradient(const Eigen::Ref<const Vector>& x, int64_t i, Vector& gradient) const override {
    gradient = a_.row(i).transpose() * (a_.row(i).dot(x) - b_[i]);
  }

 private:
  Matrix a_;
  Vector b_;
};

// Julia's SGD: q0 uniform in [0, 1)^n; a worker answers stepsize times the
// gradient at one random row of its data; the central step subtracts it.
class Sgd : public aia::TypedAlgorithm<Vector, Vector> {
 public:
  Sgd(double stepsize, uint64_t seed) : stepsize_(stepsize), rng_(seed) {}

  // Saved with every record: a column "objective" of history.csv.
  std::vector<std::string> saved_value_names() const override { return {"objective"}; }
  std::vector<double> SavedValues(const aia::Problem& central) override {
    return {dynamic_cast<const aia::FiniteSumProblem&>(central).Objective(q_)};
  }

 protected:
  // The initialization step (coordinator).
  absl::StatusOr<Vector> Init(const aia::Problem& central) override {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    q_.resize(central.dimension());
    for (Eigen::Index j = 0; j < q_.size(); ++j) q_[j] = uniform(rng_);
    return q_;
  }

  // The worker step.
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, aia::Problem& local) override {
    auto* problem = dynamic_cast<aia::FiniteSumProblem*>(&local);
    if (problem == nullptr || problem->rows() == 0) {
      return absl::FailedPreconditionError("my_sgd needs a finite-sum problem with rows");
    }
    std::uniform_int_distribution<int64_t> row(0, problem->rows() - 1);
    Vector gradient;
    problem->RowGradient(q, row(rng_), gradient);
    return Vector(stepsize_ * gradient);
  }

  // The asynchronous central step, for one answer of one worker.
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const aia::AnswerInfo& from,
                                     const aia::Problem& central) override {
    if (a.size() != q_.size()) return absl::DataLossError("an answer of another dimension");
    q_ -= a;
    return q_;
  }

 private:
  const double stepsize_;
  std::mt19937_64 rng_;
  Vector q_;
};

absl::StatusOr<std::unique_ptr<aia::Algorithm>> NewSgd(const SgdParams& params,
                                                       const aia::AlgorithmContext& context) {
  const double stepsize = params.has_stepsize() ? params.stepsize() : 0.01;
  if (!(stepsize > 0)) {
    return aia::ParamsError(aia::PluginKind::kAlgorithm, "stepsize",
                            "must be > 0, got " + std::to_string(stepsize));
  }
  return std::make_unique<Sgd>(stepsize, context.seed);
}

absl::StatusOr<std::unique_ptr<aia::Problem>> NewLrmse(const LrmseParams& params,
                                                       const aia::ProblemContext& context) {
  if (params.rows() < 0 || params.columns() < 0 || params.rows() * params.columns() > 100000000) {
    return aia::ParamsError(aia::PluginKind::kProblem, "rows",
                            "rows and columns must be >= 0, rows x columns at most 1e8");
  }
  return std::make_unique<Lrmse>(params, context);
}

}  // namespace quickstart

AIA_PLUGIN("quickstart", "1.0") {
  plugin.AddAlgorithm<quickstart::SgdParams>("my_sgd", quickstart::NewSgd);
  plugin.AddProblem<quickstart::LrmseParams>("my_lrmse", quickstart::NewLrmse);
}
