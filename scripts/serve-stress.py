#!/usr/bin/env python3
"""`trainer serve` under hostile clients: decompression bombs, idle and slow
connections. A benchmark, not a test: it prints the server's peak RSS and
the slowest `/health` answer while the attack runs.

    python3 scripts/serve-stress.py TRAINER ARTIFACTS [--seconds 20]

TRAINER is the binary (`target/release/trainer`), ARTIFACTS a directory
holding a finished run. Standard library only. The attack, all at once:

- 8 clients posting, in a loop, PNGs that decode to the most pixels a
  picture may have (4096x4096 RGB, about 50 KB each on the wire), 2 of them
  with an ICC profile chunk inflating to 60 MB;
- 900 connections opened and left silent;
- 20 clients sending a request body one byte per second;

and meanwhile one client asking `/health` every 100 ms.
"""

import argparse
import socket
import struct
import subprocess
import threading
import time
import zlib


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(width, height, icc_bytes=0):
    """An RGB PNG of black pixels, optionally with an iCCP chunk of zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * (3 * width)
    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    chunks = [chunk(b"IHDR", header)]
    if icc_bytes:
        chunks.append(chunk(b"iCCP", b"bomb\x00\x00" + zlib.compress(b"\x00" * icc_bytes, 9)))
    chunks += [chunk(b"IDAT", pixels), chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def post(address, body):
    with socket.create_connection(address, timeout=60) as s:
        s.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
        while s.recv(65536):
            pass


def health_ms(address):
    start = time.monotonic()
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk_ := s.recv(65536):
            answer += chunk_
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"/health answered {answer[:40]!r}")
    return (time.monotonic() - start) * 1000


def rss_mb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trainer")
    parser.add_argument("artifacts")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    server = subprocess.Popen(
        [args.trainer, "serve", "--port", "0", "--artifacts", args.artifacts],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = server.stdout.readline()
    url = next(word for word in line.split() if word.startswith("http://"))
    host, port = url[len("http://"):].rstrip("/").split(":")
    address = (host, int(port))
    print(f"server {server.pid}: {rss_mb(server.pid, 'VmRSS'):.0f} MB at start")

    stop = threading.Event()
    answered = {"bombs": 0, "errors": 0}
    big, icc = png(4096, 4096), png(28, 28, icc_bytes=60 << 20)
    print(f"bombs: {len(big) // 1024} KB declaring 4096x4096, {len(icc) // 1024} KB with a 60 MB ICC profile")

    def bomber(body):
        while not stop.is_set():
            try:
                post(address, body)
                answered["bombs"] += 1
            except OSError:
                answered["errors"] += 1

    def idler(count):
        sockets = []
        for _ in range(count):
            try:
                sockets.append(socket.create_connection(address, timeout=5))
            except OSError:
                answered["errors"] += 1
        stop.wait()
        for s in sockets:
            s.close()

    def trickler():
        try:
            with socket.create_connection(address, timeout=60) as s:
                s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    s.sendall(b"x")
                    time.sleep(1)
        except OSError:
            pass

    threads = [threading.Thread(target=bomber, args=(big,)) for _ in range(6)]
    threads += [threading.Thread(target=bomber, args=(icc,)) for _ in range(2)]
    threads += [threading.Thread(target=idler, args=(900,))]
    threads += [threading.Thread(target=trickler) for _ in range(20)]
    for thread in threads:
        thread.start()
    slowest, asked, deadline = 0.0, 0, time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        slowest = max(slowest, health_ms(address))
        asked += 1
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    peak = rss_mb(server.pid, "VmHWM")
    after = rss_mb(server.pid, "VmRSS")
    server.terminate()
    server.wait()
    print(
        f"{args.seconds:.0f} s under attack: peak RSS {peak:.0f} MB, {after:.0f} MB after; "
        f"/health asked {asked} times, slowest {slowest:.0f} ms; "
        f"{answered['bombs']} bombs answered, {answered['errors']} connections refused or reset"
    )


if __name__ == "__main__":
    main()
