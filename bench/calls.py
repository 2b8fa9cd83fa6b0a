#!/usr/bin/env python3
"""Call benchmarks through sipserver, with SIPp on both sides.

    python3 bench/calls.py setup [--rates 100,200,500,800] [--seconds 5] [--tcp]
    python3 bench/calls.py media [--calls 50,100,200] [--seconds 10]

setup: SIPp callers -> sipserver -> a registered SIPp callee, at a given
       rate of new calls per second (each held 1 s), for each rate: calls
       attempted, failed, SIPp's response time, sipserver's CPU and RSS.
media: that many concurrent calls, each caller sending PCMU all along and
       the callee echoing it, so every call has two legs with RTP both
       ways through the mixer; after the calls are up, sipserver's CPU,
       RSS and media counters are sampled over --seconds, and the cost per
       call is printed.
Figures go to docs/performance.md with the command, machine and date.
Runs the plain build (build/sipserver) on 127.0.0.1, ports 41000-49999.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.environ.get('SIPSERVER', os.path.join(TOP, 'build', 'sipserver'))
SIP, CALLEE_PORT, CALLER_PORT = 41000, 41002, 41004
MEDIA_CALLER, MEDIA_CALLEE = 41010, 41020
RTP_MIN, RTP_MAX = 42000, 49999
HZ = os.sysconf('SC_CLK_TCK')
PROCS = []  # killed at exit, whatever happens
TRANSPORT = 'u1'


def wait_for(pred, deadline, what):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    sys.exit(f'bench: {what} did not happen within {deadline} s')


def config(tmp, rtp_timeout):
    path = os.path.join(tmp, 'bench.conf')
    music = os.path.join(TOP, 'music', 'on_hold')
    with open(path, 'w') as f:
        f.write(f'''[TServer]
sip-port = {SIP}
tlib-port = {SIP + 1}
http-port = 0
rtp-port-min = {RTP_MIN}
rtp-port-max = {RTP_MAX}
rtp-timeout = {rtp_timeout}
default-music = {music}
music-listen-disconnect = {music}
log-level = warn
[dn:bench]
[dn:2000]
''')
    return path


class Server:
    def __init__(self, tmp, rtp_timeout=0):
        self.log = open(os.path.join(tmp, 'server.log'), 'w')
        self.proc = subprocess.Popen([SERVER, '-c', config(tmp, rtp_timeout)],
                                     stdin=subprocess.DEVNULL,
                                     stderr=self.log)
        PROCS.append(self.proc)
        wait_for(self.answers, 10, 'sipserver start')

    @staticmethod
    def answers():
        """An OPTIONS gets 200: the server is up."""
        msg = (f'OPTIONS sip:127.0.0.1:{SIP} SIP/2.0\r\n'
               f'Via: SIP/2.0/UDP 127.0.0.1:{SIP + 9};branch=z9hG4bKb'
               f'{time.monotonic_ns()}\r\nFrom: <sip:b@127.0.0.1>;tag=1\r\n'
               f'To: <sip:b@127.0.0.1>\r\nCall-ID: {time.monotonic_ns()}\r\n'
               f'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n')
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(('127.0.0.1', SIP + 9))
            s.settimeout(0.2)
            s.sendto(msg.encode(), ('127.0.0.1', SIP))
            try:
                return s.recv(2000).startswith(b'SIP/2.0 200')
            except OSError:
                return False

    def cpu(self):
        fields = open(f'/proc/{self.proc.pid}/stat').read().split(')')[1]
        f = fields.split()
        return (int(f[11]) + int(f[12])) / HZ

    def rss_kib(self):
        m = re.search(r'VmRSS:\s+(\d+)', open(
            f'/proc/{self.proc.pid}/status').read())
        return int(m.group(1))

    def status(self):
        size = os.path.getsize(self.log.name)
        self.proc.send_signal(signal.SIGUSR1)
        line = []

        def got():
            with open(self.log.name) as f:
                f.seek(size)
                m = re.search(r'status: (.*)', f.read())
            if m:
                line.append(m.group(1))
            return bool(m)
        wait_for(got, 5, 'status line')
        return dict(kv.split('=') for kv in line[0].split())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def sipp(args, tmp, name):
    out = open(os.path.join(tmp, f'sipp-{name}.log'), 'w')
    proc = subprocess.Popen(['sipp', '-nostdin', '-i', '127.0.0.1',
                             '-t', TRANSPORT, *args],
                            stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, cwd=tmp)
    PROCS.append(proc)
    return proc


def callee(tmp, port, echo):
    reg = os.path.join(TOP, 'tests', 'e2e', 'scenarios',
                       'register_noauth.xml')
    rc = sipp(['-sf', reg, '-s', '2000', '-p', str(port), '-m', '1',
               f'127.0.0.1:{SIP}'], tmp, 'register').wait(10)
    if rc:
        sys.exit('bench: the callee could not register')
    args = ['-sn', 'uas', '-p', str(port)]
    if echo:
        args += ['-mi', '127.0.0.1', '-mp', str(MEDIA_CALLEE), '-rtp_echo']
    return sipp(args, tmp, 'uas')


def scenario(tmp, rtp):
    text = open(os.path.join(TOP, 'bench', 'scenarios',
                             'uac_rtp.xml.in')).read()
    text = text.replace('@CALLER@', 'bench')
    if rtp:
        tone = os.path.join(tmp, 'tone.ul')
        subprocess.run(['sox', '-n', '-r', '8000', '-c', '1', '-t', 'ul',
                        tone, 'synth', '10', 'sine', '440'], check=True)
        text = text.replace('@TONE@', tone)
    else:
        text = re.sub(r'  <nop><action><exec rtp_stream.*\n', '', text)
    path = os.path.join(tmp, 'uac.xml')
    open(path, 'w').write(text)
    return path


def stats_of(tmp, name):
    """Successful and failed calls from SIPp's final statistics file."""
    path = os.path.join(tmp, f'{name}.csv')
    rows = [r.split(';') for r in open(path).read().splitlines() if r]
    head, last = rows[0], rows[-1]
    get = dict(zip(head, last))
    return (int(get.get('SuccessfulCall(C)', 0)),
            int(get.get('FailedCall(C)', 0)),
            get.get('ResponseTime1(C)', '?'))


