#!/usr/bin/python3
"""A TCP relay that adds a fixed delay to every byte, each way.

    delay_relay.py --listen=HOST:PORT --target=HOST:PORT --delay_s=SECONDS

Each accepted connection is forwarded to --target. Bytes read from either side are
written to the other --delay_s seconds after they arrived, in order: the relay adds
latency, not a bandwidth limit (the kernel has no netem qdisc to do this). A close
(or reset) on one side is passed on after the same delay. Prints
"delay_relay listening on HOST:PORT" once it accepts connections; runs until killed.
"""

import argparse
import asyncio
import sys


def split_address(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


async def pump(reader, writer, delay_s):
    """Copies reader to writer, each chunk delay_s after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read_side():
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + delay_s, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time() + delay_s, b""))

    async def write_side():
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    await asyncio.gather(read_side(), write_side())


async def relay(client_reader, client_writer, target, delay_s):
    try:
        server_reader, server_writer = await asyncio.open_connection(*target)
    except OSError as error:
        print(f"delay_relay: cannot reach {target[0]}:{target[1]}: {error}", file=sys.stderr)
        client_writer.close()
        return
    try:
        await asyncio.gather(pump(client_reader, server_writer, delay_s),
                             pump(server_reader, client_writer, delay_s))
    finally:
        server_writer.close()
        client_writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=split_address, required=True)
    parser.add_argument("--target", type=split_address, required=True)
    parser.add_argument("--delay_s", type=float, required=True)
    args = parser.parse_args()
    if args.delay_s < 0:
        parser.error("--delay_s must be >= 0")
    server = await asyncio.start_server(
        lambda r, w: relay(r, w, args.target, args.delay_s), *args.listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"delay_relay listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
