#!/usr/bin/env python3
"""End-to-end robustness test: malformed SIP input over udp or tcp.

    python3 tests/e2e/test_malformed.py udp|tcp

Why: the SIP port faces the network; no input may crash, hang or wedge the
server. Each case sends something broken, checks the reply if the contract
fixes one (missing Call-ID/From/To/CSeq -> 400; garbage, truncated or
oversized -> no reply or an error, where a UDP datagram that ends before
its Content-Length counts as truncated, RFC 3261 18.3), and
then checks that the process is alive and a valid REGISTER still gets 200
(from another local port). TCP adds: a Content-Length beyond the body must
not be answered and the server must eventually close that connection, and a
request split across two TCP segments must still be answered with 200.
At the end SIGTERM -> exit status 0 (ASan build: no leaks).
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    Connection, Response, Server, SipClient, TestFailure, build_request,
    check, config_text, contact_uri, main, transport_arg, write_file)

# How long we listen for a reply that may legitimately never come.
QUIET = 1.5
# How long the server may keep an idle incomplete TCP request open.
TCP_IDLE_DEADLINE = 60.0
UDP_MAX = 65507


def first_line(reply):
    return reply.splitlines()[0] if reply else 'no reply'


def check_no_2xx(reply, what):
    """No reply or a non-2xx one; a 2xx fails with the reply shown."""
    if reply is not None and reply.startswith('SIP/2.0 2'):
        raise TestFailure(f'{what} got a 2xx (expected no reply or an '
                          f'error):\n{reply[:600]}')


def filler(total):
    """Header lines of about `total` bytes in all."""
    lines, size, i = [], 0, 0
    while size < total:
        lines.append(f'X-Filler-{i}: ' + 'b' * 90)
        size += len(lines[-1]) + 2
        i += 1
    return lines


class Cases:
    """The malformed inputs, sent from rotating client ports 2..7; the
    health check uses port 1."""

    def __init__(self, run, server, tp):
        self.run, self.server, self.tp = run, server, tp
        self.ports = run.ports
        self.health = SipClient(self.ports, tp, self.ports.client(1))
        self._turn = 0

    def connect(self):
        port = self.ports.client(2 + self._turn % 6)
        self._turn += 1
        return Connection(self.ports, self.tp, port)

    def register(self, conn, **kwargs):
        """A valid REGISTER for 1001 from conn's port, as bytes."""
        contact = contact_uri('1001', conn.local_port, self.tp)
        headers = [f'Contact: <{contact}>', 'Expires: 60']
        headers += kwargs.pop('headers', [])
        return build_request('REGISTER', self.ports, self.tp,
                             conn.local_port, user='1001', headers=headers,
                             **kwargs)

    def exchange(self, data, deadline=QUIET):
        """Send data on a new connection; the reply (or None)."""
        with self.connect() as conn:
            conn.send(data)
            return conn.recv_message(deadline)

    def healthy(self, what):
        self.server.check_alive()
        contact = contact_uri('1001', self.health.local_port, self.tp)
        resp = self.health.register('1001', [f'<{contact}>'], expires=60)
        check(resp is not None and resp.status == 200,
              f'after {what}: valid REGISTER got '
              f'{resp.status if resp else "no reply"}, expected 200')
        self.server.check_alive()

    # --- the cases: each returns nothing, raises TestFailure on a mismatch

    def garbage(self):
        for data in (b'\x00\xff\xfe' * 200, b'hello world\r\n\r\n',
                     b'\r\n\r\n\r\n', bytes(range(256)) * 8,
                     b'SIP/2.0 200 OK\r\n\r\n', b'REGISTER\r\n\r\n'):
            check_no_2xx(self.exchange(data), f'garbage {data[:20]!r}...')
        self.healthy('garbage')

    def truncated(self):
        with self.connect() as conn:
            data = self.register(conn)
            cut = data[:data.index(b'Call-ID') + 12]
            conn.send(cut)
            reply = conn.recv_message(QUIET)
        check_no_2xx(reply, 'a truncated REGISTER')
        self.healthy('a truncated REGISTER')

    def long_line(self):
        """One 10 KiB header line: any reply or none, but keep serving."""
        with self.connect() as conn:
            conn.send(self.register(conn, headers=['X-Long: ' + 'a' * 10240]))
            reply = conn.recv_message(QUIET)
        print(f'     (10 KiB header line: {first_line(reply)})')
        self.healthy('a 10 KiB header line')

    def huge_headers(self):
        """70 KiB of headers (UDP: as much as one datagram holds)."""
        size = 70 * 1024 if self.tp == 'tcp' else UDP_MAX - 1000
        lines = filler(size)
        with self.connect() as conn:
            data = self.register(conn, headers=lines)
            check(self.tp == 'tcp' or len(data) <= UDP_MAX,
                  f'test bug: {len(data)} bytes do not fit a datagram')
            try:
                conn.send(data)
            except OSError as e:   # the server may close mid-way (TCP)
                print(f'     (server stopped reading: {e})')
            reply = conn.recv_message(QUIET)
        check_no_2xx(reply, f'{len(data)} bytes of headers')
        print(f'     ({len(data)} bytes of headers: {first_line(reply)})')
        self.healthy(f'{len(data)} bytes of headers')

    def missing(self, header):
        with self.connect() as conn:
            conn.send(self.register(conn, omit=[header]))
            reply = conn.recv_message(QUIET)
        if reply is None:
            print(f'     (no {header}: no reply)')
        else:
            resp = Response(reply)
            check(resp.status == 400, f'REGISTER without {header} got '
                  f'"{resp.status} {resp.reason}", expected 400')
        self.healthy(f'a REGISTER without {header}')

    def bad_values(self):
        """Nonsense header values. The contract fixes no reply for these,
        so the replies are only printed; the server must keep serving."""
        for name, value in (('CSeq', 'abc REGISTER'),
                            ('Content-Length', '-5'),
                            ('Via', 'garbage'),
                            ('To', '<>')):
            with self.connect() as conn:
                data = self.register(conn, omit=[name],
                                     headers=[f'{name}: {value}'])
                if name == 'Content-Length':
                    data = data.replace(b'Content-Length: 0\r\n', b'')
                conn.send(data)
                reply = conn.recv_message(QUIET)
            print(f'     ("{name}: {value}": {first_line(reply)})')
        self.healthy('nonsense header values')

    def short_body(self):
        """Content-Length: 100 but no body. UDP: error or no reply. TCP:
        no reply (the rest may still come), the server stays usable for
        others and closes the idle connection eventually."""
        conn = self.connect()
        try:
            data = self.register(conn).replace(b'Content-Length: 0',
                                               b'Content-Length: 100')
            conn.send(data)
            reply = conn.recv_message(QUIET)
            if self.tp == 'udp':
                check_no_2xx(reply, 'a datagram shorter than its '
                             'Content-Length')
                return self.healthy('a short body')
            check(reply is None, f'incomplete TCP request (body missing) '
                  f'was answered: {reply!r}')
            self.healthy('an incomplete TCP request (still open)')
            start = time.monotonic()
            check(conn.wait_closed(TCP_IDLE_DEADLINE),
                  f'server kept the incomplete TCP connection open for '
                  f'{TCP_IDLE_DEADLINE:g} s')
            print(f'     (closed after {time.monotonic() - start + QUIET:.1f}'
                  f' s)')
        finally:
            conn.close()
        self.healthy('the idle connection was closed')

    def split_segments(self):
        """TCP: one REGISTER in two writes, cut inside a header line."""
        with self.connect() as conn:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = self.register(conn)
            cut = data.index(b'CSeq') + 3
            conn.send(data[:cut])
            # The gap between the segments is the thing tested.
            time.sleep(0.2)
            conn.send(data[cut:])
            reply = conn.recv_message(3.0)
        check(reply and reply.startswith('SIP/2.0 200'),
              f'REGISTER split across two TCP segments got '
              f'{first_line(reply)}, expected 200')
        self.healthy('a split REGISTER')


def body(run):
    tp = transport_arg()
    conf = write_file(run.path('sipserver.conf'),
                      config_text(run.ports, run.src))
    server = Server(run, conf).start()
    cases = Cases(run, server, tp)
    run.step(f'{tp}: valid REGISTER -> 200 before anything',
             cases.healthy, 'nothing')
    run.step(f'{tp}: garbage bytes', cases.garbage)
    run.step(f'{tp}: truncated REGISTER', cases.truncated)
    run.step(f'{tp}: 10 KiB header line', cases.long_line)
    run.step(f'{tp}: huge headers -> no 2xx', cases.huge_headers)
    for header in ('Call-ID', 'From', 'To', 'CSeq'):
        run.step(f'{tp}: no {header} -> 400 (or no reply)',
                 cases.missing, header)
    run.step(f'{tp}: nonsense header values', cases.bad_values)
    if tp == 'tcp':
        run.step('tcp: REGISTER in two segments -> 200',
                 cases.split_segments)
    run.step(f'{tp}: Content-Length larger than the body', cases.short_body)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main(f'malformed-{transport_arg()}', body))
