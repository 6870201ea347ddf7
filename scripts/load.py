#!/usr/bin/env python3
"""A bounded load run against the local stack, on loopback only (make load).

Starts the stack, then VIEWERS threads each repeat a viewing session (signurl,
the multivariant playlist, one media playlist, its segments) until SECONDS
have passed, and prints requests per second, per-route p50/p99 latency and the
failures. Stops by itself; sends nothing beyond 127.0.0.1.

    .venv/bin/python scripts/load.py [--viewers 8] [--seconds 30] [--instances 2]
"""
import argparse
import pathlib
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]
from stack import Stack, media_folder  # noqa: E402


def session(stack, results, stop_at):
    while time.monotonic() < stop_at:
        def timed(route, url):
            started = time.perf_counter()
            status, _, body = stack.get(url)
            results.append((route, status, (time.perf_counter() - started) * 1000))
            return status, body
        status, body = timed("signurl", "/content/media/signurl?movie=1")
        if status != 200:
            continue
        master_url = __import__("json").loads(body)["url"]
        status, body = timed("rewriter", master_url)
        if status != 200:
            continue
        variant = next(l for l in body.decode().splitlines() if l and not l.startswith("#"))
        media_url = urllib.parse.urljoin(master_url, variant)
        status, body = timed("rewriter", media_url)
        if status != 200:
            continue
        for segment in [l for l in body.decode().splitlines() if l and not l.startswith("#")]:
            if time.monotonic() >= stop_at:
                break
            timed("segment", urllib.parse.urljoin(media_url, segment))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--instances", type=int, default=2, help="processes per function")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        stack = Stack(workdir, media_folder(workdir), instances=args.instances)
        try:
            results = []
            stop_at = time.monotonic() + args.seconds
            started = time.monotonic()
            threads = [threading.Thread(target=session, args=(stack, results, stop_at)) for _ in range(args.viewers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
        finally:
            stack.stop()
    failures = [r for r in results if r[1] not in (200, 206)]
    print(f"{len(results)} requests in {elapsed:.1f} s from {args.viewers} viewers: {len(results) / elapsed:.0f} req/s")
    for route in ("signurl", "rewriter", "segment"):
        times = [ms for r, _, ms in results if r == route]
        if times:
            print(f"  {route:9} n={len(times):6}  p50 {statistics.median(times):7.2f} ms  p99 {percentile(times, 0.99):7.2f} ms")
    print(f"failures: {len(failures)}" + (f" e.g. {failures[:3]}" if failures else ""))
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
