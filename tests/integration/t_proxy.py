"""The PROXY protocol: the header stanzaguard sends to the upstream
(send-proxy = v1|v2), byte for byte, and the one it accepts from a trusted
balancer (accept-proxy = yes, trusted-proxies).

Written ahead of the daemon's options: each test says "SKIP: ..." and
passes while `stanzaguard --help` does not mention the option it tests.
"""

import socket
import struct
import subprocess
import time

from sgtest import (LOOPBACK, Peer, TestFailure, check, client_header,
                    server_header, start_proxy, timeout)

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CLIENT_ADDR = "127.0.0.2"       # another loopback address: not the proxy's
BALANCED = ("198.51.100.7", 40007)   # the client a balancer names
BALANCER_DST = ("203.0.113.9", 5222)


def _has_option(ctx, opt):
    out = subprocess.run([ctx.binary, "--help"], capture_output=True,
                         timeout=10)
    if opt.encode() in out.stdout + out.stderr:
        return True
    print("SKIP: %s: this stanzaguard's --help has no %s" % (ctx.name, opt))
    return False


def _connect_from(ctx, host, port, src=CLIENT_ADDR):
    """A client Peer whose socket is bound to src first."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(10)
    s.connect((LOOPBACK, port))
    return Peer(ctx, s, "client")


def v1_header(src, dst):
    return b"PROXY TCP4 %s %s %d %d\r\n" % (src[0].encode(), dst[0].encode(),
                                           src[1], dst[1])


def v2_header(src, dst):
    addrs = (socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) +
             struct.pack("!HH", src[1], dst[1]))
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + \
        addrs


def _crc32c(data):
    """CRC32c (Castagnoli, reflected 0x82F63B78), bit by bit."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def v2_header_crc32c(src, dst, flip=0):
    """v2_header() with a CRC32c TLV after the addresses: the header's
    CRC32c computed with the value zero (proxy-protocol.txt 2.2.5), XOR
    flip."""
    check(_crc32c(b"123456789") == 0xE3069283, "CRC32c check value")
    addrs = (socket.inet_aton(src[0]) + socket.inet_aton(dst[0]) +
             struct.pack("!HH", src[1], dst[1]))
    body = addrs + b"\x03\x00\x04" + b"\x00" * 4
    hdr = V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body
    return hdr[:-4] + struct.pack("!I", _crc32c(hdr) ^ flip)


HEADERS = {"v1": v1_header, "v2": v2_header, "v2-crc32c": v2_header_crc32c}


def _send_proxy(ctx, version):
    """A client from 127.0.0.2 through --send-proxy=version: the upstream
    gets exactly the header naming it, then the client's bytes."""
    if not _has_option(ctx, "send-proxy"):
        return
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--send-proxy=" + version)
    c = _connect_from(ctx, LOOPBACK, port)
    cport = c.sock.getsockname()[1]
    c.send(client_header())
    s = up.accept()
    want = HEADERS[version]((CLIENT_ADDR, cport), (LOOPBACK, port))
    got = s.recv_exact(len(want))
    check(got == want, "send-proxy=%s: upstream got %r, want %r"
          % (version, got, want))
    got = s.recv_exact(len(client_header()))
    check(got == client_header(), "after the header, the client's stream "
          "header unchanged: %r" % got)
    s.send(server_header())
    check(c.recv_exact(len(server_header())) == server_header(),
          "server header relayed")
    st = d.wait_for(event="session-start")
    check(st.get("client") == "%s:%d" % (CLIENT_ADDR, cport),
          "session-start client=%s, want %s:%d" % (st.get("client"),
                                                   CLIENT_ADDR, cport))


@timeout(30)
def test_send_proxy_v1_bytes(ctx):
    """send-proxy=v1: "PROXY TCP4 127.0.0.2 127.0.0.1 CPORT LPORT\\r\\n"
    before the client's first byte."""
    _send_proxy(ctx, "v1")


@timeout(30)
def test_send_proxy_v2_bytes(ctx):
    """send-proxy=v2: the 12-byte signature, 0x21 0x11, length 12, the
    addresses and ports, before the client's first byte."""
    _send_proxy(ctx, "v2")


def _accept_proxy(ctx, *extra):
    """stanzaguard with accept-proxy, trusting 127.0.0.1 only."""
    up = ctx.upstream()
    d, port = start_proxy(ctx, up.addr, "--accept-proxy=yes",
                          "--trusted-proxies=127.0.0.1/32", *extra)
    return up, d, port


def _accepted(ctx, version):
    """A trusted balancer on 127.0.0.1 names 198.51.100.7: the session is
    logged as that client, the header does not reach the upstream, and the
    header split byte by byte makes no difference."""
    if not _has_option(ctx, "accept-proxy"):
        return
    up, d, port = _accept_proxy(ctx)
    c = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    hdr = HEADERS[version](BALANCED, BALANCER_DST)
    for i in range(len(hdr)):
        c.send(hdr[i:i + 1])
        time.sleep(0.002)
    c.send(client_header())
    s = up.accept()
    got = s.recv_exact(len(client_header()))
    check(got == client_header(), "upstream got %r, want the client's "
          "stream header alone" % got)
    s.send(server_header())
    check(c.recv_exact(len(server_header())) == server_header(),
          "server header relayed")
    st = d.wait_for(event="session-start")
    check(st.get("client") == "%s:%d" % BALANCED,
          "session-start client=%s, want %s:%d" % ((st.get("client"),) +
                                                   BALANCED))


@timeout(30)
def test_accept_proxy_v1(ctx):
    """accept-proxy: a trusted v1 header names the session's client."""
    _accepted(ctx, "v1")


