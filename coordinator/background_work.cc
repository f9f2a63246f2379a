#include "coordinator/background_work.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"

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
    try {
      result = job();
    } catch (const std::exception& e) {
      result = absl::InternalError(absl::StrCat("the plugin threw an exception: ", e.what()));
    } catch (...) {
      result = absl::InternalError("the plugin threw an exception that is not a std::exception");
    }
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
