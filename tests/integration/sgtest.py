"""Helpers for stanzaguard's integration tests (Python 3 stdlib only).

Everything here is bounded: every wait has a deadline, every socket
operation a timeout.  Only loopback addresses are used.  A peer that sees a
TCP reset (ECONNRESET) records it on the test context and fails the test:
stanzaguard must never reset a well-behaved peer.

The pieces:
  Ctx         per-test context: temp dir, cleanup, daemons, reset record
  Daemon      the stanzaguard binary, its stderr log parsed as key=value
  Upstream    a listening socket standing for the legacy server
  Peer        one TCP connection with bounded send/recv helpers
  Mux         one select loop pumping many sockets at once (bulk tests)
  xmpp helpers: stream headers, close tag, stanzas
"""

import base64
import errno
import fcntl
import os
import random
import re
import resource
import selectors
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

LOOPBACK = "127.0.0.1"
LOOPBACK6 = "::1"
CLOSE = b"</stream:stream>"
DEFAULT_TIMEOUT = 10.0


class TestFailure(AssertionError):
    pass


def wrapper():
    """SG_WRAP="valgrind --error-exitcode=99 ..." runs the daemon under it."""
    return shlex.split(os.environ.get("SG_WRAP", ""))


def slow():
    """Waits scale up under a wrapper such as valgrind."""
    return 5.0 if wrapper() else 1.0


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def ephemeral_ports():
    """The kernel's range of source ports for connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


# Every port free_port() gave in this process, under its lock.
_given_ports = set()
_given_lock = threading.Lock()


def _bindable(fam, host, port):
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return 0
        return s.getsockname()[1]


def free_port(host=LOOPBACK):
    """A TCP port that nothing is bound to right now, below the kernel's
    range of source ports, and never the same twice in one process.  A
    port from that range (what bind(0) gives) can become the source port
    of any connection the tests make, several tests at once, before the
    daemon binds it: its bind then fails with EADDRINUSE (seen once in
    check-valgrind).  A port given to one test and not yet bound is free
    to the next check: two of the matrix's cells once got the same one."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    lo = ephemeral_ports()[0]
    pick = random.SystemRandom()
    # bind(0) only where the range leaves no room under it.
    below = lo - 10000 >= 1024
    for _ in range(200):
        port = _bindable(fam, host, pick.randrange(10000, lo) if below else 0)
        with _given_lock:
            if port and port not in _given_ports:
                _given_ports.add(port)
                return port
    raise RuntimeError("no free port on %s" % host)


def free_ports(n, host=LOOPBACK):
    """n ports from free_port(): all different."""
    return [free_port(host) for _ in range(n)]


def hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def wait_until(pred, timeout, what, step=0.02):
    """Poll pred() until it returns a true value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s"
                              % (timeout, what))
        time.sleep(step)


# ---------------------------------------------------------------- log lines

_FIELD = re.compile(r'\s*([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*"|\S*)')
_ESC = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(v):
    if not (len(v) >= 2 and v[0] == '"' and v[-1] == '"'):
        return v
    out, i, s = [], 0, v[1:-1]
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            if n == "u" and i + 5 < len(s):
                out.append(chr(int(s[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESC.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_line(line):
    """'level=info event=x a="b c"' -> {'level': 'info', ...}."""
    rec, pos = {}, 0
    while pos < len(line):
        m = _FIELD.match(line, pos)
        if not m or m.end() == pos:
            break
        rec[m.group(1)] = _unquote(m.group(2))
        pos = m.end()
    return rec


# ------------------------------------------------------------------ context

class Ctx:
    """What a test function gets: binary, temp dir, cleanups, reset log."""

    def __init__(self, binary, name):
        self.binary = os.path.abspath(binary)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="sgtest-%s-" % name)
        self.resets = []
        self._cleanups = []
        self.daemons = []

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    def reset_seen(self, who):
        self.resets.append(who)
        raise TestFailure("ECONNRESET seen by %s" % who)

    def daemon(self, *args, **kw):
        d = Daemon(self, list(args), **kw)
        self.daemons.append(d)
        return d

    def upstream(self, host=LOOPBACK, backlog=128):
        u = Upstream(self, host, backlog)
        self.on_cleanup(u.close)
        return u

    def connect(self, port, host=LOOPBACK, who="client"):
        return Peer.connect(self, host, port, who)

    def path(self, name):
        return os.path.join(self.dir, name)

    def close(self):
        """Run the cleanups; then every daemon still running must stop
        cleanly on SIGTERM with status 0."""
        errors = []
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report them all
                errors.append("cleanup: %r" % e)
        for d in self.daemons:
            if d.proc.poll() is None:
                try:
                    rc = d.stop(timeout=15)
                    if rc != 0 and d.expect_clean_exit:
                        errors.append("daemon exited %d on SIGTERM" % rc)
                except TestFailure as e:
                    errors.append(str(e))
            d.close()
        if self.resets:
            errors.append("resets seen: %s" % ", ".join(self.resets))
        if errors:
            raise TestFailure("; ".join(errors))


# ------------------------------------------------------------------- daemon

class Daemon:
    """stanzaguard with args; stderr captured and parsed line by line."""

    def __init__(self, ctx, args, wait_listening=True, env=None,
                 timeout=DEFAULT_TIMEOUT, nofile=None):
        self.ctx = ctx
        self.args = args
        self.lines = []          # raw stderr lines
        self.records = []        # parsed
        self.expect_clean_exit = True
        self._cv = threading.Condition()
        self._eof = False
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("LISTEN_FDS", None)
        e.pop("JOURNAL_STREAM", None)
        if env:
            e.update(env)
        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            wrapper() + [ctx.binary] + args, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
            preexec_fn=limit if nofile else None)
        self.pid = self.proc.pid
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()
        if wait_listening:
            self.wait_for(event="listening", timeout=timeout * slow())

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            rec = parse_line(line)
            with self._cv:
                self.lines.append(line)
                self.records.append(rec)
                self._cv.notify_all()
        with self._cv:
            self._eof = True
            self._cv.notify_all()

    def log_text(self):
        with self._cv:
            return "\n".join(self.lines)

    def find(self, **want):
        """Every record so far whose fields equal want."""
        with self._cv:
            return [r for r in self.records
                    if all(r.get(k) == v for k, v in want.items())]

    def wait_for(self, count=None, timeout=DEFAULT_TIMEOUT, **want):
        """Wait until a record matches want and return it; with count,
        until count records match, and return the list of them."""
        n = 1 if count is None else count
        deadline = time.monotonic() + timeout * slow()
        with self._cv:
            while True:
                got = [r for r in self.records
                       if all(r.get(k) == v for k, v in want.items())]
                if len(got) >= n:
                    return got[0] if count is None else got[:n]
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._cv.wait(min(left, 0.1))
        raise TestFailure(
            "no %d log record(s) %r within %.1fs (daemon %s); log:\n%s"
            % (n, want, timeout,
               "exited %s" % self.proc.poll() if self._eof else "running",
               "\n".join(self.lines[-40:])))

    def listening(self, name=None):
        """(host, port) of the listener named name (or the first)."""
        want = {"event": "listening"}
        if name:
            want["listener"] = name
        rec = self.wait_for(**want)
        hp = rec["listen"]
        host, _, port = hp.rpartition(":")
        return host.strip("[]"), int(port)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        timeout *= slow()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("daemon did not exit within %.1fs; log:\n%s"
                              % (timeout, "\n".join(self.lines[-40:])))
        self._t.join(timeout)
        return rc

    def stop(self, timeout=DEFAULT_TIMEOUT):
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def nfds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def cpu_seconds(self):
        """User + system CPU time so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise TestFailure("no VmRSS for pid %d" % self.pid)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


def run_binary(ctx, args, timeout=DEFAULT_TIMEOUT):
    """Run stanzaguard to completion: (status, stdout, stderr).  Under
    SG_WRAP too, so that a leak on these paths (--check-config, a failed
    start) fails the test as well."""
    p = subprocess.run(wrapper() + [ctx.binary] + args,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout * slow())
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ------------------------------------------------------------------ sockets

def unacked(sock):
    """Bytes written to sock that the other end has not acknowledged."""
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return struct.unpack("i", buf)[0]


