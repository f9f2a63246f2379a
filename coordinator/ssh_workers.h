// SshWorkers: aia_worker started on plain machines over ssh for one run (the
// `addprocs` of aia: `aia run --ssh_workers=HOSTS_FILE`), the workers joining back
// to the run's coordinator (aia_worker --join), so that the hosts need no inbound
// port but ssh's.
//
// Each host gets one `ssh -o BatchMode=yes -o ConnectTimeout=S [-p PORT] [OPTIONS]
// [user@]host sh -c SCRIPT` child. SCRIPT starts the worker in the background and
// waits for it while a second background job reads the session's stdin; when that
// stdin ends (we close our end of the pipe, ssh or its TCP connection dies, or aia
// is killed: ssh gets SIGTERM when aia's starting thread goes) the worker gets
// SIGTERM and drains; when the worker exits on its own the session ends with its
// status. So closing the session stops the remote worker, without a tty (-tt).
// Each ssh child's stdout and stderr (ssh's own errors and the worker's log) go to
// LOG_DIR/ssh-HOST.log.
//
// An ssh child that exits while the run goes on (the host refused, timed out,
// the remote binary is missing, the worker died) calls on_failure once with
// "ssh worker HOST (ADDRESS): LAST LINES OF ITS LOG (ssh exit status N)".
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<SshHost> hosts, ReadSshHostsFile(path));
//   options.hosts = hosts;  options.join_target = "10.0.0.1:7071";
//   ASSIGN_OR_RETURN(auto workers, SshWorkers::Start(options));
//   ... the run ...
//   workers.reset();  // the sessions end; the remote workers stop
//
// Thread safety: failure() may be called from any thread; the rest is not
// thread-safe.
#ifndef AIA_COORDINATOR_SSH_WORKERS_H_
#define AIA_COORDINATOR_SSH_WORKERS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace aia {

struct SshHost {
  std::string user;  // empty: ssh's default
  std::string host;
  int port = 0;      // 0: ssh's default
  // "[user@]host" as ssh takes it.
  std::string Destination() const { return user.empty() ? host : user + "@" + host; }
};

// Parses one `[user@]host[:port]` (InvalidArgument saying what is wrong).
absl::StatusOr<SshHost> ParseSshHost(const std::string& text);

// A hosts file: one `[user@]host[:port]` a line, '#' comments, blank lines;
// InvalidArgument "FILE:LINE: ..." for a bad line, NotFound for a missing file.
absl::StatusOr<std::vector<SshHost>> ReadSshHostsFile(const std::string& path);

// The local address (IPv4 or IPv6, numeric) this machine reaches `host` from,
// by connecting a UDP socket (no packet is sent).
absl::StatusOr<std::string> LocalAddressTowards(const std::string& host);

// Quotes `text` for a POSIX shell ('...', with ' as '\'').
std::string ShellQuote(const std::string& text);

class SshWorkers {
 public:
  struct Options {
    std::vector<SshHost> hosts;
    // HOST:PORT the workers join (aia_worker --join).
    std::string join_target;
    // The remote aia_worker (a path, or a name on the remote PATH).
    std::string worker_binary = "aia_worker";
    // More aia_worker flags (--data_root=..., TLS flags); --join, --join_name and
    // --shutdown_grace_s are added.
    std::vector<std::string> worker_flags;
    // More ssh arguments, before the destination (-o Name=value, -i KEY, ...).
    std::vector<std::string> ssh_options;
    int connect_timeout_s = 10;
    // Where ssh-HOST.log files go (must exist).
    std::string log_dir;
    // Called once, from a thread of ours, for the first ssh child that exits
    // before Stop.
    std::function<void(const std::string& message)> on_failure;
  };

  static absl::StatusOr<std::unique_ptr<SshWorkers>> Start(const Options& options);

  // Stop().
  ~SshWorkers();

  // Ends the sessions (the remote workers drain and exit) and waits for the ssh
  // children: closes their stdin, SIGTERM after 5 s, SIGKILL 2 s later.
  void Stop();

  // The first failure's message, or "".
  std::string failure() const;

  // The ssh argv of host `i` (for logs and tests).
  const std::vector<std::string>& argv(int i) const { return argvs_[i]; }

 private:
  struct Child {
    std::string name;   // the host as given
    std::string label;  // "HOST (ADDRESS)"
    std::string log;
    pid_t pid = -1;
    int stdin_fd = -1;
    bool exited = false;
  };

  SshWorkers() = default;
  void Watch();

  Options options_;
  std::vector<std::vector<std::string>> argvs_;
  std::thread watcher_;
  mutable absl::Mutex mu_;
  std::vector<Child> children_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_started_ ABSL_GUARDED_BY(mu_);
  std::string failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace aia

#endif  // AIA_COORDINATOR_SSH_WORKERS_H_
