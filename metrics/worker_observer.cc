#include "metrics/worker_observer.h"

namespace aia {

const char* SessionRefusalName(SessionRefusal cause) {
  switch (cause) {
    case SessionRefusal::kFull:
      return "full";
    case SessionRefusal::kDraining:
      return "draining";
  }
  return "unknown";
}

const char* SessionEndName(SessionEnd cause) {
  switch (cause) {
    case SessionEnd::kStopped:
      return "stopped";
    case SessionEnd::kClosed:
      return "closed";
    case SessionEnd::kCancelled:
      return "cancelled";
    case SessionEnd::kError:
      return "error";
    case SessionEnd::kSetupDeadline:
      return "setup_deadline";
    case SessionEnd::kLiveness:
      return "liveness";
    case SessionEnd::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

}  // namespace aia
