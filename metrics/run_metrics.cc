#include "metrics/run_metrics.h"

#include "absl/strings/str_cat.h"

namespace aia {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

// 10 µs to 10 s: a central step is an O(dimension) update (gradient methods) or
// an LP solve (cutting planes).
const prometheus::Histogram::BucketBoundaries& StepBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10};
  return *buckets;
}

}  // namespace

RunMetrics::RunMetrics(prometheus::Registry& registry)
    : runs_active_(prometheus::BuildGauge()
                       .Name("aia_runs_active")
                       .Help("Runs under way.")
                       .Register(registry)
                       .Add({})),
      runs_(prometheus::BuildCounter()
                .Name("aia_runs_total")
                .Help("Runs ended, by status.")
                .Register(registry)),
      answers_family_(prometheus::BuildCounter()
                          .Name("aia_answers_total")
                          .Help("Answers the central loop took, by worker index.")
                          .Register(registry)),
      central_step_seconds_(prometheus::BuildHistogram()
                                .Name("aia_central_step_seconds")
                                .Help("Time of each central step.")
                                .Register(registry)
                                .Add({}, StepBuckets())),
      received_bytes_(NewCounter(registry, "aia_received_bytes_total",
                                 "Answer payload bytes the central loop took.")),
      sent_bytes_(NewCounter(registry, "aia_sent_bytes_total",
                             "Query payload bytes sent, counted once per recipient.")) {
  for (const char* status : {"completed", "failed", "cancelled"}) runs_.Add({{"status", status}});
  auto& losses = prometheus::BuildCounter()
                     .Name("aia_worker_losses_total")
                     .Help("Workers lost by runs, by cause.")
                     .Register(registry);
  for (int i = 0; i < kLossCauseCount; ++i) {
    losses_[i] = &losses.Add({{"cause", LossCauseName(static_cast<LossCause>(i))}});
  }
}

void RunMetrics::RunStarted(int workers) {
  runs_active_.Increment();
  absl::MutexLock lock(&mu_);
  for (int w = static_cast<int>(answers_.size()); w < workers; ++w) {
    answers_.push_back(&answers_family_.Add({{"worker", absl::StrCat(w)}}));
  }
}

void RunMetrics::RunEnded(const std::string& status) {
  runs_active_.Decrement();
  if (status == "completed" || status == "failed" || status == "cancelled") {
    runs_.Add({{"status", status}}).Increment();
  }
}

void RunMetrics::Answer(int worker, int64_t bytes) {
  {
    absl::MutexLock lock(&mu_);
    if (worker >= 0 && worker < static_cast<int>(answers_.size())) answers_[worker]->Increment();
  }
  received_bytes_.Increment(static_cast<double>(bytes));
}

void RunMetrics::CentralStep(double seconds) { central_step_seconds_.Observe(seconds); }

void RunMetrics::QuerySent(int64_t bytes) { sent_bytes_.Increment(static_cast<double>(bytes)); }

void RunMetrics::WorkerLost(LossCause cause) {
  const int i = static_cast<int>(cause);
  if (i >= 0 && i < kLossCauseCount) losses_[i]->Increment();
}

}  // namespace aia
