#!/usr/bin/env python3
"""CTI benchmark: request -> event latency and event fan-out with many
registered clients.

    python3 bench/cti.py [--clients 1000] [--requests 2000] [--calls 20]

Starts the plain build (build/sipserver) on 127.0.0.1 ports 43000-43049,
connects --clients tlib/1 clients that all register DN 1001, then:
- latency: one more client sends --requests TQueryAddress requests one at
  a time and times each answer (p50, p99, max);
- fan-out: --calls phone calls 1001 -> 1002 (Python SIP UAs from
  tests/e2e/lib/rtpua.py); each produces events for 1001 that go to every
  client; printed: events delivered per second while the calls ran, and
  the delay from each event's Time to its arrival (p50, p99).
Figures go to docs/performance.md with the command, machine and date.
"""

import argparse
import os
import socket
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'e2e'))
os.environ.setdefault('SIPSERVER', os.path.join(TOP, 'build', 'sipserver'))
os.environ.setdefault('SIPSERVER_SRC', TOP)
os.environ['E2E_PORT_BASE'] = '43000'

from lib.harness import Run, Server, config_text, write_file  # noqa: E402
from lib.rtpua import Ua  # noqa: E402
from test_cti_load import Crowd, raise_fd_limit  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--clients', type=int, default=1000)
    ap.add_argument('--requests', type=int, default=2000)
    ap.add_argument('--calls', type=int, default=20)
    args = ap.parse_args()
    raise_fd_limit()

    run = Run('bench-cti')
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}}, log_level='warn'))
    server = Server(run, conf).start()
    crowd = Crowd(run.ports.tlib, args.clients)
    while crowd.count('EventRegistered') < args.clients:
        time.sleep(0.05)  # bench set-up: waiting for the crowd

    # a blocking socket: the answer is timed the moment it arrives
    asker = socket.create_connection(('127.0.0.1', run.ports.tlib))
    f = asker.makefile('rwb')
    f.readline()
    f.write(b'{"request":"TOpenServer","ApplicationName":"bench"}\n'
            b'{"request":"TRegisterAddress","ThisDN":"1001"}\n')
    f.flush()
    f.readline()
    f.readline()
    lat = []
    for i in range(args.requests):
        t0 = time.perf_counter()
        f.write(b'{"request":"TQueryAddress","ReferenceID":%d,'
                b'"ThisDN":"1001"}\n' % (i + 1))
        f.flush()
        line = f.readline()
        lat.append(time.perf_counter() - t0)
        assert b'EventAddressInfo' in line, line
    print(f'request -> event with {args.clients} clients registered: '
          f'{args.requests} TQueryAddress, p50 {pct(lat, 0.5):.2f} ms, '
          f'p99 {pct(lat, 0.99):.2f} ms, max {max(lat) * 1000:.2f} ms')

    a = Ua(run.ports, '1001', run.ports.base + 20, run.ports.base + 28)
    b = Ua(run.ports, '1002', run.ports.base + 22, run.ports.base + 32)
    b.register()
    names = ('EventDialing', 'EventEstablished', 'EventReleased')
    t0 = time.time()
    for _ in range(args.calls):
        a.invite('1002')
        b.answer()
        a.wait_answered()
        a.bye()
        b.wait_bye()
    want = args.calls * len(names) * args.clients
    while len(crowd.delays(names)) < want:
        time.sleep(0.05)  # the last events still arriving
    wall = time.time() - t0
    delays = crowd.delays(names)
    print(f'fan-out: {args.calls} calls, {len(delays)} events to '
          f'{args.clients} clients in {wall:.2f} s = '
          f'{len(delays) / wall:.0f} events/s delivered; delay p50 '
          f'{pct(delays, 0.5):.1f} ms, p99 {pct(delays, 0.99):.1f} ms')
    for x in (a, b, asker, crowd):
        x.close()
    server.stop()
    sys.exit(run.finish())


if __name__ == '__main__':
    main()
