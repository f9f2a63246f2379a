#include "metrics/worker_metrics.h"

#include <string>

namespace aia {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

// 100 µs to 100 s, about three buckets a decade: plugin steps range from
// microseconds (echo) to seconds (a cutting-plane LP).
const prometheus::Histogram::BucketBoundaries& StepBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100};
  return *buckets;
}

}  // namespace

WorkerMetrics::WorkerMetrics(prometheus::Registry& registry)
    : sessions_active_(
          NewGauge(registry, "aia_worker_sessions_active", "Sessions admitted and not yet ended.")),
      sessions_started_(
          NewCounter(registry, "aia_worker_sessions_started_total", "Sessions admitted.")),
      answers_(NewCounter(registry, "aia_worker_answers_total", "Answers sent.")),
      step_seconds_(prometheus::BuildHistogram()
                        .Name("aia_worker_step_seconds")
                        .Help("Worker step time of each answer sent (simulated straggler "
                              "delay included).")
                        .Register(registry)
                        .Add({}, StepBuckets())),
      received_bytes_(NewCounter(registry, "aia_worker_received_bytes_total",
                                 "Serialized protobuf bytes of the messages received.")),
      sent_bytes_(NewCounter(registry, "aia_worker_sent_bytes_total",
                             "Serialized protobuf bytes of the messages sent.")),
      cache_entries_(NewGauge(registry, "aia_worker_problem_cache_entries",
                              "Built problems kept for later runs.")),
      cache_bytes_(NewGauge(registry, "aia_worker_problem_cache_bytes",
                            "Memory held by the kept problems.")) {
  auto& refused = prometheus::BuildCounter()
                      .Name("aia_worker_sessions_refused_total")
                      .Help("Sessions refused, by cause.")
                      .Register(registry);
  for (int i = 0; i < kSessionRefusalCount; ++i) {
    sessions_refused_[i] =
        &refused.Add({{"cause", SessionRefusalName(static_cast<SessionRefusal>(i))}});
  }
  auto& ended = prometheus::BuildCounter()
                    .Name("aia_worker_sessions_ended_total")
                    .Help("Sessions ended, by cause.")
                    .Register(registry);
  for (int i = 0; i < kSessionEndCount; ++i) {
    sessions_ended_[i] = &ended.Add({{"cause", SessionEndName(static_cast<SessionEnd>(i))}});
  }
}

void WorkerMetrics::SessionStarted() {
  sessions_started_.Increment();
  sessions_active_.Increment();
}

void WorkerMetrics::SessionEnded(SessionEnd cause) {
  const int i = static_cast<int>(cause);
  if (i >= 0 && i < kSessionEndCount) sessions_ended_[i]->Increment();
  sessions_active_.Decrement();
}

void WorkerMetrics::SessionRefused(SessionRefusal cause) {
  const int i = static_cast<int>(cause);
  if (i >= 0 && i < kSessionRefusalCount) sessions_refused_[i]->Increment();
}

void WorkerMetrics::Answered(double step_seconds) {
  answers_.Increment();
  step_seconds_.Observe(step_seconds);
}

void WorkerMetrics::Received(int64_t bytes) {
  received_bytes_.Increment(static_cast<double>(bytes));
}

void WorkerMetrics::Sent(int64_t bytes) { sent_bytes_.Increment(static_cast<double>(bytes)); }

void WorkerMetrics::ProblemCacheChanged(int entries, int64_t bytes) {
  cache_entries_.Set(entries);
  cache_bytes_.Set(static_cast<double>(bytes));
}

}  // namespace aia
