#!/usr/bin/env python3
"""End-to-end: hostile SIP load (issue 11, part 2): many idle TCP
connections and a flood of INVITEs that are never ACKed, while everyone
else is still served.

    python3 tests/e2e/test_hostile.py

Why: the SIP port faces the network. Holding connections open, or sending
INVITEs and never acknowledging the answer, costs an attacker nothing; it
must not cost the phones their service, nor leave sockets behind.
1. 2,000 idle TCP connections to the SIP port (from 127.0.3.1 ..
   127.0.3.67, each on the block's 30 phone ports: this test has no
   phone), all accepted: OPTIONS
   over UDP and a REGISTER over a new TCP connection are answered within a
   second meanwhile; once they are closed, the server's open files are
   back to what they were (/proc/PID/fd);
2. 1,000 INVITEs to an unknown number over UDP, as fast as they go, none
   ever ACKed: every one is answered (404, a final answer the server then
   retransmits, RFC 3261 Timer G), OPTIONS is answered within a second
   meanwhile, and no call, leg or RTP port is left;
3. 200 CTI connections that never send TOpenServer are dropped 10 s
   after their EventLinkConnected (logged), while a client that opened
   stays and is answered;
4. SIGTERM -> exit status 0 (ASan: no leak).
"""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Connection, Response, Server, SipClient, TestFailure,
    build_request, check, config_text, contact_uri, main, nothing_left, poll,
    write_file)

IDLE = 2000
ADDRESSES = [f'127.0.3.{i}' for i in range(1, 68)]
FLOOD = 1000


def open_files(server):
    return len(os.listdir(f'/proc/{server.proc.pid}/fd'))


def answered_fast(run, what):
    client = SipClient(run.ports, 'udp')
    t0 = time.monotonic()
    resp = client.request('OPTIONS', deadline=1.0)
    check(resp is not None and resp.status == 200 and
          time.monotonic() - t0 < 1.0,
          f'OPTIONS not answered within 1 s {what}')


def register_tcp(run):
    port = run.ports.client(1)
    req = build_request('REGISTER', run.ports, 'tcp', port, user='1001',
                        headers=[f'Contact: <{contact_uri("1001", port, "tcp")}>',
                                 'Expires: 60'])
    with Connection(run.ports, 'tcp', port) as conn:
        t0 = time.monotonic()
        conn.send(req)
        reply = conn.recv_message(1.0)
    check(reply is not None and Response(reply).status == 200 and
          time.monotonic() - t0 < 1.0,
          f'REGISTER over TCP not answered within 1 s: {reply!r}')


def idle_connections(run):
    """IDLE connected sockets, from the test's client ports on several
    loopback addresses (so that only the block's ports are used)."""
    socks = []
    # no phones here: the block's phone ports (B+20..B+49) are ours
    ports = [run.ports.base + 20 + i for i in range(30)]
    for addr in ADDRESSES:
        for port in ports:
            if len(socks) == IDLE:
                return socks
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
            s.connect((LOOPBACK, run.ports.sip))
            socks.append(s)
    return socks


def step_idle(run, t):
    server = t['server']
    base = open_files(server)
    socks = idle_connections(run)
    try:
        check(len(socks) == IDLE, f'{len(socks)} connections, not {IDLE}')
        check(poll(lambda: open_files(server) >= base + IDLE, 10,
                   interval=0.2),
              f'server holds {open_files(server) - base} of the {IDLE} '
              f'connections')
        answered_fast(run, f'with {IDLE} idle TCP connections')
        register_tcp(run)
    finally:
        for s in socks:
            s.close()
    check(poll(lambda: open_files(server) <= base, 10, interval=0.2),
          f'open files {open_files(server)} after the connections closed, '
          f'{base} before')


def step_flood(run, t):
    port = run.ports.client(2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.settimeout(0.2)
    answered = set()
    try:
        for i in range(FLOOD):
            sock.sendto(build_request('INVITE', run.ports, 'udp', port,
                                      user='3001', uri_user='4711',
                                      call_id=f'flood-{i}@e2e'),
                        (LOOPBACK, run.ports.sip))
        answered_fast(run, f'during a flood of {FLOOD} INVITEs')

        def all_answered():
            while True:
                try:
                    resp = Response(sock.recv(65536).decode(
                        errors='replace'))
                except socket.timeout:
                    break
                if resp.status >= 300:
                    answered.add(resp.header('call-id'))
            return len(answered) == FLOOD
        check(poll(all_answered, 15, interval=0.05),
              f'{len(answered)} of {FLOOD} INVITEs answered')
    finally:
        sock.close()
    nothing_left(t['server'])


def step_cti_never_open(run, t):
    opened = Cti(run.ports.tlib)
    socks = []
    try:
        for i in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((f'127.0.4.{1 + i // 30}', run.ports.base + 20 + i % 30))
            s.connect((LOOPBACK, run.ports.tlib))
            socks.append(s)

        # each is closed by the server: it reads its EventLinkConnected,
        # then the end of the stream (the log says so at level info)
        end = time.monotonic() + 20
        for s in socks:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
            except socket.timeout:
                raise TestFailure('a CTI connection that never opened is '
                                  'still open after 20 s')
        ref = opened.request('TQueryAddress', ThisDN='1001')
        opened.wait('EventError', ReferenceID=ref)  # not registered: 41
    finally:
        for s in socks:
            s.close()
        opened.close()


def body(run):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}}, log_level='warn'))
    server = Server(run, conf).start()
    t = {'server': server}
    run.step(f'{IDLE} idle TCP connections: others served, nothing left',
             step_idle, run, t)
    run.step(f'{FLOOD} INVITEs never ACKed: each answered, others served',
             step_flood, run, t)
    run.step('CTI connections that never open are dropped, others stay',
             step_cti_never_open, run, t)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('hostile', body))
