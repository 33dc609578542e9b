#!/usr/bin/python3
"""The interop matrix: every legacy server Debian 12 ships, three client
libraries, through stanzaguard, on loopback (`make check-interop`).

    matrix.py --binary ./stanzaguard [--servers prosody,ejabberd,jabberd2]
              [--clients slixmpp,strophe,xmppjs] [--scenarios a,b] [--keep]

Servers: Prosody 0.12, ejabberd 23.01, jabberd2 2.7, each a throwaway
instance in build/matrix.XXXXXX (tests/interop/{prosody,ejabberd,
jabberd2}.sh), on free loopback ports.  Clients: slixmpp, libstrophe and
@xmpp/client on Node, each a small program speaking one line protocol
(client_slixmpp.py, client_strophe.c, xmppjs/client.mjs): started with
--port --jid --password --resource [--ca] [--reconnect]; reads "send JID
ID", "close", "exit" on stdin; prints "online FULLJID secure=yes|no",
"roster N", "msg FROM ID", "error COND", "disconnected WHY".

Each cell (server, scenario, client) has its own stanzaguard, and two
recording relays ("taps") on the wire: client <-> tap <-> stanzaguard <->
tap <-> server.  A tap copies bytes unchanged and mirrors how each
direction ended: a FIN as a FIN (shutdown), a reset as a reset (SO_LINGER
0), so the checks read what each side really sent and how it closed.  The
clients of one scenario run at once (users alice_KIND, bob_KIND); the
servers run in parallel; scenarios run one after the other per server.

To add a scenario (the stream management hand-back, say): write an async
function (cell) -> None that calls cell.setup(stanzaguard options), drives
the cell's clients (cell.clients, Client.tell) and checks what the relays
saw (cell.conns(), cell.check...); add it to SCENARIOS with the servers it
applies to (and to VARIANT if it needs a server configured otherwise).

Every server must start: one that does not fails its whole row, with the
reason.  The matrix is printed at the end, each failing cell with what was
seen on the wire; the last line is "matrix: N passed, N failed".
"""

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from sgtest import free_port, parse_line  # noqa: E402

DOMAIN = "localhost"
PASSWORD = "secret"
CLOSE_TAG = b"</stream:stream>"
KINDS = ("slixmpp", "strophe", "xmppjs")
SERVERS = ("prosody", "ejabberd", "jabberd2")
# Both longer than a login step takes on a loaded machine: at 2 s,
# stanzaguard's idle close once came in the middle of SASL.
CUT_AFTER = 4           # seconds: the servers' own idle cut-off
SG_IDLE = 4             # seconds: stanzaguard's idle-timeout (idle scenario)


def short(b, n=120):
    """The last n bytes of b, printable."""
    t = b[-n:].decode("utf-8", "replace")
    return ("..." if len(b) > n else "") + repr(t)[1:-1]


# ------------------------------------------------------------------- taps


class Direction:
    def __init__(self):
        self.data = b""
        self.end = "open"       # "fin", "rst", "open"
        self.t_tag = None       # when a close tag came last in a read
        self.t_end = None       # when it ended


class TapConn:
    """One relayed connection: up (towards the server) and down."""

    def __init__(self, n):
        self.n = n
        self.up = Direction()
        self.down = Direction()
        self.done = asyncio.Event()

    def wire(self, a="c", b="s"):
        return "%s>%s %s %s; %s>%s %s %s" % (
            a, b, short(self.up.data, 80), self.up.end.upper(),
            b, a, short(self.down.data, 80), self.down.end.upper())