@timeout(30)
def test_accept_proxy_v2(ctx):
    """accept-proxy: a trusted v2 header names the session's client."""
    _accepted(ctx, "v2")


def _refused(ctx, d, up, c, src):
    """The connection is closed, a log line names the source and says why,
    no session starts and the upstream never hears of it.  The line is
    any record but listening/session-start that mentions src and has a
    reason (its event name is the daemon's to choose)."""
    try:
        c.sock.settimeout(10)
        while c.sock.recv(4096):
            pass
    except ConnectionResetError:
        pass          # closed with our bytes unread: a reset is fine here
    except socket.timeout:
        raise TestFailure("the refused connection was not closed in 10s")
    deadline = time.monotonic() + 10
    why = []
    while not why and time.monotonic() < deadline:
        why = [r for r in d.find() if r.get("reason") and
               r.get("event") not in ("listening", "session-start") and
               any(str(v).startswith(src + ":") for v in r.values())]
        time.sleep(0.05)
    check(why, "no log line with a reason for the refused connection from "
          "%s; log:\n%s" % (src, d.log_text()))
    check(not d.find(event="session-start"), "a session started: %r"
          % d.find(event="session-start"))
    up.no_connection(0.3)
    return why[0]


@timeout(30)
def test_accept_proxy_v2_crc32c(ctx):
    """accept-proxy: a trusted v2 header with a matching CRC32c TLV names
    the session's client."""
    _accepted(ctx, "v2-crc32c")


@timeout(30)
def test_accept_proxy_v2_crc32c_mismatch(ctx):
    """accept-proxy: a trusted v2 header whose CRC32c TLV does not match
    is refused, closed and logged event=proxy-refused reason="v2 CRC32c
    mismatch"."""
    if not _has_option(ctx, "accept-proxy"):
        return
    up, d, port = _accept_proxy(ctx)
    c = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    c.send(v2_header_crc32c(BALANCED, BALANCER_DST, flip=1) +
           client_header())
    r = _refused(ctx, d, up, c, LOOPBACK)
    check(r.get("event") == "proxy-refused" and
          r.get("reason") == "v2 CRC32c mismatch",
          "refused with %r, want event=proxy-refused reason=\"v2 CRC32c "
          "mismatch\"" % r)


@timeout(30)
def test_accept_proxy_untrusted(ctx):
    """accept-proxy: a valid header from a source not in trusted-proxies
    (127.0.0.2) is refused, closed and logged with the reason."""
    if not _has_option(ctx, "accept-proxy"):
        return
    up, d, port = _accept_proxy(ctx)
    c = _connect_from(ctx, LOOPBACK, port, src=CLIENT_ADDR)
    c.send(v1_header(BALANCED, BALANCER_DST) + client_header())
    r = _refused(ctx, d, up, c, CLIENT_ADDR)
    print("untrusted: %r" % r)


@timeout(30)
def test_accept_proxy_missing(ctx):
    """accept-proxy: a trusted source that sends a stream header and no
    PROXY header is refused, closed and logged with the reason."""
    if not _has_option(ctx, "accept-proxy"):
        return
    up, d, port = _accept_proxy(ctx)
    c = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    c.send(client_header())
    r = _refused(ctx, d, up, c, LOOPBACK)
    print("missing: %r" % r)


@timeout(30)
def test_accept_then_send_proxy(ctx):
    """accept-proxy and send-proxy=v1 together: the upstream's header
    names the client the balancer named, not the balancer."""
    if not (_has_option(ctx, "accept-proxy") and
            _has_option(ctx, "send-proxy")):
        return
    up, d, port = _accept_proxy(ctx, "--send-proxy=v1")
    c = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    c.send(v2_header(BALANCED, BALANCER_DST) + client_header())
    s = up.accept()
    line = s.recv_until(b"\r\n")
    want = b"PROXY TCP4 %s " % BALANCED[0].encode()
    check(line.startswith(want) and
          line.split(b" ")[4] == b"%d" % BALANCED[1],
          "upstream's header %r, want %r... with source port %d"
          % (line, want, BALANCED[1]))
    got = s.recv_exact(len(client_header()))
    check(got == client_header(), "then the client's stream header: %r"
          % got)


@timeout(30)
def test_accept_proxy_over_max_connections(ctx):
    """accept-proxy over max-connections: after the balancer's header, the
    client's stream header is answered with <resource-constraint/> and our
    close tag, then EOF; the PROXY header is never taken for XML."""
    if not _has_option(ctx, "accept-proxy"):
        return
    up, d, port = _accept_proxy(ctx, "--max-connections=1")
    c = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    c.send(v1_header(BALANCED, BALANCER_DST) + client_header())
    s = up.accept()
    s.recv_exact(len(client_header()))
    c2 = _connect_from(ctx, LOOPBACK, port, src=LOOPBACK)
    c2.who = "client2"
    c2.send(v2_header(BALANCED, BALANCER_DST))
    time.sleep(0.05)
    c2.send(client_header())
    err = (b"<stream:error><resource-constraint xmlns='urn:ietf:params:xml:"
           b"ns:xmpp-streams'/></stream:error></stream:stream>")
    got = c2.recv_until(err)
    check(got.startswith(b"<?xml version='1.0'?><stream:stream "
                         b"xmlns='jabber:client'") and
          b"from='example.com'" in got, "refusal %r" % got)
    c2.expect_eof()
    c2.send(b"</stream:stream>")
    c2.close()
    r = d.wait_for(event="refused")
    check(r.get("answer") == "stream-error", "log %r" % r)
    up.no_connection(0.2)