class Peer:
    """One TCP connection, blocking with a timeout on every call."""

    def __init__(self, ctx, sock, who):
        self.ctx = ctx
        self.sock = sock
        self.who = who
        self.eof = False
        self.buf = bytearray()     # received, not yet taken
        sock.settimeout(DEFAULT_TIMEOUT)
        ctx.on_cleanup(self.close)

    @classmethod
    def connect(cls, ctx, host, port, who="client", timeout=DEFAULT_TIMEOUT):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host, port))
        return cls(ctx, s, who)

    def _reset(self, e):
        if isinstance(e, ConnectionResetError) or getattr(
                e, "errno", None) == errno.ECONNRESET:
            self.ctx.reset_seen(self.who)
        raise e

    def send(self, data, timeout=DEFAULT_TIMEOUT):
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except OSError as e:
            self._reset(e)

    def _fill(self, timeout):
        """One recv into buf; False at EOF.  Fails on timeout."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise TestFailure("%s: nothing received within %.1fs (have %r)"
                              % (self.who, timeout, bytes(self.buf[-200:])))
        except OSError as e:
            self._reset(e)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def recv_until(self, marker, timeout=DEFAULT_TIMEOUT):
        """Everything up to and including marker (bytes)."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if self.eof or not self._fill(deadline - time.monotonic()):
                raise TestFailure("%s: EOF before %r (have %r)"
                                  % (self.who, marker, bytes(self.buf[-200:])))

    def recv_exact(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if self.eof or not self._fill(deadline - time.monotonic()):
                raise TestFailure("%s: EOF after %d of %d bytes"
                                  % (self.who, len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def recv_to_eof(self, timeout=DEFAULT_TIMEOUT):
        """Everything until EOF."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            self._fill(deadline - time.monotonic())
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def expect_eof(self, timeout=DEFAULT_TIMEOUT):
        extra = self.recv_to_eof(timeout)
        check(extra == b"", "%s: expected EOF, got %r" % (self.who, extra))

    def idle(self, secs):
        """Nothing arrives for secs (and no EOF)."""
        self.sock.settimeout(secs)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        except OSError as e:
            self._reset(e)
        raise TestFailure("%s: expected silence, got %r"
                          % (self.who, data[:200]))

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        if self.sock.fileno() != -1:
            self.sock.close()


class Upstream:
    """The legacy server: a listening socket the test accepts from."""

    def __init__(self, ctx, host=LOOPBACK, backlog=128):
        self.ctx = ctx
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.addr = hostport(host, self.port)

    def accept(self, timeout=DEFAULT_TIMEOUT, who="upstream"):
        self.sock.settimeout(timeout)
        try:
            s, _ = self.sock.accept()
        except socket.timeout:
            raise TestFailure("upstream %s: no connection within %.1fs"
                              % (self.addr, timeout))
        return Peer(self.ctx, s, who)

    def no_connection(self, secs):
        self.sock.settimeout(secs)
        try:
            s, _ = self.sock.accept()
        except socket.timeout:
            return
        s.close()
        raise TestFailure("upstream %s: unexpected connection" % self.addr)

    def close(self):
        if self.sock.fileno() != -1:
            self.sock.close()


# ------------------------------------------------------------------- XMPP

def client_header(to="example.com", ns="jabber:client"):
    return ("<?xml version='1.0'?><stream:stream xmlns='%s' "
            "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
            "version='1.0'>" % (ns, to)).encode()


def server_header(frm="example.com", sid="s1", ns="jabber:client"):
    return ("<?xml version='1.0'?><stream:stream xmlns='%s' "
            "xmlns:stream='http://etherx.jabber.org/streams' from='%s' "
            "id='%s' version='1.0'>" % (ns, frm, sid)).encode()


def message(mid, body="hi", to="bob@example.com", mtype="chat"):
    return ("<message to='%s' id='%s' type='%s'><body>%s</body></message>"
            % (to, mid, mtype, body)).encode()


STARTTLS = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
SM_ENABLE = b"<enable xmlns='urn:xmpp:sm:3' resume='true'/>"


def sm_enabled(resume=True):
    return ("<enabled xmlns='urn:xmpp:sm:3' id='sm1'%s/>"
            % (" resume='true'" if resume else "")).encode()


def iq(iid, itype="get", to="example.com"):
    return ("<iq to='%s' id='%s' type='%s'><query xmlns='jabber:iq:version'"
            "/></iq>" % (to, iid, itype)).encode()


def presence(pid="p1"):
    return ("<presence id='%s'/>" % pid).encode()


def stream_error(cond):
    return ("<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'"
            "/></stream:error>" % cond).encode()


# What the daemon tells a client when the service stops (SIGTERM).
STOP = stream_error("system-shutdown") + CLOSE


def split_stream(data):
    """Parse what one peer received: a stream header, stanzas, maybe the
    close tag.  Returns (header_attrs, [(name, attrs, raw_bytes)], closed).
    Fails the test if data is not well-formed as far as it goes."""
    import xml.parsers.expat as expat
    p = expat.ParserCreate()
    depth, stanzas, st = [0], [], {"hdr": None, "start": 0, "closed": False}

    def start(name, attrs):
        if depth[0] == 0:
            st["hdr"] = attrs
        elif depth[0] == 1:
            st["start"] = p.CurrentByteIndex
            st["name"], st["attrs"] = name, attrs
        depth[0] += 1

    def end(name):
        depth[0] -= 1
        if depth[0] == 1:
            i = data.index(b">", p.CurrentByteIndex) + 1
            stanzas.append((st["name"], st["attrs"], data[st["start"]:i]))
        elif depth[0] == 0:
            st["closed"] = True

    p.StartElementHandler, p.EndElementHandler = start, end
    try:
        p.Parse(data, False)
    except expat.ExpatError as e:
        raise TestFailure("not well-formed (%s): %r" % (e, data[:300]))
    return st["hdr"], stanzas, st["closed"]


def random_stanzas(rng, total, max_stanza=64 * 1024, prefix="m"):
    """Messages with random base64 bodies, about total bytes in all (at
    least one stanza), none over max_stanza.  Returns bytes."""
    out, n, i = [], 0, 0
    overhead = len(message("%s%d" % (prefix, 0), ""))
    while n < total or i == 0:
        room = max(1, min(max_stanza - overhead - 16, total - n))
        size = rng.randint(1, room)
        raw = rng.getrandbits(8 * (size * 3 // 4 + 1)).to_bytes(
            size * 3 // 4 + 1, "little")
        body = base64.b64encode(raw)[:size].decode()
        st = message("%s%d" % (prefix, i), body)
        out.append(st)
        n += len(st)
        i += 1
    return b"".join(out)


def open_session(ctx, daemon_port, upstream, to="example.com",
                 host=LOOPBACK):
    """Client connects, headers both ways: (client, server) Peers with the
    headers consumed."""
    c = ctx.connect(daemon_port, host=host)
    ch = client_header(to)
    c.send(ch)
    s = upstream.accept()
    got = s.recv_exact(len(ch))
    check(got == ch, "upstream got header %r" % got)
    sh = server_header(to)
    s.send(sh)
    got = c.recv_exact(len(sh))
    check(got == sh, "client got header %r" % got)
    return c, s


def close_politely(c, s, timeout=DEFAULT_TIMEOUT):
    """Client sends its close tag, server answers; both read to EOF."""
    c.send(CLOSE)
    s.recv_until(CLOSE, timeout)
    s.send(CLOSE)
    c.recv_until(CLOSE, timeout)
    c.expect_eof(timeout)
    s.expect_eof(timeout)
    c.close()
    s.close()


def answer_close(p, timeout=DEFAULT_TIMEOUT):
    """A well-behaved peer: on the other's close tag, answer with ours and
    read to EOF.  Returns what was read before the close tag."""
    got = p.recv_until(CLOSE, timeout)
    p.send(CLOSE)
    p.expect_eof(timeout)
    p.close()
    return got


# -------------------------------------------------------------------- Mux

class Stream:
    """One socket in a Mux: send out (then maybe shut down the write
    side), read until EOF (or only len(expect) bytes, with eof=False, or
    nothing, with read=False), compare what came with expect."""

    def __init__(self, peer, out, expect, shut_after, read, eof):
        self.peer = peer
        self.sock = peer.sock
        self.out = memoryview(out)
        self.sent = 0
        self.expect = expect
        self.got = bytearray(peer.buf)     # what the Peer already had
        peer.buf.clear()
        self.eof = peer.eof
        self.shut_after = shut_after
        self.shut = False
        self.read = read
        self.want_eof = eof

    def reading(self):
        if not self.read or self.eof:
            return False
        if not self.want_eof and len(self.got) >= len(self.expect):
            return False
        return True

    def done(self):
        return self.sent == len(self.out) and (
            self.shut or not self.shut_after) and not self.reading()


class Mux:
    """Pump many sockets at once in one select loop, bounded in time."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.streams = []

    def add(self, peer, out=b"", expect=None, shut_after=False, read=True,
            eof=True):
        if not eof:
            check(expect is not None, "eof=False needs expect")
        st = Stream(peer, out, expect, shut_after, read, eof)
        self.streams.append(st)
        return st

    def _events(self, st):
        ev = selectors.EVENT_READ if st.reading() else 0
        if st.sent < len(st.out):
            ev |= selectors.EVENT_WRITE
        return ev

    def _step(self, st, ev):
        if ev & selectors.EVENT_WRITE:
            try:
                st.sent += st.sock.send(st.out[st.sent:st.sent + (1 << 18)])
            except BlockingIOError:
                pass
            except OSError as e:
                st.peer._reset(e)
        if st.sent == len(st.out) and st.shut_after and not st.shut:
            st.sock.shutdown(socket.SHUT_WR)
            st.shut = True
        if ev & selectors.EVENT_READ:
            try:
                data = st.sock.recv(1 << 18)
            except BlockingIOError:
                return
            except OSError as e:
                st.peer._reset(e)
            if data:
                st.got += data
            else:
                st.eof = True
                st.peer.eof = True

    def run(self, timeout, tick=None):
        """Until every stream is done; tick() is called every 0.1s."""
        sel = selectors.DefaultSelector()
        for st in self.streams:
            st.sock.setblocking(False)
            sel.register(st.sock, self._events(st) or selectors.EVENT_READ,
                         st)
        deadline = time.monotonic() + timeout
        next_tick = 0
        try:
            while not all(st.done() for st in self.streams):
                now = time.monotonic()
                if tick and now >= next_tick:
                    tick()
                    next_tick = now + 0.1
                if now >= deadline:
                    bad = [(st.peer.who, st.sent, len(st.out), len(st.got),
                            st.eof) for st in self.streams if not st.done()]
                    raise TestFailure("mux timed out; unfinished "
                                      "(who, sent, of, got, eof): %r"
                                      % bad[:10])
                for key, ev in sel.select(min(deadline - now, 0.1)):
                    st = key.data
                    self._step(st, ev)
                    want = self._events(st)
                    if want:
                        sel.modify(st.sock, want, st)
                    else:
                        sel.unregister(st.sock)
        finally:
            sel.close()
            for st in self.streams:
                if st.sock.fileno() != -1:
                    st.sock.setblocking(True)
        for st in self.streams:
            if st.expect is not None and bytes(st.got) != st.expect:
                raise TestFailure(
                    "%s: got %d bytes, expected %d; first difference at %d"
                    % (st.peer.who, len(st.got), len(st.expect),
                       _first_diff(st.got, st.expect)))


def _first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def rng_for(name):
    """A seeded RNG; the seed is printed so a failure can be replayed."""
    seed = int(os.environ.get("SG_SEED", random.randrange(1 << 30)))
    print("%s: SG_SEED=%d" % (name, seed))
    return random.Random(seed)


# ------------------------------------------------------------- test setup

def timeout(secs):
    """Decorator: the runner kills the test after secs seconds."""
    def mark(f):
        f.timeout = secs
        return f
    return mark


def start_proxy(ctx, upstream_addr, *opts, host=LOOPBACK, **kw):
    """stanzaguard on a free loopback port in front of upstream_addr.
    Returns (daemon, port).  Retries if another process took the port
    between our probe and the daemon's bind."""
    for attempt in range(3):
        port = free_port(host)
        d = ctx.daemon("--listen", hostport(host, port),
                       "--upstream", upstream_addr, *opts,
                       wait_listening=False, **kw)
        try:
            d.wait_for(event="listening")
            return d, port
        except TestFailure:
            if d.proc.poll() == 1 and "in use" in d.log_text() and \
                    attempt < 2:
                d.expect_clean_exit = False
                continue
            raise
    raise TestFailure("no free port")


def proxy_and_upstream(ctx, *opts):
    """An upstream and stanzaguard in front of it, with no periodic totals
    lines: (daemon, port, upstream)."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--stats-interval=0", *opts)
    return d, port, up


def answer_shutdown(c, s, errors):
    """On a service stop, in a thread: client and server each answer the
    daemon's close tag (the client's preceded by <system-shutdown/>) and
    see EOF.  A failure is appended to errors for the main thread."""
    try:
        got = c.recv_until(CLOSE)
        check(b"system-shutdown" in got, "no <system-shutdown/>: %r" % got)
        c.send(CLOSE)
        s.recv_until(CLOSE)
        s.send(CLOSE)
        c.expect_eof()
        s.expect_eof()
        c.close()
        s.close()
    except Exception as e:  # noqa: BLE001 - collected for the main thread
        errors.append(e)


def answer_shutdown_all(pairs):
    """answer_shutdown for every (client, server) pair at once, one thread
    each; raises the first failure."""
    errors = []
    ts = [threading.Thread(target=answer_shutdown, args=(c, s, errors))
          for c, s in pairs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    if errors:
        raise errors[0]


if __name__ == "__main__":
    # For the shell scripts: sgtest.py N prints N free ports on 127.0.0.1.
    print(" ".join(str(p) for p in free_ports(int(sys.argv[1]))))
