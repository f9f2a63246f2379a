#include "metrics/run_observer.h"

namespace aia {

const char* LossCauseName(LossCause cause) {
  switch (cause) {
    case LossCause::kUnreachable:
      return "unreachable";
    case LossCause::kSetup:
      return "setup";
    case LossCause::kSilent:
      return "silent";
    case LossCause::kAnswerTimeout:
      return "answer_timeout";
    case LossCause::kStreamEnded:
      return "stream_ended";
    case LossCause::kError:
      return "error";
    case LossCause::kProtocol:
      return "protocol";
  }
  return "error";
}

}  // namespace aia
