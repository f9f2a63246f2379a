// A preloaded clock for tests: CLOCK_REALTIME (and gettimeofday, time) jumps
// $AIA_CLOCK_JUMP_S seconds once $AIA_CLOCK_JUMP_AFTER_S seconds of monotonic time
// have passed since the process started. Monotonic clocks are untouched. Used as
//   LD_PRELOAD=clock_jump.so AIA_CLOCK_JUMP_AFTER_S=1.5 AIA_CLOCK_JUMP_S=3600 aia run ...
// to show that no timeout of aia's runs on wall time.
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace {

double Monotonic() {
  timespec now;
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

const double start = Monotonic();

double Setting(const char* name) {
  const char* value = getenv(name);
  return value != nullptr ? atof(value) : 0.0;
}

// Seconds to add to the wall clock now.
long Offset() {
  static const double after = Setting("AIA_CLOCK_JUMP_AFTER_S");
  static const long jump = static_cast<long>(Setting("AIA_CLOCK_JUMP_S"));
  return Monotonic() - start >= after ? jump : 0;
}

}  // namespace

extern "C" int clock_gettime(clockid_t clock, timespec* out) {
  const int result = static_cast<int>(syscall(SYS_clock_gettime, clock, out));
  if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    out->tv_sec += Offset();
  }
  return result;
}

extern "C" int gettimeofday(timeval* out, void*) {
  timespec now;
  const int result = clock_gettime(CLOCK_REALTIME, &now);
  if (result == 0) {
    out->tv_sec = now.tv_sec;
    out->tv_usec = now.tv_nsec / 1000;
  }
  return result;
}

extern "C" time_t time(time_t* out) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (out != nullptr) *out = now.tv_sec;
  return now.tv_sec;
}
