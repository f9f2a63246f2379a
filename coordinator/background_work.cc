#include "coordinator/background_work.h"

#include <utility>

#include "plugins/exceptions.h"

namespace aia {

BackgroundWork::~BackgroundWork() {
  if (thread_.joinable()) thread_.join();
}

void BackgroundWork::Start(BackgroundJob job) {
  {
    absl::MutexLock lock(&mu_);
    finished_ = false;
  }
  thread_ = std::thread([this, job = std::move(job)] {
    absl::StatusOr<std::vector<std::string>> result;
    const absl::Status thrown = CatchPluginExceptions([&] {
      result = job();
      return absl::OkStatus();
    });
    if (!thrown.ok()) result = thrown;
    {
      absl::MutexLock lock(&mu_);
      result_ = std::move(result);
      finished_ = true;
    }
    Event wake;
    wake.kind = Event::Kind::kWake;
    events_->Push(std::move(wake));
  });
}

bool BackgroundWork::done() const {
  absl::MutexLock lock(&mu_);
  return thread_.joinable() && finished_;
}

void BackgroundWork::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&finished_));
}

absl::StatusOr<std::vector<std::string>> BackgroundWork::Collect() {
  thread_.join();
  absl::MutexLock lock(&mu_);
  return std::move(result_);
}

}  // namespace aia
