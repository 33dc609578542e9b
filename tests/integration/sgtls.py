"""TLS helpers for the integration tests (stdlib ssl only).

Certificates are made per test by tests/tls/mkcerts.sh in the test's temp
dir.  TlsClient drives TLS over a plain socket with ssl.MemoryBIO, so a
test sees exactly what arrives: records, the peer's close_notify
(SSLZeroReturnError) and the TCP FIN, each on its own.
"""

import os
import socket
import ssl
import subprocess
import time

from sgtest import TestFailure, check, DEFAULT_TIMEOUT

HERE = os.path.dirname(os.path.abspath(__file__))
MKCERTS = os.path.join(HERE, "..", "tls", "mkcerts.sh")


def make_certs(ctx):
    """The test certificates in ctx's dir; returns that dir."""
    d = ctx.path("certs")
    subprocess.run(["sh", MKCERTS, d], check=True, timeout=60)
    return d


def client_context(certs, verify=True, alpn=None):
    if verify:
        c = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    else:
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        c.check_hostname = False
        c.verify_mode = ssl.CERT_NONE
    if alpn:
        c.set_alpn_protocols(alpn)
    return c


def server_context(certs, name):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(os.path.join(certs, name + ".pem"),
                      os.path.join(certs, name + ".key"))
    return c


def subject_cn(cert_der):
    """The CN of a DER certificate, without parsing ASN.1 ourselves."""
    pem = ssl.DER_cert_to_PEM_cert(cert_der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"],
                         input=pem.encode(), capture_output=True,
                         check=True, timeout=10).stdout.decode()
    return out.rpartition("CN")[2].strip(" =\n")


class TlsClient:
    """A TLS client over a connected socket, through memory BIOs."""

    def __init__(self, ctx, sock, sslctx, sni=None, who="tls-client"):
        self.ctx = ctx
        self.sock = sock
        self.who = who
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = sslctx.wrap_bio(self.inc, self.out, server_side=False,
                                   server_hostname=sni)
        self.buf = bytearray()
        self.close_notify = False   # the peer's close_notify came
        self.fin = False            # then the TCP EOF
        self.raw_after_notify = b""
        ctx.on_cleanup(self.close)

    def _push(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _pull(self, deadline):
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise TestFailure("%s: nothing within the time (have %r)"
                              % (self.who, bytes(self.buf[-200:])))
        except ConnectionResetError:
            self.ctx.reset_seen(self.who)
        if not data:
            self.fin = True
            self.inc.write_eof()
        else:
            if self.close_notify:
                self.raw_after_notify += data
            self.inc.write(data)

    def handshake(self, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.obj.do_handshake()
                self._push()
                return
            except ssl.SSLWantReadError:
                self._push()
                if self.fin:
                    raise TestFailure("%s: EOF in the handshake" % self.who)
                self._pull(deadline)
            except ssl.SSLError:
                self._push()    # our alert, so the peer knows why
                raise

    def send(self, data):
        self.obj.write(data)
        self._push()

    def _fill(self, deadline):
        """Decrypt what there is; False once the stream has ended."""
        while True:
            try:
                data = self.obj.read(1 << 16)
            except ssl.SSLWantReadError:
                self._push()
                if self.fin:
                    return False
                self._pull(deadline)
                continue
            except ssl.SSLZeroReturnError:
                self.close_notify = True
                return False
            # ssl returns b"" for a clean close_notify.
            if not data:
                self.close_notify = True
                return False
            self.buf += data
            return True

    def recv_until(self, marker, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if self.close_notify or not self._fill(deadline):
                raise TestFailure("%s: end before %r (have %r)" % (
                    self.who, marker, bytes(self.buf[-200:])))
        i = self.buf.find(marker) + len(marker)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def recv_exact(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if self.close_notify or not self._fill(deadline):
                raise TestFailure("%s: end after %d of %d bytes"
                                  % (self.who, len(self.buf), n))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def expect_close_notify_then_fin(self, timeout=DEFAULT_TIMEOUT):
        """Nothing more, then close_notify, then FIN with no byte after."""
        deadline = time.monotonic() + timeout
        while not self.close_notify:
            if not self._fill(deadline):
                break
        check(self.buf == b"", "%s: data before the end: %r"
              % (self.who, bytes(self.buf)))
        check(self.close_notify, "%s: TCP EOF without close_notify"
              % self.who)
        while not self.fin:
            self._pull(deadline)
        check(self.raw_after_notify == b"", "%s: bytes after close_notify:"
              " %r" % (self.who, self.raw_after_notify))

    def close_tls(self):
        """Our close_notify and FIN."""
        try:
            self.obj.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLError):
            pass
        self._push()
        self.sock.shutdown(socket.SHUT_WR)

    def peer_cn(self):
        return subject_cn(self.obj.getpeercert(binary_form=True))

    def close(self):
        if self.sock.fileno() != -1:
            self.sock.close()


def tls_connect(ctx, port, sslctx, sni=None, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=DEFAULT_TIMEOUT)
    c = TlsClient(ctx, s, sslctx, sni)
    c.handshake()
    return c
