#!/usr/bin/python3
"""A worker for aia written with Python's stock grpcio server, default settings.

It keeps the stream rules of proto/worker.proto with nothing but those rules: it
serves the `echo` algorithm (the answer is the query) for any problem whose
dimension the Setup tells (least_squares on synthetic data), sends a Heartbeat
every Setup.heartbeat_s from a thread of its own, and takes --step_s per step.
Flags make it break one rule at a time, for tests.

  worker.py --stubs=DIR [--step_s=S] [--setup_s=S] [--compute_s=X]
            [--algorithm_version=V] [--error_after=N] [--no_heartbeats]

Prints "python worker listening on 127.0.0.1:PORT" once it serves.
"""
import argparse
import queue
import socket
import sys
import threading
import time
from concurrent import futures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True, help="directory of the generated proto modules")
    parser.add_argument("--step_s", type=float, default=0.0)
    parser.add_argument("--compute_s", type=float, default=None,
                        help="report this compute_s instead of the measured time")
    parser.add_argument("--algorithm_version", default=None,
                        help="claim this message version in Ready instead of the Setup's")
    parser.add_argument("--error_after", type=int, default=-1,
                        help="answer this many queries, then send an Error with invalid UTF-8")
    parser.add_argument("--no_heartbeats", action="store_true")
    parser.add_argument("--setup_s", type=float, default=0.0,
                        help="take this long to build the problem (heartbeats go on)")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    from proto import worker_pb2, worker_pb2_grpc  # generated at test time

    class Worker(worker_pb2_grpc.WorkerServicer):
        def Session(self, request_iterator, context):
            out = queue.Queue()
            done = threading.Event()

            def heartbeats(interval):
                while not done.wait(interval):
                    out.put(worker_pb2.FromWorker(heartbeat=worker_pb2.Heartbeat()))

            def serve():
                answered = 0
                try:
                    for message in request_iterator:
                        kind = message.WhichOneof("kind")
                        if kind == "setup":
                            setup = message.setup
                            if not args.no_heartbeats and setup.heartbeat_s > 0:
                                threading.Thread(target=heartbeats, args=(setup.heartbeat_s,),
                                                 daemon=True).start()
                            time.sleep(args.setup_s)
                            synthetic = setup.problem.synthetic
                            version = (args.algorithm_version if args.algorithm_version is not None
                                       else setup.algorithm_version)
                            out.put(worker_pb2.FromWorker(ready=worker_pb2.Ready(
                                dimension=synthetic.columns, rows=synthetic.rows,
                                version="python-grpcio/" + __import__("grpc").__version__,
                                host=socket.gethostname(), algorithm_version=version)))
                        elif kind == "query":
                            if answered == args.error_after:
                                out.put(worker_pb2.FromWorker(error=worker_pb2.Error(
                                    reason=b"bad \xff\xfe bytes", code=13)))
                                break
                            start = time.monotonic()
                            time.sleep(args.step_s)
                            took = time.monotonic() - start
                            out.put(worker_pb2.FromWorker(answer=worker_pb2.Answer(
                                query_id=message.query.id, payload=message.query.payload,
                                compute_s=took if args.compute_s is None else args.compute_s)))
                            answered += 1
                        elif kind == "stop":
                            break
                finally:
                    done.set()
                    out.put(None)

            threading.Thread(target=serve, daemon=True).start()
            while True:
                reply = out.get()
                if reply is None:
                    return
                yield reply

    server = __import__("grpc").server(futures.ThreadPoolExecutor(max_workers=8))
    worker_pb2_grpc.add_WorkerServicer_to_server(Worker(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"python worker listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
