#!/usr/bin/env python3
"""dask_echo: transport_bench's echo workload written as a Dask user would.

    python3 bench/dask_echo.py --workers=4 --dimensions=10,1000000 --seconds=1.5

A LocalCluster of W worker processes (threads_per_worker=1, processes=True) on
this machine; the client keeps one task per worker in flight with an
as_completed loop: each finished echo's result is submitted again as the next
task (client.submit(echo, answer, pure=False)), as aia's echo sends each answer
back as the next query. The payload is a NumPy array of D doubles. Every round
trip therefore carries D doubles to a worker and back through Dask's client,
scheduler and worker.

For each D: one untimed echo per worker (as aia's Setup/Ready), then the timed
loop, which keeps resubmitting until --seconds have passed and at least
--min_answers answers are back, then lets the tasks in flight finish.
answers/s = answers / (time from the first timed submit to the last answer).

Prints one line per D, and the cluster's start time first:
    dask workers=4 startup_s=3.21
    dask workers=4 dimension=10 answers=2301 elapsed_s=1.502
Exit status 0; 1 when an echo comes back wrong or the loop overruns
--seconds + --grace_s; 2 for bad arguments (argparse).
"""

import argparse
import logging
import sys
import time
import warnings

import numpy as np
from dask.distributed import Client, LocalCluster, as_completed


def echo(x):
    return x


def positive_integers(text):
    values = [int(item) for item in text.split(",")]
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text}")
    return values


def timed_echoes(client, workers, dimension, seconds, min_answers, grace_s):
    payload = np.linspace(0.0, 1.0, dimension)
    client.gather([client.submit(echo, payload, pure=False) for _ in range(workers)])
    start = time.perf_counter()
    deadline = start + seconds
    in_flight = as_completed(
        [client.submit(echo, payload, pure=False) for _ in range(workers)], with_results=True
    )
    submitted = workers
    answers = 0
    end = start
    for _, answer in in_flight:
        answers += 1
        end = time.perf_counter()
        if answer.shape != payload.shape:
            raise RuntimeError(f"an echo of shape {answer.shape} for a payload of {payload.shape}")
        if end > deadline + grace_s:
            raise RuntimeError(f"still running {grace_s} s after the {seconds} s asked for")
        if submitted < min_answers or end < deadline:
            in_flight.add(client.submit(echo, answer, pure=False))
            submitted += 1
    return answers, end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--dimensions", type=positive_integers, required=True)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--min_answers", type=int, default=1)
    parser.add_argument("--grace_s", type=float, default=60.0)
    args = parser.parse_args()
    if args.workers < 1 or args.seconds < 0 or args.min_answers < 1:
        parser.error("--workers and --min_answers must be >= 1 and --seconds >= 0")

    # Dask advises scatter() for large arguments; a plain submit is what is measured.
    warnings.filterwarnings("ignore", message="Large object")
    start = time.perf_counter()
    with LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, Client(cluster) as client:
        client.wait_for_workers(args.workers, timeout=120)
        print(f"dask workers={args.workers} startup_s={time.perf_counter() - start:.2f}", flush=True)
        for dimension in args.dimensions:
            try:
                answers, elapsed = timed_echoes(
                    client, args.workers, dimension, args.seconds, args.min_answers, args.grace_s
                )
            except RuntimeError as error:
                print(f"dask_echo: D={dimension}: {error}", file=sys.stderr)
                return 1
            print(
                f"dask workers={args.workers} dimension={dimension} answers={answers} "
                f"elapsed_s={elapsed:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
