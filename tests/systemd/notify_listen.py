#!/usr/bin/python3
"""Stand in for systemd's NOTIFY_SOCKET, and check what a daemon sent.

  notify_listen.py listen --socket PATH --out FILE [--timeout S]
      Bind an AF_UNIX datagram socket at PATH and append one line per
      datagram to FILE: the receive time (CLOCK_MONOTONIC, microseconds),
      a tab, and the datagram's assignments joined by " | ".  Exits after
      --timeout seconds, or on SIGTERM.
  notify_listen.py check FILE
      Exit 0 if FILE shows, in this order: READY=1 with STATUS=, at least
      one WATCHDOG=1, RELOADING=1 with MONOTONIC_USEC= (a CLOCK_MONOTONIC
      time within a minute of its arrival), READY=1 again, STOPPING=1, and
      no READY=1 after STOPPING=1.  Otherwise say what is missing, exit 1.

Standard library only.
"""

import argparse
import os
import signal
import socket
import sys
import time


def listen(args):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(args.socket)
    deadline = time.monotonic() + args.timeout
    with open(args.out, "a", buffering=1) as out:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            try:
                data = sock.recv(4096)
            except socket.timeout:
                return
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            text = data.decode("utf-8", "replace")
            fields = [f for f in text.split("\n") if f]
            out.write(f"{now}\t{' | '.join(fields)}\n")


def parse(path):
    """[(arrival_usec, {key: value})] in arrival order."""
    msgs = []
    with open(path) as f:
        for line in f:
            t, _, rest = line.rstrip("\n").partition("\t")
            kv = {}
            for field in rest.split(" | "):
                k, _, v = field.partition("=")
                kv[k] = v
            msgs.append((int(t), kv))
    return msgs


def check(args):
    msgs = parse(args.file)
    steps = [
        ("READY=1 with STATUS=",
         lambda t, m: m.get("READY") == "1" and "STATUS" in m),
        ("WATCHDOG=1", lambda t, m: m.get("WATCHDOG") == "1"),
        ("RELOADING=1 with MONOTONIC_USEC=",
         lambda t, m: m.get("RELOADING") == "1" and reload_ok(t, m)),
        ("READY=1 after RELOADING=1", lambda t, m: m.get("READY") == "1"),
        ("STOPPING=1", lambda t, m: m.get("STOPPING") == "1"),
    ]
    i = 0
    for name, match in steps:
        while i < len(msgs) and not match(*msgs[i]):
            i += 1
        if i == len(msgs):
            print(f"notify: missing {name} (in order); got:", file=sys.stderr)
            for t, m in msgs:
                print(f"  {t} {m}", file=sys.stderr)
            return 1
        i += 1
    for t, m in msgs[i:]:
        if m.get("READY") == "1":
            print("notify: READY=1 after STOPPING=1", file=sys.stderr)
            return 1
    return 0


def reload_ok(arrival, m):
    try:
        usec = int(m.get("MONOTONIC_USEC", ""))
    except ValueError:
        return False
    return abs(arrival - usec) < 60 * 1000000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    li = sub.add_parser("listen")
    li.add_argument("--socket", required=True)
    li.add_argument("--out", required=True)
    li.add_argument("--timeout", type=float, default=60.0)
    ch = sub.add_parser("check")
    ch.add_argument("file")
    args = ap.parse_args()
    return listen(args) if args.cmd == "listen" else check(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
