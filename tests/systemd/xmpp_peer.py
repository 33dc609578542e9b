#!/usr/bin/python3
"""A minimal XMPP peer on loopback, to see bytes relayed both ways.

  xmpp_peer.py upstream --port-file F [--port P] [--sessions N]
      Listen on 127.0.0.1 (port P, else a free port; written to F once
      listening), and
      for each of N sessions: answer the stream header with a header and
      <stream:features/>, wait for the client's <message id='c1'>, answer
      with <message id='s1'>, answer the close tag with a close tag, read to
      EOF.
  xmpp_peer.py client --port P [--connected-file F] [--relayed-file F]
                      [--shutdown [--answer-after F]]
      Connect to 127.0.0.1:P and play the other half.  --connected-file and
      --relayed-file are written once connected, and once s1 has come.
      With --shutdown the client does not close: it waits for the proxy's
      <stream:error><system-shutdown/> and close tag (a stop), then for the
      file of --answer-after if given, then answers with its close tag.

Exit 0 when every step was seen, 1 (with the step on stderr) otherwise.
Every wait is bounded by --timeout seconds.  Standard library only.
"""

import argparse
import os
import socket
import sys
import time

CLIENT_HEADER = (b"<?xml version='1.0'?><stream:stream to='localhost' "
                 b"xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' "
                 b"version='1.0'>")
SERVER_HEADER = (b"<?xml version='1.0'?><stream:stream from='localhost' "
                 b"id='sg-systemd-upstream' xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' "
                 b"version='1.0'>")
FEATURES = b"<stream:features/>"
C_MSG = b"<message to='up@localhost' id='c1'><body>ping</body></message>"
S_MSG = b"<message from='up@localhost' id='s1'><body>pong</body></message>"
CLOSE = b"</stream:stream>"
SHUTDOWN = b"<stream:error><system-shutdown"


class Failed(Exception):
    pass


class Peer:
    """One connection, with everything read so far and a deadline."""

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""

    def _recv(self, step):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Failed(f"timed out waiting for {step}; got {self.buf!r}")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Failed(f"timed out waiting for {step}; got {self.buf!r}")
        except OSError as e:
            raise Failed(f"{e} waiting for {step}; got {self.buf!r}")
        return data

    def expect(self, want, step):
        """Read until want has been seen; drop what is before and it."""
        while want not in self.buf:
            data = self._recv(step)
            if not data:
                raise Failed(f"EOF waiting for {step}; got {self.buf!r}")
            self.buf += data
        self.buf = self.buf[self.buf.index(want) + len(want):]

    def expect_eof(self, step):
        while True:
            data = self._recv(step)
            if not data:
                return
            self.buf += data

    def send(self, data):
        self.sock.sendall(data)


def upstream(args):
    srv = socket.create_server(("127.0.0.1", args.port))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.getsockname()[1]}\n")
    os.rename(tmp, args.port_file)
    deadline = time.monotonic() + args.timeout
    for n in range(args.sessions):
        srv.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            sock, _ = srv.accept()
        except socket.timeout:
            raise Failed(f"no connection {n + 1} from the proxy")
        p = Peer(sock, deadline)
        p.expect(b"<stream:stream", "the client's stream header")
        p.expect(b">", "the end of the client's stream header")
        p.send(SERVER_HEADER + FEATURES)
        p.expect(C_MSG, "the client's message c1")
        p.send(S_MSG)
        p.expect(CLOSE, "the client's close tag")
        p.send(CLOSE)
        sock.shutdown(socket.SHUT_WR)
        p.expect_eof("EOF from the proxy")
        sock.close()


def touch(path):
    if path:
        with open(path, "w"):
            pass


def wait_file(path, deadline):
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise Failed(f"timed out waiting for {path}")
        time.sleep(0.05)


def client(args):
    deadline = time.monotonic() + args.timeout
    try:
        sock = socket.create_connection(("127.0.0.1", args.port),
                                        timeout=args.timeout)
    except OSError as e:
        raise Failed(f"connect to 127.0.0.1:{args.port}: {e}")
    touch(args.connected_file)
    p = Peer(sock, deadline)
    p.send(CLIENT_HEADER)
    p.expect(b"id='sg-systemd-upstream'", "the upstream's stream header")
    p.expect(FEATURES, "the upstream's features")
    p.send(C_MSG)
    p.expect(S_MSG, "the upstream's message s1")
    touch(args.relayed_file)
    if args.shutdown:
        p.expect(SHUTDOWN, "<stream:error><system-shutdown")
        p.expect(CLOSE, "the close tag after <system-shutdown/>")
        if args.answer_after:
            wait_file(args.answer_after, deadline)
    p.send(CLOSE)
    if not args.shutdown:
        p.expect(CLOSE, "the upstream's close tag")
    p.expect_eof("EOF after the close handshake")
    sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=10.0)
    sub = ap.add_subparsers(dest="role", required=True)
    up = sub.add_parser("upstream")
    up.add_argument("--port-file", required=True)
    up.add_argument("--port", type=int, default=0)
    up.add_argument("--sessions", type=int, default=1)
    cl = sub.add_parser("client")
    cl.add_argument("--port", type=int, required=True)
    cl.add_argument("--connected-file")
    cl.add_argument("--relayed-file")
    cl.add_argument("--shutdown", action="store_true")
    cl.add_argument("--answer-after")
    args = ap.parse_args()
    try:
        (upstream if args.role == "upstream" else client)(args)
    except Failed as e:
        print(f"xmpp_peer {args.role}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
