#!/usr/bin/python3
"""Plays systemd's side of Type=notify for one command.

  notify_reader.py [--timeout=S] [--stop] -- COMMAND [ARG...]

Binds an AF_UNIX datagram socket, starts COMMAND with NOTIFY_SOCKET pointing at
it, and prints every notification ("notify: READY=1"). It closes descriptors sent
with a message (BARRIER=1 sends one; the sender waits until it is closed). Once
READY=1 arrived, with --stop it sends SIGTERM and waits for the command's exit (and
expects STOPPING=1 before it). Exit status: 0 when READY=1 arrived (and, with
--stop, STOPPING=1 too and the command exited 0); 1 otherwise (it timed out, or
the command exited first: its status is printed). Every wait ends after --timeout.
"""
import argparse
import array
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=15)
    parser.add_argument("--stop", action="store_true")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="notify.")
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(directory, 0o755)
    os.chmod(path, 0o777)  # the command may run as another user (User=)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    child = subprocess.Popen(args.command, env=env)
    deadline = time.monotonic() + args.timeout
    seen = []

    def receive_until(wanted):
        while wanted not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"notify_reader: no {wanted} within {args.timeout} s", flush=True)
                return False
            ready, _, _ = select.select([sock], [], [], min(left, 0.1))
            if not ready:
                if child.poll() is not None:
                    print(f"notify_reader: the command exited with status {child.returncode} "
                          f"before {wanted}", flush=True)
                    return False
                continue
            fds = array.array("i")
            data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
            for line in data.decode(errors="replace").splitlines():
                print(f"notify: {line}", flush=True)
                seen.append(line)
        return True

    ok = receive_until("READY=1")
    if ok and args.stop:
        child.send_signal(signal.SIGTERM)
        ok = receive_until("STOPPING=1")
        try:
            status = child.wait(max(0.1, deadline - time.monotonic()))
            print(f"notify_reader: the command exited with status {status}", flush=True)
            ok = ok and status == 0
        except subprocess.TimeoutExpired:
            print(f"notify_reader: the command did not exit within {args.timeout} s", flush=True)
            ok = False
    if child.poll() is None:
        child.kill()
        child.wait()
    sock.close()
    os.unlink(path)
    os.rmdir(directory)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