class Tap:
    """A listening relay on a free loopback port, to target_port."""

    def __init__(self, name, target_port):
        self.name = name
        self.target = target_port
        self.conns = []
        self.port = None
        self.relays = set()

    async def start(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.task = asyncio.ensure_future(self._accept())

    async def _accept(self):
        loop = asyncio.get_running_loop()
        while True:
            a, _ = await loop.sock_accept(self.sock)
            a.setblocking(False)
            tc = TapConn(len(self.conns))
            self.conns.append(tc)
            # The loop holds tasks weakly: keep each relay until it ends.
            t = asyncio.ensure_future(self._relay(a, tc))
            self.relays.add(t)
            t.add_done_callback(self.relays.discard)

    async def _relay(self, a, tc):
        loop = asyncio.get_running_loop()
        b = socket.socket()
        b.setblocking(False)
        try:
            await asyncio.wait_for(
                loop.sock_connect(b, ("127.0.0.1", self.target)), 5)
        except (OSError, asyncio.TimeoutError) as e:
            tc.up.end = tc.down.end = "refused(%s)" % (
                e.strerror if isinstance(e, OSError) else "timeout")
            linger0(a)
            a.close()
            b.close()
            tc.done.set()
            return
        pumps = {asyncio.ensure_future(self._pump(a, b, tc.up)),
                 asyncio.ensure_future(self._pump(b, a, tc.down))}
        try:
            pending = set(pumps)
            while pending:
                done, pending = await asyncio.wait(
                    pending, return_when=asyncio.FIRST_COMPLETED)
                if any(t.result() == "rst" for t in done):
                    break       # the other side gets the reset at close
        finally:
            # Cancelled pumps leave the loop before their sockets close,
            # so that the loop forgets them before the numbers come again.
            for t in pumps:
                t.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            a.close()
            b.close()
            tc.done.set()

    async def _pump(self, src, dst, d):
        loop = asyncio.get_running_loop()
        while True:
            try:
                got = await loop.sock_recv(src, 65536)
            except ConnectionResetError:
                d.end = "rst"
                d.t_end = time.monotonic()
                linger0(dst)
                return "rst"
            except OSError:
                d.end = "closed"
                return
            if not got:
                d.end = "fin"
                d.t_end = time.monotonic()
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            d.data += got
            if got.rstrip().endswith(CLOSE_TAG):
                d.t_tag = time.monotonic()
            try:
                await loop.sock_sendall(dst, got)
            except OSError:
                d.end = "peer-gone"
                return

    async def wait_closed(self, conns, timeout):
        try:
            await asyncio.wait_for(asyncio.gather(
                *[c.done.wait() for c in conns]), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def stop(self):
        """Cancel the relays still running (so that the loop forgets
        their sockets before the numbers are used again), then close."""
        tasks = [self.task] + list(self.relays)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.sock.close()


def linger0(s):
    """Make the close of s a TCP reset: a reset seen is passed on as a
    reset."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass


# ---------------------------------------------------------------- servers


async def sh(*args, timeout=60):
    """Run a command; (status, output)."""
    p = await asyncio.create_subprocess_exec(
        *args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(p.communicate(), timeout)
    except asyncio.TimeoutError:
        p.kill()
        out, _ = await p.communicate()
        return 124, out.decode("utf-8", "replace") + "\n(timed out)"
    return p.returncode, out.decode("utf-8", "replace")


def users():
    return ["%s_%s:%s" % (u, k, PASSWORD) for k in KINDS
            for u in ("alice", "bob")]


class Server:
    """A throwaway server instance: start(variant) with variant "plain" or
    "cut" (it cuts idle clients the legacy way after CUT_AFTER s)."""

    name = "?"
    script = None
    package = None      # Debian's, for the version in the table
    label = "?"

    def __init__(self, work):
        self.work = work
        self.dir = None
        self.port = None

    async def start(self, variant):
        self.dir = os.path.join(self.work, "%s-%s" % (self.name, variant))
        self.port = free_port()
        st, out = await sh(os.path.join(HERE, self.script), "start",
                           self.dir, str(self.port),
                           *self.options(variant))
        if st != 0:
            raise RuntimeError("%s (%s) did not start: %s" % (
                self.name, variant, out.strip().splitlines()[-1:]))

    def options(self, variant):
        """Every test user, as the scripts' -u options."""
        o = []
        for u in users():
            o += ["-u", u]
        return o

    async def stop(self):
        if self.dir:
            await sh(os.path.join(HERE, self.script), "stop", self.dir)

    async def cut(self, cell, full_jids):
        """The "cut" variant cuts by itself; ejabberd needs a command."""

    def closed_cleanly(self, full_jid):
        """None if the server's log shows full_jid's stream closed with a
        close tag from its peer; else what the log shows."""
        return None

    async def version(self):
        st, out = await sh("dpkg-query", "-W", "-f", "${Version}",
                           self.package)
        return "%s %s" % (self.label, out.strip())


class Prosody(Server):
    name = "prosody"
    script = "prosody.sh"
    package = "prosody"
    label = "Prosody"

    def options(self, variant):
        o = ["-v", "debug", "-w", "30"] + super().options(variant)
        if variant == "cut":
            o += ["-m", HERE, "-l", "legacy_idle_cut",
                  "-o", "legacy_idle_cut_after = %d" % CUT_AFTER]
        return o

    def _lines(self):
        try:
            with open(os.path.join(self.dir, "prosody.log"),
                      errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def closed_cleanly(self, full_jid):
        lines = [re.match(r"^(\S+)\s+(\w+)\t(.*)$", li)
                 for li in self._lines()]
        lines = [m.groups() for m in lines if m]
        sid = None
        for src, _lvl, text in lines:
            if text == "Resource bound: %s" % full_jid:
                sid = src
        if sid is None:
            return "no session for %s in prosody.log" % full_jid
        texts = [t for src, _l, t in lines if src == sid]
        if "Received </stream:stream>" in texts:
            return None
        gone = [t for t in texts if t.startswith("Client disconnected")]
        return "prosody.log: no </stream:stream> received; %s" % (
            gone[-1] if gone else "no disconnect line")


class Ejabberd(Server):
    name = "ejabberd"
    script = "ejabberd.sh"
    package = "ejabberd"
    label = "ejabberd"

    async def cut(self, cell, full_jids):
        for j in full_jids:
            user, rest = j.split("@", 1)
            host, res = rest.split("/", 1)
            st, out = await sh(os.path.join(HERE, self.script), "ctl",
                               self.dir, "kick_session", user, host, res,
                               "interop-cut", timeout=30)
            if st != 0:
                cell.fail("ejabberdctl kick_session %s failed: %s"
                          % (j, out.strip()[-200:]))

    def closed_cleanly(self, full_jid):
        try:
            with open(os.path.join(self.dir, "logs", "ejabberd.log"),
                      errors="replace") as f:
                text = f.read()
        except OSError:
            return "no ejabberd.log"
        lines = [li for li in text.splitlines()
                 if "Closing c2s session for %s" % full_jid in li]
        if not lines:
            return "ejabberd.log: no 'Closing c2s session for %s'" % full_jid
        # ejabberd's words for its peer's </stream:stream> (a TCP close
        # without it is "Connection failed: connection closed").
        if any(li.endswith(": Stream reset by peer") for li in lines):
            return None
        return "ejabberd.log: %s" % lines[-1][-160:]


class Jabberd2(Server):
    name = "jabberd2"
    script = "jabberd2.sh"
    package = "jabberd2"
    label = "jabberd2"

    def options(self, variant):
        o = super().options(variant)
        if variant == "cut":
            o += ["-i", str(CUT_AFTER)]
        return o


SERVER_CLASSES = {"prosody": Prosody, "ejabberd": Ejabberd,
                  "jabberd2": Jabberd2}


# ---------------------------------------------------------------- clients


def client_command(kind, port, jid, resource, ca, reconnect):
    if kind == "slixmpp":
        cmd = ["/usr/bin/python3", os.path.join(HERE, "client_slixmpp.py")]
    elif kind == "strophe":
        cmd = [os.path.join(ROOT, "build", "interop", "client_strophe")]
    else:
        cmd = ["node", os.path.join(HERE, "xmppjs", "client.mjs")]
    cmd += ["--port", str(port), "--jid", jid, "--password", PASSWORD,
            "--resource", resource]
    if ca:
        cmd += ["--ca", ca]
    if reconnect:
        cmd += ["--reconnect"]
    return cmd


def client_problem(kind):
    """Why the client programs of kind cannot run here, or None."""
    if kind == "slixmpp":
        st = subprocess.run(["/usr/bin/python3", "-c", "import slixmpp"],
                            capture_output=True)
        return None if st.returncode == 0 else \
            "/usr/bin/python3 cannot import slixmpp (make deps-test)"
    if kind == "strophe":
        path = client_command(kind, 0, "", "", None, False)[0]
        return None if os.access(path, os.X_OK) else \
            "no %s (make build/interop/client_strophe)" % path
    try:
        v = subprocess.run(["node", "--version"], capture_output=True,
                           text=True).stdout.strip()
    except OSError:
        return "no node on PATH (make deps-interop-js)"
    m = re.match(r"v(\d+)\.(\d+)", v)
    if not m or (int(m.group(1)), int(m.group(2))) < (20, 10):
        return "node %s: @xmpp/client 0.14 needs Node.js 20.10 or later" % v
    if not os.path.isdir(os.path.join(HERE, "xmppjs", "node_modules",
                                      "@xmpp", "client")):
        return "no tests/interop/xmppjs/node_modules (make deps-interop-js)"
    return None


class Client:
    """One client program and the events it printed."""

    def __init__(self, kind, user, cell):
        self.kind = kind
        self.user = user
        self.bare = "%s_%s@%s" % (user, kind, DOMAIN)
        self.cell = cell
        self.events = []        # (time, words)
        self.changed = asyncio.Event()
        self.proc = None
        self.full = None

    async def start(self, port, ca=None, reconnect=False):
        log = os.path.join(self.cell.dir, "%s-%s.err" % (self.kind,
                                                          self.user))
        env = dict(os.environ)
        if ca:
            env["NODE_EXTRA_CA_CERTS"] = ca
        self.errf = open(log, "wb")
        self.proc = await asyncio.create_subprocess_exec(
            *client_command(self.kind, port, self.bare,
                           self.cell.scenario, ca, reconnect),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.errf, env=env, start_new_session=True)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                self.events.append((time.monotonic(), ["exited"]))
                self.changed.set()
                return
            words = line.decode("utf-8", "replace").split()
            if not words:
                continue
            if words[0] == "online" and len(words) > 1:
                self.full = words[1]
            self.events.append((time.monotonic(), words))
            self.changed.set()

    def seen(self, what, since=0):
        return [w for t, w in self.events[since:] if w[0] == what]

    async def wait_for(self, pred, timeout):
        end = time.monotonic() + timeout
        while not pred():
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
        return True

    def tell(self, line):
        if self.proc and self.proc.returncode is None:
            try:
                self.proc.stdin.write((line + "\n").encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

    def kill(self):
        if self.proc and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    async def reap(self):
        if self.proc is None:
            return
        self.tell("exit")
        try:
            await asyncio.wait_for(self.proc.wait(), 3)
        except asyncio.TimeoutError:
            self.kill()
            await self.proc.wait()
        self.reader.cancel()
        self.errf.close()

    def history(self):
        return " | ".join(" ".join(w) for _t, w in self.events[-6:])


# ------------------------------------------------------------ stanzaguard


class Stanzaguard:
    def __init__(self, binary, cell, opts):
        self.binary = binary
        self.cell = cell
        self.opts = opts
        self.proc = None
        self.port = free_port()
        self.log = os.path.join(cell.dir, "stanzaguard.log")
        self.status = None

    async def start(self, upstream_port):
        self.upstream = upstream_port
        self.logf = open(self.log, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            self.binary, "--listen", "127.0.0.1:%d" % self.port,
            "--upstream", "127.0.0.1:%d" % upstream_port,
            "--log-format=text", "--log-level=info", "--stats-interval=0",
            "--drain-timeout=3s", *self.opts,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.logf)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.returncode is not None:
                break
            if any(r.get("event") == "listening" for r in self.records()):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError("stanzaguard did not start listening: %s"
                           % open(self.log, errors="replace").read()[-300:])

    def records(self, event=None):
        try:
            with open(self.log, errors="replace") as f:
                recs = [parse_line(li) for li in f.read().splitlines()]
        except OSError:
            return []
        return [r for r in recs if event is None or r.get("event") == event]

    async def stop(self):
        """SIGTERM, wait for the exit (5 s), else SIGKILL."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 6)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            self.cell.fail("stanzaguard did not exit within 6s of SIGTERM")
        self.logf.close()
        self.status = self.proc.returncode
        return self.status

    def session_end(self, conn_index):
        """The session-end line of the conn_index-th session (by start)."""
        starts = [r.get("session") for r in self.records("session-start")]
        if conn_index >= len(starts):
            return {}
        for r in self.records("session-end"):
            if r.get("session") == starts[conn_index]:
                return r
        return {}


# ------------------------------------------------------------------ cells


class Cell:
    """One server x scenario x client: its stanzaguard, taps, clients and
    the checks that failed."""

    def __init__(self, run, server, scenario, kind):
        self.run = run
        self.server = server
        self.scenario = scenario
        self.kind = kind
        self.dir = os.path.join(run.work, server.name, scenario, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.failures = []
        self.clients = []
        self.notes = []
        self.sg = None
        self.ctap = self.utap = None
        self.conn_of = []       # client i's connection (and session) index

    def fail(self, what):
        self.failures.append(what)

    def check(self, cond, what):
        if not cond:
            self.fail(what)
        return cond

    def note(self, what):
        self.notes.append(what)

    async def setup(self, sg_opts, ca=None, reconnect=False):
        """stanzaguard between two taps, alice then bob logged in."""
        self.utap = Tap("upstream", self.server.port)
        await self.utap.start()
        self.sg = Stanzaguard(self.run.binary, self, sg_opts)
        await self.sg.start(self.utap.port)
        self.ctap = Tap("client", self.sg.port)
        await self.ctap.start()
        for user in ("alice", "bob"):
            c = Client(self.kind, user, self)
            self.clients.append(c)
            first = len(self.utap.conns)
            await c.start(self.ctap.port, ca, reconnect)
            ok = await self.login_done(c, reconnect)
            if not ok and self.stale_route_errors(first):
                # Not the client's doing: once more, as a user would.
                await c.reap()
                await c.start(self.ctap.port, ca, reconnect)
                ok = await self.login_done(c, reconnect)
            # Logins are one at a time: the newest connection logged in.
            self.conn_of.append(len(self.utap.conns) - 1)
            cut = self.stale_route_errors(first)
            for i in cut:
                self.note("jabberd2 cut %s's login with a stale route error "
                          "(descriptor reused; logged in again): %s" % (
                              c.bare, self.utap.conns[i].wire("sg", "s")))
            if not ok or len(cut) != self.conn_of[-1] - first:
                raise CellError("%s did not log in and get its roster: "
                                "client said %s; wire %s" % (
                                    c.bare, c.history() or "nothing",
                                    self.wire(self.conn_of[-1])))

    @staticmethod
    async def login_done(c, reconnect):
        """Wait (bounded) until c has its roster, or has given up since
        this call (a client that does not reconnect by itself); True if
        it logged in."""
        m = len(c.events)
        await c.wait_for(lambda: c.seen("roster", m) or not reconnect and (
            c.seen("disconnected", m) or c.seen("exited", m)), 20)
        return bool(c.seen("roster", m))

    def stale_route_errors(self, first):
        """The server-side connections from index first on that jabberd2
        ended before binding a resource with its c2s's answer to a route
        error, "internal server error".  c2s keys its sessions by
        file descriptor number (c2s/c2s.c: skey, c2s_id), and a
        connection that closes frees its number at once: a late packet
        from the sm for the old session (its "ended", likely) finds the
        new connection that got the number, still in SASL; c2s asks the sm to end that
        stranger's session with a route to the domain of a JID it does
        not have yet (c2s/sm.c _sm_build_route: to=''), the router
        bounces it (error 400), and c2s answers the route error by
        cutting whatever session has that number.  Seen once in five
        full runs, in the drain column, where the clients of the other
        cells close just as these log in: jabberd2's bug, not
        stanzaguard's, and the client logs in again."""
        if self.server.name != "jabberd2":
            return []
        return [i for i in range(first, len(self.utap.conns))
                if b"<internal-server-error" in self.utap.conns[i].down.data
                and b">internal server error</text>" in
                self.utap.conns[i].down.data and
                b"<bind" not in self.utap.conns[i].up.data]

    def wire(self, i):
        parts = []
        if i < len(self.ctap.conns):
            parts.append("client side: " + self.ctap.conns[i].wire("c", "sg"))
        if self.utap and i < len(self.utap.conns):
            parts.append("server side: " +
                         self.utap.conns[i].wire("sg", "s"))
        return "; ".join(parts) or "no connection"

    async def exchange(self, n=3):
        alice, bob = self.clients
        ids = {alice: [], bob: []}
        for i in range(n):
            for c, peer in ((alice, bob), (bob, alice)):
                mid = "%s-%s-%d" % (self.scenario, c.user, i)
                ids[peer].append(mid)
                c.tell("send %s %s" % (peer.bare, mid))

        def arrived(c):
            got = {w[2] for w in c.seen("msg") if len(w) > 2}
            return set(ids[c]) <= got
        ok = True
        for c in (alice, bob):
            if not await c.wait_for(lambda c=c: arrived(c), 10):
                got = {w[2] for w in c.seen("msg") if len(w) > 2}
                self.fail("%s got %d of %d messages; client said %s" % (
                    c.bare, len(set(ids[c]) & got), n, c.history()))
                ok = False
        return ok

    async def teardown(self):
        for c in self.clients:
            c.kill()
        for c in self.clients:
            await c.reap()
        if self.sg:
            st = await self.sg.stop()
            if st not in (0, None):
                self.fail("stanzaguard exited with status %s" % st)
            errs = [r for r in self.sg.records()
                    if r.get("level") in ("error", "crit", "alert", "emerg")]
            if errs:
                self.fail("stanzaguard logged errors: %s" % errs[:2])
        for t in (self.ctap, self.utap):
            if t:
                await t.stop()
                self.save(t)

    def save(self, tap):
        for c in tap.conns:
            for d, name in ((c.up, "up"), (c.down, "down")):
                with open(os.path.join(self.dir, "%s-%d-%s.bin" % (
                        tap.name, c.n, name)), "wb") as f:
                    f.write(d.data)

    # -- checks on the wire

    def conns(self):
        """(client, client-side conn, server-side conn) of the first
        connection of each client."""
        out = []
        for c, i in zip(self.clients, self.conn_of):
            cc = self.ctap.conns[i] if i < len(self.ctap.conns) else None
            uc = self.utap.conns[i] if i < len(self.utap.conns) else None
            out.append((c, cc, uc))
        return out

    async def wait_conns_closed(self, timeout=12):
        conns = [x for _c, cc, uc in self.conns() for x in (cc, uc) if x]
        if not await self.ctap.wait_closed(conns, timeout):
            self.fail("connections still open %gs after the close: %s"
                      % (timeout, "; ".join(self.wire(i) for i in
                                            range(len(self.clients)))))

    def check_no_reset(self, c, conn, side):
        """stanzaguard reset nobody: its direction on side ended with a
        FIN.  A reset from the peer (a server that closed before reading
        stanzaguard's answer, a client dropping TLS) is the peer's doing:
        noted, not failed."""
        if conn is None:
            self.fail("%s: no %s connection" % (c.bare, side))
            return False
        ours, theirs = (conn.down, conn.up) if side == "client" else \
            (conn.up, conn.down)
        names = ("c", "sg") if side == "client" else ("sg", "s")
        if theirs.end == "rst":
            self.note("%s: the %s reset stanzaguard: %s" % (
                c.bare, side, conn.wire(*names)))
        return self.check(ours.end != "rst",
                          "%s: stanzaguard reset the %s: %s"
                          % (c.bare, side, conn.wire(*names)))

    def check_ends_with_close(self, c, d, who, where, peer=False):
        """d ends with a close tag, then a FIN (or the peer's reset)."""
        ends = ("fin", "rst") if peer else ("fin",)
        return self.check(
            d.data.rstrip().endswith(CLOSE_TAG) and d.end in ends,
            "%s: %s sent no close tag then FIN on the %s side: got %s %s"
            % (c.bare, who, where, short(d.data), d.end.upper()))

    def check_server_handshake(self, c, uc):
        """stanzaguard sent the server a close tag, and the server
        answered with its own, no reset."""
        if uc is None:
            self.fail("%s: no server-side connection" % c.bare)
            return
        self.check_no_reset(c, uc, "server")
        self.check_ends_with_close(c, uc.up, "stanzaguard", "server")
        self.check_ends_with_close(c, uc.down, "the server", "server",
                                   peer=True)

    def check_client_got_close(self, c, cc):
        """The client got a close tag, then FIN; no reset."""
        if cc is None:
            self.fail("%s: no client-side connection" % c.bare)
            return
        self.check_no_reset(c, cc, "client")
        if not self.run_tls:
            self.check_ends_with_close(c, cc.down, "stanzaguard", "client")
        else:
            self.check(cc.down.end == "fin", "%s: stanzaguard ended with %s"
                       % (c.bare, cc.down.end))

    run_tls = False

    def session(self, i):
        return self.sg.session_end(self.conn_of[i])

    async def check_session(self, i, close, s_closed=("yes",),
                            c_closed=None):
        end = time.monotonic() + 5
        while not self.session(i) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        r = self.session(i)
        c = self.clients[i]
        ok = self.check(
            r.get("close") in close and r.get("s_closed") in s_closed and
            (c_closed is None or r.get("c_closed") in c_closed),
            "%s: stanzaguard session-end close=%s c_closed=%s s_closed=%s, "
            "want close=%s s_closed=%s%s" % (
                c.bare, r.get("close"), r.get("c_closed"),
                r.get("s_closed"), "|".join(close), "|".join(s_closed),
                "" if c_closed is None else " c_closed=" +
                "|".join(c_closed)))
        if ok:
            self.note("c_closed=%s" % r.get("c_closed"))
        return r

    async def check_server_log(self, c):
        """The server's log shows c's stream closed by a close tag (it may
        write that line a moment after the connection is gone)."""
        if c.full is None:
            return
        end = time.monotonic() + 5
        while True:
            why = self.server.closed_cleanly(c.full)
            if why is None or time.monotonic() >= end:
                break
            await asyncio.sleep(0.1)
        self.check(why is None, "%s: %s" % (c.bare, why))


def closing_order(uc):
    """Who closed first on the server side, and whether the server waited
    for stanzaguard's close tag before its FIN."""
    s, g = uc.down, uc.up
    def ms(t):
        return "-" if t is None else "%+.0fms" % ((t - s.t_tag) * 1000)
    if s.t_tag is None:
        return "no close tag from the server; its %s" % s.end.upper()
    return ("close tag at 0, its %s at %s; stanzaguard's close tag at %s, "
            "its %s at %s" % (s.end.upper(), ms(s.t_end), ms(g.t_tag),
                              g.end.upper(), ms(g.t_end)))


class CellError(Exception):
    pass


# -------------------------------------------------------------- scenarios


async def scn_client_close(cell):
    """Login, roster, messages both ways; the clients close their
    streams: close tags both ways, no reset."""
    await cell.setup(["--idle-timeout=60s", "--close-timeout=3s"])
    login_ok = await cell.exchange()
    cell.run.record(cell.server.name, "login", cell.kind,
                    login_ok and not cell.failures, list(cell.failures))
    cell.failures.clear()
    await client_close_checks(cell)


async def client_close_checks(cell):
    for c in cell.clients:
        c.tell("close")
    for c in cell.clients:
        cell.check(await c.wait_for(lambda c=c: c.seen("disconnected"), 10),
                   "%s: no disconnection 10s after close: %s"
                   % (c.bare, c.history()))
    await cell.wait_conns_closed()
    for i, (c, cc, uc) in enumerate(cell.conns()):
        if cc is not None and not cell.run_tls:
            cell.check(cc.up.data.rstrip().endswith(CLOSE_TAG),
                       "%s: the client's close tag is not last on the wire: "
                       "%s" % (c.bare, short(cc.up.data)))
        cell.check_client_got_close(c, cc)
        cell.check_server_handshake(c, uc)
        await cell.check_session(i, ("client",), c_closed=("yes",))
        await cell.check_server_log(c)


async def scn_idle(cell):
    """stanzaguard's idle-timeout closes both sides with the handshake."""
    await cell.setup(["--idle-timeout=%ds" % SG_IDLE, "--close-timeout=3s"])
    await cell.exchange()
    for c in cell.clients:
        cell.check(await c.wait_for(lambda c=c: c.seen("disconnected"),
                                    SG_IDLE + 10),
                   "%s: not disconnected by the idle close: %s"
                   % (c.bare, c.history()))
    await cell.wait_conns_closed()
    for i, (c, cc, uc) in enumerate(cell.conns()):
        cell.check_client_got_close(c, cc)
        cell.check_server_handshake(c, uc)
        await cell.check_session(i, ("idle",))
        await cell.check_server_log(c)


async def scn_server_cut(cell):
    """The server cuts the session its legacy way (Prosody's
    mod_legacy_idle_cut, jabberd2's idle check, ejabberd's kick_session):
    the client gets a close tag, not a reset."""
    await cell.setup(["--idle-timeout=60s", "--close-timeout=3s"])
    await cell.exchange()
    await cell.server.cut(cell, [c.full for c in cell.clients if c.full])
    for c in cell.clients:
        cell.check(await c.wait_for(lambda c=c: c.seen("disconnected"),
                                    CUT_AFTER + 12),
                   "%s: not disconnected by the server's cut: %s"
                   % (c.bare, c.history()))
    await cell.wait_conns_closed()
    for i, (c, cc, uc) in enumerate(cell.conns()):
        cell.check_client_got_close(c, cc)
        if uc is not None:
            cell.check_no_reset(c, uc, "server")
            cell.note("server sent %s %s" % (short(uc.down.data, 200),
                                             uc.down.end.upper()))
            cell.note("server: " + closing_order(uc))
        # The server starts it; a client that answers its stream error
        # with a close tag before the server's own tag comes (ejabberd
        # writes the tag 100 ms after the error) makes it close=client.
        r = await cell.check_session(i, ("server-vanished", "server",
                                         "client"),
                                     s_closed=("yes", "eof"))
        cell.check(r.get("s_error"), "%s: no stream error from the server "
                   "in stanzaguard's session-end: %s" % (c.bare, r))
        cell.note("close=%s s_closed=%s s_error=%s" % (
            r.get("close"), r.get("s_closed"), r.get("s_error")))


async def scn_vanish(cell):
    """The client process is killed: the server gets a close tag on its
    behalf and answers it."""
    await cell.setup(["--idle-timeout=60s", "--close-timeout=3s"])
    await cell.exchange()
    for c in cell.clients:
        c.kill()
    await cell.wait_conns_closed()
    for i, (c, cc, uc) in enumerate(cell.conns()):
        cell.check_server_handshake(c, uc)
        await cell.check_session(i, ("client-vanished",), c_closed=("eof",))
        await cell.check_server_log(c)


async def scn_drain(cell):
    """SIGTERM: the clients get <system-shutdown/> and the close tag, the
    server a close tag; a new stanzaguard on the same port, and every
    client logs in again."""
    await cell.setup(["--idle-timeout=60s", "--close-timeout=3s"],
                     reconnect=True)
    await cell.exchange()
    marks = [len(c.events) for c in cell.clients]
    st = await cell.sg.stop()
    cell.check(st == 0, "stanzaguard exited with %s after SIGTERM" % st)
    await cell.wait_conns_closed()
    for i, (c, cc, uc) in enumerate(cell.conns()):
        cell.check_client_got_close(c, cc)
        if cc is not None:
            cell.check(b"<system-shutdown" in cc.down.data,
                       "%s: no <system-shutdown/> before the close tag: %s"
                       % (c.bare, short(cc.down.data)))
        cell.check_server_handshake(c, uc)
        await cell.check_session(i, ("shutdown",))
        await cell.check_server_log(c)
    # The same port again: the clients reconnect by themselves.
    sg2 = Stanzaguard(cell.run.binary, cell, cell.sg.opts)
    sg2.port = cell.sg.port
    try:
        await sg2.start(cell.utap.port)
    except RuntimeError as e:
        cell.fail("restarting stanzaguard: %s" % e)
        return
    cell.sg = sg2
    for c, m in zip(cell.clients, marks):
        cell.check(await c.wait_for(lambda c=c, m=m: [
            w for _t, w in c.events[m:] if w[0] == "online"], 20),
            "%s did not log in again after the drain: %s"
            % (c.bare, c.history()))


async def scn_starttls(cell):
    """stanzaguard ends STARTTLS (tls = starttls) and speaks plaintext to
    the server; login, messages, the client's close."""
    certs = await cell.run.certs()
    cell.run_tls = True
    await cell.setup(["--idle-timeout=60s", "--close-timeout=3s",
                      "--tls=starttls",
                      "--certificate=%s/server.pem" % certs,
                      "--key=%s/server.key" % certs],
                     ca="%s/ca.pem" % certs)
    for c in cell.clients:
        on = c.seen("online")
        cell.check(on and on[0][-1] == "secure=yes",
                   "%s: not in TLS: %s" % (c.bare, on))
    for c, cc, uc in cell.conns():
        if cc is not None:
            cell.check(cc.down.data[:300].find(b"<starttls") >= 0,
                       "%s: stanzaguard offered no <starttls/>: %s"
                       % (c.bare, short(cc.down.data[:300])))
        if uc is not None:
            cell.check(b"<starttls" not in uc.up.data and
                       b"<proceed" not in uc.down.data,
                       "%s: STARTTLS went to the server: %s"
                       % (c.bare, short(uc.up.data[:300])))
    await cell.exchange()
    await client_close_checks(cell)


# name -> (function, servers it applies to)
SCENARIOS = {
    "client-close": (scn_client_close, SERVERS),
    "idle": (scn_idle, SERVERS),
    "server-cut": (scn_server_cut, SERVERS),
    "vanish": (scn_vanish, SERVERS),
    "drain": (scn_drain, SERVERS),
    "starttls": (scn_starttls, SERVERS),
}
# The server variant a scenario needs ("cut": the server cuts idle ones).
VARIANT = {"server-cut": "cut"}
# The matrix's columns: login comes from the client-close cells.
COLUMNS = ["login"] + list(SCENARIOS)


# -------------------------------------------------------------------- run


class Run:
    def __init__(self, a):
        self.binary = os.path.abspath(a.binary)
        self.kinds = a.clients
        self.scenarios = a.scenarios
        os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
        import tempfile
        self.work = tempfile.mkdtemp(prefix="matrix.",
                                     dir=os.path.join(ROOT, "build"))
        self.results = {}       # (server, column, kind) -> (ok, failures)
        self.versions = {}
        self._certs = None
        self._certs_lock = asyncio.Lock()
        self.peer_resets = []   # resets a peer sent, a server's cut
        # of a login (Cell.stale_route_errors): noted
        self.problems = {k: client_problem(k) for k in self.kinds}
        for k, why in self.problems.items():
            if why:
                say("matrix: %s cannot run: %s" % (k, why))

    def client_versions(self):
        def deb(pkg):
            st = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                                capture_output=True, text=True)
            return st.stdout.strip() or "?"
        out = []
        for k in self.kinds:
            if k == "slixmpp":
                out.append("slixmpp " + deb("python3-slixmpp"))
            elif k == "strophe":
                out.append("libstrophe " + deb("libstrophe-dev"))
            else:
                try:
                    node = subprocess.run(["node", "--version"],
                                          capture_output=True,
                                          text=True).stdout.strip()
                    with open(os.path.join(HERE, "xmppjs", "node_modules",
                                           "@xmpp", "client",
                                           "package.json")) as f:
                        v = json.load(f)["version"]
                except (OSError, ValueError, KeyError):
                    node, v = "?", "?"
                out.append("@xmpp/client %s on Node.js %s" % (v, node))
        return out

    def record(self, server, column, kind, ok, failures):
        self.results[(server, column, kind)] = (ok, failures)

    async def certs(self):
        async with self._certs_lock:
            if self._certs is None:
                d = os.path.join(self.work, "certs")
                st, out = await sh("sh", os.path.join(ROOT, "tests", "tls",
                                                      "mkcerts.sh"), d)
                if st != 0:
                    raise CellError("tests/tls/mkcerts.sh failed: " + out)
                self._certs = d
        return self._certs

    async def run_server(self, name):
        server = SERVER_CLASSES[name](self.work)
        self.versions[name] = await server.version()
        by_variant = {}
        for s in self.scenarios:
            if name in SCENARIOS[s][1]:
                by_variant.setdefault(VARIANT.get(s, "plain"), []).append(s)
        for variant, scns in by_variant.items():
            try:
                await server.start(variant)
            except RuntimeError as e:
                for s in scns:
                    for k in self.kinds:
                        for col in ([s, "login"] if s == "client-close"
                                    else [s]):
                            self.record(name, col, k, False, [str(e)])
                await server.stop()
                continue
            try:
                for s in scns:
                    t0 = time.monotonic()
                    await asyncio.gather(*[self.run_cell(server, s, k)
                                           for k in self.kinds])
                    say("matrix: %s %s done in %.1fs" % (
                        name, s, time.monotonic() - t0))
            finally:
                await server.stop()

    async def run_cell(self, server, scenario, kind):
        cell = Cell(self, server, scenario, kind)
        if self.problems.get(kind):
            for col in [scenario] + (["login"] if scenario == "client-close"
                                     else []):
                self.record(server.name, col, kind, False,
                            [self.problems[kind]])
            return
        try:
            await asyncio.wait_for(SCENARIOS[scenario][0](cell), 90)
        except CellError as e:
            cell.fail(str(e))
        except asyncio.TimeoutError:
            cell.fail("the scenario did not finish in 90s")
        except Exception as e:  # noqa: BLE001 - a broken cell, not the run
            import traceback
            traceback.print_exc()
            cell.fail("%s: %s" % (type(e).__name__, e))
        finally:
            await cell.teardown()
        self.record(server.name, scenario, kind, not cell.failures,
                    cell.failures)
        self.peer_resets += ["%s %s %s: %s" % (server.name, scenario, kind, n)
                             for n in cell.notes if " reset stanzaguard" in n
                             or "stale route error" in n]
        with open(os.path.join(cell.dir, "result"), "w") as f:
            f.write("\n".join(cell.failures or ["PASS"]) + "\n")
            f.write("\n".join(cell.notes) + "\n")


def say(*a):
    print(*a, flush=True)


def print_matrix(run, servers):
    cols = [c for c in COLUMNS if c in run.scenarios or
            (c == "login" and "client-close" in run.scenarios)]
    abbrev = {"slixmpp": "py", "strophe": "c", "xmppjs": "js"}
    say("")
    say("interop matrix: cells are %s; ok, FAIL or -" % "/".join(
        "%s=%s" % (abbrev[k], k) for k in run.kinds))
    say("clients: " + ", ".join(run.client_versions()))
    say("")
    head = "| server | " + " | ".join(cols) + " |"
    say(head)
    say("|---" * (len(cols) + 1) + "|")
    for s in servers:
        cells = []
        for col in cols:
            parts = []
            for k in run.kinds:
                r = run.results.get((s, col, k))
                parts.append("-" if r is None else
                             ("ok" if r[0] else "FAIL"))
            cells.append(" ".join(parts))
        say("| %s | %s |" % (run.versions.get(s, s), " | ".join(cells)))
    say("")
    for n in run.peer_resets:
        say("note: " + n)
    failed = passed = 0
    for (s, col, k), (ok, fails) in sorted(run.results.items()):
        if ok:
            passed += 1
            continue
        failed += 1
        say("FAIL %s %s %s:" % (s, col, k))
        for f in fails[:6]:
            say("    " + f)
    return passed, failed


def ignore_pipes(loop, ctx):
    """A client that exited before reading its stdin: not an error."""
    if isinstance(ctx.get("exception"), (BrokenPipeError,
                                         ConnectionResetError)):
        return
    loop.default_exception_handler(ctx)


async def amain(a):
    asyncio.get_running_loop().set_exception_handler(ignore_pipes)
    run = Run(a)
    t0 = time.monotonic()
    say("matrix: servers %s, clients %s, scenarios %s; in %s" % (
        ",".join(a.servers), ",".join(a.clients), ",".join(a.scenarios),
        run.work))
    await asyncio.gather(*[run.run_server(s) for s in a.servers])
    say("matrix: every server stopped")
    passed, failed = print_matrix(run, a.servers)
    say("matrix: ran in %.0fs" % (time.monotonic() - t0))
    say("matrix: %d passed, %d failed" % (passed, failed))
    if failed == 0 and not a.keep:
        import shutil
        shutil.rmtree(run.work, ignore_errors=True)
    else:
        say("matrix: logs and wire captures kept in %s" % run.work)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--clients", default=",".join(KINDS))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    a.servers = [s for s in a.servers.split(",") if s]
    a.clients = [k for k in a.clients.split(",") if k]
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    for s in a.servers:
        if s not in SERVER_CLASSES:
            p.error("no server %s" % s)
    for s in a.scenarios:
        if s not in SCENARIOS:
            p.error("no scenario %s" % s)
    for k in a.clients:
        if k not in KINDS:
            p.error("no client %s" % k)
    def on_signal(signum, _frame):
        # Say so: a run ended by a signal must not look like a crash.
        say("matrix: stopped by signal %d" % signum)
        sys.exit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    return asyncio.run(amain(a))


if __name__ == "__main__":
    sys.exit(main())
