// pingpong_server: the raw baseline's server daemon (bench/README.md). Echoes
// every Frame of every PingPong.Stream until SIGTERM or SIGINT.
//
//   pingpong_server --listen=127.0.0.1:0
//
// Prints "pingpong_server listening on HOST:PORT" on stdout once it serves, like
// aia_worker, so the same launcher (coordinator/local_workers.h) starts it and finds its port.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/pingpong_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to serve on (port 0 picks one)");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{256} << 20,
          "largest gRPC message either way (as aia_worker)");
// Accepted so that LocalWorkers starts this server exactly as it starts aia_worker.
ABSL_FLAG(std::string, data_root, "", "ignored (aia_worker's flag)");
ABSL_FLAG(double, shutdown_grace_s, 1, "ignored (aia_worker's flag)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "raw gRPC echo server for bench/transport_bench.\n"
      "Usage: pingpong_server --listen=HOST:PORT");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "pingpong_server: unexpected argument '%s'\n", positional[1]);
    return 2;
  }
  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  aia::bench::PingPongServer::Options options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  auto server = aia::bench::PingPongServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "pingpong_server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::printf("pingpong_server listening on %s:%d\n", host.c_str(), (*server)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*server)->Shutdown();
  return 0;
}
