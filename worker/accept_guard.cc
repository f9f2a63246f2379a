// Keeps the daemon's listening socket alive when it runs out of file descriptors.
//
// gRPC 1.51 stops listening on a port for good when accept4() fails with EMFILE
// or ENFILE: idle connections up to the descriptor limit would leave the daemon
// never accepting again, even after they close. This definition of accept4, in
// the aia_worker executable, comes before libc's for gRPC's calls (ELF symbol
// interposition). On EMFILE/ENFILE it sheds the connection at the head of the
// backlog with a reserved descriptor (the client sees the connection closed) and
// reports EAGAIN, so that gRPC keeps the listener; it accepts again at the next
// connection once descriptors are free.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace {

std::mutex reserve_mu;
int reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);  // NOLINT: at load time
std::atomic<long> shed_connections{0};

int RawAccept4(int fd, sockaddr* address, socklen_t* length, int flags) {
  return static_cast<int>(syscall(SYS_accept4, fd, address, length, flags));
}

}  // namespace

extern "C" int accept4(int fd, sockaddr* address, socklen_t* length, int flags) {
  const int accepted = RawAccept4(fd, address, length, flags);
  if (accepted >= 0 || (errno != EMFILE && errno != ENFILE)) {
    const int saved = errno;
    {
      // Another thread may have taken the descriptor freed for a shed: take a new one.
      std::lock_guard<std::mutex> lock(reserve_mu);
      if (reserve_fd < 0) reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    errno = saved;
    return accepted;
  }
  {
    std::lock_guard<std::mutex> lock(reserve_mu);
    if (reserve_fd < 0) reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (reserve_fd >= 0) {
      close(reserve_fd);
      const int shed = RawAccept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (shed >= 0) {
        close(shed);
        shed_connections.fetch_add(1, std::memory_order_relaxed);
      }
      reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
  }
  errno = EAGAIN;
  return -1;
}

namespace aia {

long ShedConnections() { return shed_connections.load(std::memory_order_relaxed); }

}  // namespace aia
