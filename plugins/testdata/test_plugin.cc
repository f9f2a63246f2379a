// A plugin for the loader's tests: gradient descent ("test_gd") on a sum of
// squared distances ("test_quadratic"), each with a parameter message of its
// own (test_params.proto). TEST_PLUGIN_VERSION names the build.
#include <csignal>
#include <random>
#include <stdexcept>

#include "algorithms/typed_algorithm.h"
#include "plugins/testdata/test_params.pb.h"
#include "sdk/plugin.h"

#ifndef TEST_PLUGIN_VERSION
#define TEST_PLUGIN_VERSION "1.0"
#endif

namespace {

using ::aia::AlgorithmContext;
using ::aia::ConstVectorRef;
using ::aia::Problem;
using ::aia::ProblemContext;
using ::aia::Vector;

class Quadratic : public aia::FiniteSumProblem {
 public:
  Quadratic(const aia::test::QuadraticParams& params, const ProblemContext& context) {
    const int64_t dimension = params.dimension() > 0 ? params.dimension() : 4;
    const int64_t points = params.points() > 0 ? params.points() : 64;
    std::mt19937_64 rng(params.seed());
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    // Every instance draws every point and keeps its shard.
    for (int64_t i = 0; i < points; ++i) {
      Vector c(dimension);
      for (int64_t j = 0; j < dimension; ++j) c[j] = uniform(rng);
      if (i % context.worker_count == context.worker_index) points_.push_back(c);
    }
    dimension_ = dimension;
  }
  int64_t dimension() const override { return dimension_; }
  int64_t rows() const override { return static_cast<int64_t>(points_.size()); }
  std::string Describe() const override { return "test_quadratic"; }
  double Objective(const Eigen::Ref<const Vector>& x) const override {
    double f = 0;
    for (const Vector& c : points_) f += 0.5 * (x - c).squaredNorm();
    return f;
  }
  void Gradient(const Eigen::Ref<const Vector>& x, Vector& gradient) const override {
    gradient = Vector::Zero(dimension_);
    for (const Vector& c : points_) gradient += x - c;
  }
  void RowGradient(const Eigen::Ref<const Vector>& x, int64_t i, Vector& gradient) const override {
    gradient = x - points_[static_cast<size_t>(i)];
  }

 private:
  int64_t dimension_ = 0;
  std::vector<Vector> points_;
};

class Gd : public aia::TypedAlgorithm<Vector, Vector> {
 public:
  explicit Gd(const aia::test::GdParams& params)
      : stepsize_(params.has_stepsize() ? params.stepsize() : 0.5), params_(params) {}
  std::string message_version() const override { return "test_gd/1: mean shard gradients"; }

 protected:
  absl::StatusOr<Vector> Init(const Problem& central) override {
    q_ = Vector::Zero(central.dimension());
    return q_;
  }
  absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem& local) override {
    if (params_.throw_in_answer()) throw std::runtime_error("test_gd was asked to throw");
    if (params_.crash_in_answer()) std::raise(SIGSEGV);
    auto* problem = dynamic_cast<aia::FiniteSumProblem*>(&local);
    if (problem == nullptr || problem->rows() == 0) {
      return absl::FailedPreconditionError("test_gd needs test_quadratic rows");
    }
    Vector gradient;
    problem->Gradient(q, gradient);
    return Vector(gradient / static_cast<double>(problem->rows()));
  }
  absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const aia::AnswerInfo&,
                                     const Problem&) override {
    if (a.size() != q_.size()) return absl::DataLossError("an answer of another dimension");
    q_ -= stepsize_ * a;
    return q_;
  }

 private:
  const double stepsize_;
  const aia::test::GdParams params_;
  Vector q_;
};

absl::StatusOr<std::unique_ptr<aia::Algorithm>> NewGd(const aia::test::GdParams& params,
                                                      const AlgorithmContext&) {
  if (params.has_stepsize() && !(params.stepsize() > 0 && params.stepsize() <= 1)) {
    return aia::ParamsError(aia::PluginKind::kAlgorithm, "stepsize",
                            absl::StrCat("must be in (0, 1], got ", params.stepsize()));
  }
  return std::make_unique<Gd>(params);
}

absl::StatusOr<std::unique_ptr<Problem>> NewQuadratic(const aia::test::QuadraticParams& params,
                                                      const ProblemContext& context) {
  if (params.dimension() < 0 || params.dimension() > 1000) {
    return aia::ParamsError(aia::PluginKind::kProblem, "dimension", "must be in [0, 1000]");
  }
  return std::make_unique<Quadratic>(params, context);
}

}  // namespace

AIA_PLUGIN("test", TEST_PLUGIN_VERSION) {
  plugin.AddAlgorithm<aia::test::GdParams>("test_gd", NewGd);
  plugin.AddProblem<aia::test::QuadraticParams>("test_quadratic", NewQuadratic);
}