def setup_bench(args):
    tmp = tempfile.mkdtemp(prefix='sipserver-bench-')
    srv = Server(tmp)
    uas = callee(tmp, CALLEE_PORT, echo=False)
    uac_xml = scenario(tmp, rtp=False)
    print(f'{"rate/s":>7} {"calls":>7} {"failed":>7} {"resp":>13} '
          f'{"cpu%":>6} {"rss KiB":>8}')
    for rate in args.rates:
        total = rate * args.seconds
        cpu0, t0 = srv.cpu(), time.monotonic()
        name = f'uac-{rate}'
        uac = sipp(['-sf', uac_xml, '-s', '2000', '-p', str(CALLER_PORT),
                    '-r', str(rate), '-m', str(total), '-d', '1000',
                    '-l', str(rate * 3), '-timeout', f'{args.seconds + 30}s',
                    '-trace_stat', '-stf', f'{name}.csv', '-fd', '1',
                    f'127.0.0.1:{SIP}'], tmp, name)
        try:
            uac.wait(args.seconds + 60)
        except subprocess.TimeoutExpired:  # saturated: stop, count
            uac.send_signal(signal.SIGUSR1)  # SIPp: no new calls, finish
            try:
                uac.wait(40)
            except subprocess.TimeoutExpired:
                uac.kill()
                uac.wait()
        wall = time.monotonic() - t0
        ok, failed, resp = stats_of(tmp, name)
        cpu = 100.0 * (srv.cpu() - cpu0) / wall
        print(f'{rate:>7} {ok + failed:>7} {failed:>7} {resp:>13} '
              f'{cpu:>6.1f} {srv.rss_kib():>8}', flush=True)
        wait_for(lambda: srv.status()['calls'] == '0', 40, 'calls to end')
    uas.kill()
    srv.stop()
    print(f'logs: {tmp}')


def media_bench(args):
    tmp = tempfile.mkdtemp(prefix='sipserver-bench-')
    srv = Server(tmp, rtp_timeout=2)  # a killed caller's calls end
    uas = callee(tmp, CALLEE_PORT, echo=True)
    uac_xml = scenario(tmp, rtp=True)
    base_rss = srv.rss_kib()
    print(f'{"calls":>6} {"legs":>6} {"cpu%":>6} {"cpu%/call":>9} '
          f'{"rss KiB":>8} {"KiB/call":>8} {"rx/s":>8} {"tx/s":>8} '
          f'{"late":>5} {"foreign":>7}')
    for n in args.calls:
        hold = (args.seconds + 20) * 1000
        name = f'media-{n}'
        uac = sipp(['-sf', uac_xml, '-s', '2000', '-p', str(MEDIA_CALLER),
                    '-mi', '127.0.0.1', '-mp', str(MEDIA_CALLER + 100),
                    '-r', '50', '-m', str(n), '-l', str(n), '-d', str(hold),
                    f'127.0.0.1:{SIP}'], tmp, name)
        wait_for(lambda: int(srv.status()['calls']) >= n, 60,
                 f'{n} calls up')
        time.sleep(1)  # let every stream start before measuring
        s0, cpu0, t0 = srv.status(), srv.cpu(), time.monotonic()
        time.sleep(args.seconds)  # the measuring window itself
        s1, cpu1, wall = srv.status(), srv.cpu(), time.monotonic() - t0
        cpu = 100.0 * (cpu1 - cpu0) / wall
        rss = srv.rss_kib()
        rx = (int(s1['rx']) - int(s0['rx'])) / wall
        tx = (int(s1['tx']) - int(s0['tx'])) / wall
        print(f'{n:>6} {s1["legs"]:>6} {cpu:>6.1f} {cpu / n:>9.3f} '
              f'{rss:>8} {(rss - base_rss) / n:>8.1f} {rx:>8.0f} {tx:>8.0f} '
              f'{int(s1["late"]) - int(s0["late"]):>5} '
              f'{int(s1["rx_foreign"]) - int(s0["rx_foreign"]):>7}',
              flush=True)
        uac.kill()  # its legs go silent: released after rtp-timeout
        uac.wait(10)
        wait_for(lambda: srv.status()['calls'] == '0', 40, 'calls to end')
    uas.kill()
    srv.stop()
    print(f'logs: {tmp}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('mode', choices=['setup', 'media'])
    ap.add_argument('--rates', default='100,200,500,800')
    ap.add_argument('--calls', default='50,100,200')
    ap.add_argument('--seconds', type=int, default=5)
    ap.add_argument('--tcp', action='store_true', help='SIP over TCP')
    args = ap.parse_args()
    global TRANSPORT
    TRANSPORT = 't1' if args.tcp else 'u1'
    args.rates = [int(x) for x in args.rates.split(',')]
    args.calls = [int(x) for x in args.calls.split(',')]
    if not os.access(SERVER, os.X_OK):
        sys.exit(f'bench: build the server first ({SERVER})')
    try:
        setup_bench(args) if args.mode == 'setup' else media_bench(args)
    finally:
        for proc in PROCS:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == '__main__':
    main()
