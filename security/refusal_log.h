// The worker's log of refused peers: each TLS handshake that fails and each call
// refused for its token becomes one line naming the peer's address and the cause,
//
//   refused a connection from 127.0.0.1:51234: no client certificate (...)
//   refused a call from 127.0.0.1:51236: wrong bearer token
//
// gRPC 1.51 tells neither its AuthMetadataProcessor nor its handshake-failure log
// which peer is concerned. The address is found as follows: this library wraps the
// C library's recvmsg() (gRPC's TCP endpoint reads with it) to remember, per thread,
// the socket last read; a handshake failure or a token check is handled on the thread
// that has just read the peer's bytes, so getpeername() of that socket is the peer.
// gRPC's own handshake-failure messages reach this library through gRPC's log hook
// (gpr_set_log_function, at DEBUG verbosity: other messages are printed as gRPC
// would, at the verbosity of $GRPC_VERBOSITY, default ERROR). When the address cannot
// be found the line says "an unknown peer".
//
// Link this library only into daemons (aia_worker): it replaces recvmsg() in the
// whole process (a call through to the C library's, plus one thread-local store).
//
// Thread safety: InstallRefusalLog once, before serving; the rest from any thread.
#ifndef AIA_SECURITY_REFUSAL_LOG_H_
#define AIA_SECURITY_REFUSAL_LOG_H_

#include <functional>
#include <string>

namespace aia::security {

// Routes gRPC's log through this library and sends each refusal line to `sink`
// (without a trailing newline).
void InstallRefusalLog(std::function<void(const std::string& line)> sink);

// For ServerSecurityOptions::on_refused_call: sends "refused a call from PEER: REASON"
// to the sink installed (stderr if none).
void LogRefusedCall(const std::string& reason);

// "HOST:PORT" of the peer of the socket this thread read last, or "" if unknown.
std::string CurrentPeer();

// The cause in one of gRPC's "Handshaking failed: ..." messages, in words for an
// operator ("no client certificate (...)"); empty if the message is not about a
// refused peer (a server shutting down).
std::string HandshakeFailureCause(const std::string& grpc_message);

}  // namespace aia::security

#endif  // AIA_SECURITY_REFUSAL_LOG_H_
