"""Shared helpers for the sipserver end-to-end tests (Python 3 stdlib only).

The tests start the real server binary ($SIPSERVER) on loopback, drive it
with SIPp and with a tiny raw SIP client, and check the replies against the
contract in tests/e2e/README.md. This module holds everything they share:

- the environment (binary, source tree, port block of 50 ports),
- a test run (temp dir, steps with PASS/FAIL lines, cleanup of processes),
- the config writer,
- `Server`: start with -c, wait until it answers OPTIONS, SIGHUP, SIGTERM
  with "exit status 0" asserted (the ASan build turns leaks into a nonzero
  status), stderr log captured and searchable,
- `run_sipp` / `start_sipp`: one SIPp call with its logs kept in the temp
  dir (start_sipp does not wait: a callee and a caller run together),
  `sipp_messages` to read what it sent and received,
- `server_status` (SIGUSR1) and `nothing_left`: no call, party or leg left,
- `SipClient` / `send_raw`: a raw SIP client over UDP or TCP.

Port block (E2E_PORT_BASE = B, the test may use B .. B+49 only):
  B      SIP (UDP and TCP)       B+1      tlib
  B+2..9 local ports of clients  B+10..19 the server's RTP range
  B+20..27 SIP of phones 0..3 (2 each)  B+28..43 RTP of phones 0..3 (4 each)
Nothing here sleeps a fixed time to wait for something: every wait polls
with a deadline.
"""

import atexit
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

LOOPBACK = '127.0.0.1'
SIPP = os.environ.get('SIPP', 'sipp')
READY_DEADLINE = 10.0
STOP_DEADLINE = 10.0
REPLY_DEADLINE = 3.0


class TestFailure(Exception):
    """A check failed; the message says what was expected and what came."""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def poll(pred, deadline, interval=0.05):
    """Call pred() until it returns a true value or `deadline` seconds
    pass; returns the last value."""
    end = time.monotonic() + deadline
    while True:
        value = pred()
        if value or time.monotonic() >= end:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------- environment

def server_binary():
    path = os.environ.get('SIPSERVER')
    if not path:
        raise TestFailure('SIPSERVER is not set (path of the server binary)')
    if not os.access(path, os.X_OK):
        raise TestFailure(f'SIPSERVER={path} is not an executable file')
    return path


def source_dir():
    default = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    return os.environ.get('SIPSERVER_SRC', os.path.dirname(default))


def scenario(name):
    return os.path.join(source_dir(), 'tests', 'e2e', 'scenarios', name)


class Ports:
    """The test's block of 50 ports (see the module comment)."""

    CLIENT_FIRST, CLIENT_LAST = 2, 9

    def __init__(self, base=None):
        if base is None:
            base = int(os.environ.get('E2E_PORT_BASE', '15000'))
        self.base = base
        self.sip = base
        self.tlib = base + 1
        self.rtp_min = base + 10
        self.rtp_max = base + 19
        self._next = base + self.CLIENT_FIRST + 1  # client(0): raw client
        self._spare = False

    def phone_sip(self, i):
        """SIP port of phone i (0..3): baresip binds it and the next one."""
        check(0 <= i <= 3, f'phone index {i} outside the port block')
        return self.base + 20 + 2 * i

    def phone_rtp(self, i):
        """RTP port range (4 ports) of phone i (0..3)."""
        check(0 <= i <= 3, f'phone index {i} outside the port block')
        first = self.base + 28 + 4 * i
        return (first, first + 3)

    def client(self, i):
        """Client port number i (0..7)."""
        check(0 <= i <= self.CLIENT_LAST - self.CLIENT_FIRST,
              f'client port index {i} outside the port block')
        return self.base + self.CLIENT_FIRST + i

    def fresh(self):
        """A client port not handed out before (client(0) is kept for the
        raw client). A TCP client that closes first leaves TIME_WAIT on its
        port, so SIPp over TCP needs a new local port each run: 7 runs,
        or 37 after without_phones()."""
        port = self._next
        if port == self.base + self.CLIENT_LAST + 1 and self._spare:
            port = self._next = self.base + 20
        last = self.base + (49 if self._spare else self.CLIENT_LAST)
        check(port <= last, 'test ran out of client ports in its block')
        self._next += 1
        return port

    def without_phones(self):
        """The test runs no baresip phone: fresh() may hand out the phone
        ports too (B+20..B+49) once the client ports are used up."""
        self._spare = True
        return self


# ------------------------------------------------------------ process control

_PROCS = []


def _track(proc):
    _PROCS.append(proc)
    return proc


def kill_all():
    """Kill every process a test started that is still running (by PID)."""
    for proc in _PROCS:
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(kill_all)


def _on_signal(signum, _frame):
    # ctest's timeout sends SIGTERM: turn it into an exit so that finally
    # blocks and atexit (kill_all) still run.
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(_sig, _on_signal)


def tail(path, lines=30):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return f'({path} not readable)\n'


# ------------------------------------------------------------------ test run

class Run:
    """One test run: temp dir, port block, numbered steps, final verdict.

        run = Run('register-udp')
        run.step('no auth -> 200', some_function, arg)
        sys.exit(run.finish())
    """

    def __init__(self, name):
        self.name = name
        self.ports = Ports()
        self.src = source_dir()
        self.tmp = tempfile.mkdtemp(prefix=f'sipserver-e2e-{name}-')
        self.failures = []
        self.servers = []
        self.fatal = False
        print(f'== {name}: ports {self.ports.base}..{self.ports.base + 49},'
              f' temp dir {self.tmp}', flush=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def step(self, title, fn, *args, **kwargs):
        """Run one check; a failure is recorded and the run goes on unless
        the server died (then the remaining steps are skipped)."""
        if self.fatal:
            print(f'SKIP {title}', flush=True)
            return None
        try:
            result = fn(*args, **kwargs)
        except TestFailure as e:
            self._fail(title, str(e))
            return None
        except Exception:  # a bug in the test or an unexpected I/O error
            self._fail(title, traceback.format_exc())
            return None
        print(f'ok   {title}', flush=True)
        return result

    def _fail(self, title, reason):
        self.failures.append(title)
        print(f'FAIL {title}\n     {reason.strip()}'.replace(
            '\n', '\n     '), flush=True)
        for srv in self.servers:
            if srv.proc is not None and srv.proc.poll() is not None \
                    and not srv.stopped:
                self.fatal = True
                if 'server exited' not in reason:
                    print(f'     server exited with status '
                          f'{srv.proc.returncode}; last log lines:\n'
                          f'{tail(srv.log_path)}', flush=True)

    def finish(self):
        """Kill leftovers, keep the temp dir if anything failed; exit code."""
        kill_all()
        if self.failures:
            print(f'== {self.name}: {len(self.failures)} FAILED: '
                  f'{", ".join(self.failures)}')
            print(f'== logs kept in {self.tmp}')
            return 1
        shutil.rmtree(self.tmp, ignore_errors=True)
        print(f'== {self.name}: all passed')
        return 0


def main(name, body):
    """Run body(run) with a fresh Run, return the process exit code. An
    exception outside a step (e.g. the server does not start) fails the
    run with its reason."""
    run = Run(name)
    try:
        body(run)
    except TestFailure as e:
        run._fail('setup', str(e))
    except Exception:
        run._fail('setup', traceback.format_exc())
    finally:
        code = run.finish()
    return code


# -------------------------------------------------------------------- config

def config_text(ports, src, dns=None, **tserver):
    """The INI text of a test config. `dns` maps a DN name to a dict of its
    options ({} = Extension without password); keyword arguments set or
    override [TServer] options (underscores become dashes; None drops one).
    """
    music = os.path.join(src, 'music', 'on_hold')
    opts = {
        'location': 'Home',
        'sip-address': LOOPBACK,
        'sip-port': ports.sip,
        'tlib-port': ports.tlib,
        'http-port': 0,
        'rtp-port-min': ports.rtp_min,
        'rtp-port-max': ports.rtp_max,
        'default-music': music,
        'music-listen-disconnect': music,
        'log-level': 'debug',
    }
    for key, value in tserver.items():
        opts[key.replace('_', '-')] = value
    if dns is None:
        dns = {'1001': {}, '1002': {'password': 'secret'}}
    lines = ['[TServer]']
    lines += [f'{k} = {v}' for k, v in opts.items() if v is not None]
    for name, dn_opts in dns.items():
        lines += ['', f'[dn:{name}]']
        lines += [f'{k} = {v}' for k, v in dn_opts.items()]
    return '\n'.join(lines) + '\n'


def write_file(path, text):
    # Write to a new file and rename it, so a reload never sees half a file.
    tmp = path + '.new'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return path


# -------------------------------------------------------------------- server

class Server:
    """The server under test, run in the foreground with -c FILE."""

    _count = 0

    def __init__(self, run, config_path, ports=None):
        """ports: the server's port block when it is not the run's (a
        test of two servers, e.g. two sites, gives each its own)."""
        self.run = run
        self.ports = ports or run.ports
        self.config = config_path
        Server._count += 1
        self.log_path = run.path(f'server-{Server._count}.log')
        self.proc = None
        self.stopped = False
        run.servers.append(self)

    def start(self, wait=True):
        log = open(self.log_path, 'wb')
        try:
            self.proc = _track(subprocess.Popen(
                [server_binary(), '-c', self.config],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        finally:
            log.close()
        if wait:
            self.wait_ready()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        check(self.alive(), f'server exited with status '
              f'{self.proc.returncode}; last log lines:\n'
              f'{tail(self.log_path)}')

    def wait_ready(self, deadline=READY_DEADLINE):
        """Poll OPTIONS over UDP until a 200 comes, or fail."""
        client = SipClient(self.ports, 'udp')

        def answered():
            self.check_alive()
            resp = client.request('OPTIONS', deadline=0.3)
            return resp is not None and resp.status == 200
        check(poll(answered, deadline, interval=0.1),
              f'server did not answer OPTIONS with 200 on udp '
              f'{LOOPBACK}:{self.ports.sip} within {deadline:g} s; '
              f'last log lines:\n{tail(self.log_path)}')

    def reload(self):
        self.check_alive()
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, deadline=STOP_DEADLINE):
        """SIGTERM, then assert a clean exit (status 0) within deadline."""
        check(self.proc is not None, 'server was never started')
        self.stopped = True
        if self.proc.poll() is not None:
            raise TestFailure(
                f'server had already exited with status '
                f'{self.proc.returncode} before SIGTERM; last log lines:\n'
                f'{tail(self.log_path)}')
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f'server did not exit within {deadline:g} s '
                              f'of SIGTERM (killed it)')
        check(code == 0, f'server exited with status {code} after SIGTERM '
              f'(expected 0; in the ASan build nonzero means a leak or '
              f'sanitizer error); last log lines:\n{tail(self.log_path, 60)}')

    def kill(self):
        """SIGKILL, as a crash or a dead machine: no goodbye to anyone."""
        check(self.alive(), 'server is not running')
        self.stopped = True
        self.proc.kill()
        self.proc.wait()

    def log_mark(self):
        """The log's current size: pass it to wait_log(since=...) to only
        look at lines written after this point."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, since=0):
        with open(self.log_path, 'rb') as f:
            f.seek(since)
            return f.read().decode(errors='replace')

    def wait_log(self, regex, deadline=5.0, since=0):
        """Poll the log until a line matches regex; returns the line."""
        pattern = re.compile(regex)

        def found():
            text = self.log_text(since)
            # whole lines only: the server may be half-way through one
            for line in text[:text.rfind('\n') + 1].splitlines():
                if pattern.search(line):
                    return line
            return None
        line = poll(found, deadline)
        check(line, f'no log line matching /{regex}/ within {deadline:g} s;'
              f' log since mark:\n{self.log_text(since)[-3000:]}')
        return line


def make_cert(run):
    """A self-signed certificate and its key, in one PEM and apart."""
    key, crt = run.path('key.pem'), run.path('crt.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-keyout', key, '-out', crt, '-days', '1',
                    '-subj', '/CN=127.0.0.1'], check=True,
                   capture_output=True, timeout=60)
    both = run.path('both.pem')
    with open(both, 'w') as out:
        for part in (crt, key):
            with open(part) as f:
                out.write(f.read())
    return both, crt


# ---------------------------------------------------------------------- SIPp

class Sipp:
    """One SIPp process started by start_sipp(); wait() -> exit code."""

    def __init__(self, proc, prefix, deadline, what):
        self.proc, self.prefix, self.deadline = proc, prefix, deadline
        self.what = what

    def wait(self):
        try:
            code = self.proc.wait(timeout=self.deadline + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -9
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def messages(self):
        return sipp_messages(self.prefix)

    def detail(self):
        return sipp_detail(self.prefix)


def start_sipp(run, scen, service, transport, local_port, extra_args=(),
               deadline=10, local_ip=LOOPBACK, remote=True, keys=None):
    """Start scenario `scen` (a file name in scenarios/) once as `service`
    from local_ip:local_port, without waiting for it. remote=False for a
    UAS (it only listens); keys = {name: value} become -key options.
    Its messages, errors and screen go to sipp-<n>-* files in the temp
    dir; sipp_detail() summarises them."""
    run_sipp.count += 1
    prefix = run.path(f'sipp-{run_sipp.count}-{os.path.splitext(scen)[0]}')
    cmd = [SIPP, '-sf', scenario(scen), '-s', service,
           '-i', local_ip, '-p', str(local_port)]
    if remote:
        cmd.append(f'{LOOPBACK}:{run.ports.sip}')
    cmd += ['-t', 'u1' if transport == 'udp' else 't1',
            '-m', '1', '-nostdin',
            '-timeout', f'{deadline}s', '-timeout_error',
            '-trace_err', '-error_file', prefix + '-errors.log',
            '-trace_msg', '-message_file', prefix + '-messages.log']
    for key, value in (keys or {}).items():
        cmd += ['-key', key, str(value)]
    cmd += list(extra_args)
    with open(prefix + '-screen.log', 'wb') as out:
        out.write((' '.join(cmd) + '\n').encode())
        out.flush()
        proc = _track(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=out))
    run_sipp.last = prefix
    return Sipp(proc, prefix, deadline, f'sipp {scen} as {service} over '
                f'{transport} from {local_ip}:{local_port}')


def run_sipp(run, scen, service, transport, local_port, extra_args=(),
             deadline=10, **kwargs):
    """Run scenario `scen` once (see start_sipp) and wait for it; returns
    SIPp's exit code (0 = the call succeeded)."""
    sipp = start_sipp(run, scen, service, transport, local_port,
                      extra_args, deadline, **kwargs)
    code = sipp.wait()
    run_sipp.last = sipp.prefix
    return code


run_sipp.count = 0
run_sipp.last = None


def sipp_detail(prefix=None):
    """Errors, last messages and command line of a SIPp run, for a failure
    text (the full logs stay in the temp dir)."""
    prefix = prefix or run_sipp.last
    parts = []
    for suffix, lines in (('-errors.log', 10), ('-messages.log', 30)):
        path = prefix + suffix
        if os.path.exists(path) and os.path.getsize(path):
            parts.append(f'--- {os.path.basename(path)} (end)\n'
                         f'{tail(path, lines)}')
    with open(prefix + '-screen.log', errors='replace') as f:
        parts.append(f'--- command\n{f.readline()}')
    return '\n'.join(parts)


def assert_sipp(run, scen, service, transport, local_port, extra_args=(),
                deadline=10, **kwargs):
    code = run_sipp(run, scen, service, transport, local_port, extra_args,
                    deadline, **kwargs)
    check(code == 0, f'sipp {scen} as {service} over {transport} exited '
          f'with {code} (expected 0)\n{sipp_detail()}')


def sipp_messages(prefix):
    """The SIP messages of a SIPp run's message log, in order, as
    (direction, text) with direction 'sent' or 'received'."""
    try:
        with open(prefix + '-messages.log', errors='replace') as f:
            log = f.read()
    except OSError:
        return []
    result = []
    for chunk in re.split(r'(?m)^-{20,}.*\n', log):
        m = re.match(r'\s*(?:UDP|TCP|TLS|SCTP) message (sent|received)'
                     r'(?: \[\d+\] bytes)? ?:?\s*\n', chunk)
        if m:
            text = chunk[m.end():].strip('\n').replace('\r\n', '\n')
            result.append((m.group(1), text.replace('\n', '\r\n')))
    return result


def sipp_received(prefix, first_line_regex):
    """The received messages whose first line matches the regex."""
    pattern = re.compile(first_line_regex)
    return [text for d, text in sipp_messages(prefix)
            if d == 'received' and pattern.search(text.split('\r\n')[0])]


# ------------------------------------------------------------------ status

def server_status(server, deadline=5.0):
    """SIGUSR1 -> the server logs one status line; returns its fields
    ({'calls': N, 'parties': N, ..., 'rx_foreign': N})."""
    server.check_alive()
    mark = server.log_mark()
    server.proc.send_signal(signal.SIGUSR1)
    line = server.wait_log(r'status: calls=\d+', deadline, mark)
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', line)}


def nothing_left(server, deadline=5.0):
    """Poll the status line until no call, party, leg, RTP leg or mix is
    left (legs are freed asynchronously, within a few ms)."""
    keys = ('calls', 'parties', 'legs', 'rtp_legs', 'mixes')
    last = {}

    def clean():
        last.update(server_status(server))
        return all(last.get(k) == 0 for k in keys)

    check(poll(clean, deadline, 0.1), 'calls, parties or legs left: ' +
          ' '.join(f'{k}={last.get(k)}' for k in keys) +
          f' (expected all 0 within {deadline:g} s); log end:\n'
          f'{server.log_text()[-1500:]}')


# ------------------------------------------------------------ raw SIP client

COMPACT = {'i': 'call-id', 'm': 'contact', 'f': 'from', 't': 'to',
           'v': 'via', 'l': 'content-length', 'c': 'content-type',
           'k': 'supported', 'e': 'content-encoding', 's': 'subject'}


class Response:
    """A parsed SIP response. Header names are matched case-insensitively
    and compact forms are expanded."""

    def __init__(self, text):
        self.text = text
        head, _, self.body = text.partition('\r\n\r\n')
        lines = head.split('\r\n')
        m = re.match(r'SIP/2\.0 (\d{3}) ?(.*)', lines[0])
        check(m, f'not a SIP response: {lines[0]!r}')
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and self.headers:   # folded line
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + ' ' + line.strip())
                continue
            name, _, value = line.partition(':')
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))

    def all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def header(self, name):
        values = self.all(name)
        return values[0] if values else None

    def contacts(self):
        """[(uri, {param: value})] of every Contact, comma lists split."""
        result = []
        for value in self.all('contact'):
            for item in split_commas(value):
                result.append(parse_contact(item))
        return result

    def __str__(self):
        return self.text.split('\r\n\r\n')[0]


def split_commas(value):
    items, depth, quoted, cur = [], 0, False, ''
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif ch == '<' and not quoted:
            depth += 1
        elif ch == '>' and not quoted:
            depth -= 1
        if ch == ',' and depth == 0 and not quoted:
            items.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        items.append(cur.strip())
    return items


def parse_contact(item):
    m = re.match(r'\s*(?:"[^"]*"\s*|[^<"]*?)?<([^>]*)>(.*)', item)
    if m:
        uri, rest = m.group(1), m.group(2)
    else:
        uri, _, rest = item.partition(';')
        rest = ';' + rest if rest else ''
    params = {}
    for p in rest.split(';'):
        if p.strip():
            k, _, v = p.strip().partition('=')
            params[k.lower()] = v.strip('"')
    return uri.strip(), params


def _message_complete(data):
    """Length of the first complete SIP message in data, or 0."""
    end = data.find(b'\r\n\r\n')
    if end < 0:
        return 0
    m = re.search(rb'(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)',
                  data[:end])
    length = int(m.group(1)) if m else 0
    total = end + 4 + length
    return total if len(data) >= total else 0


class Connection:
    """One raw client socket from a fixed local port to the server.
    UDP: each send() is one datagram. TCP: a connected stream; on close()
    the socket is reset (SO_LINGER 0) so the local port is not left in
    TIME_WAIT and can be reused at once."""

    def __init__(self, ports, transport, local_port):
        self.transport = transport
        self.local_port = local_port
        self.server = (LOOPBACK, ports.sip)
        kind = socket.SOCK_DGRAM if transport == 'udp' else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.buf = b''
        self.eof = False
        try:
            self.sock.bind((LOOPBACK, local_port))
            if transport == 'tcp':
                self.sock.settimeout(REPLY_DEADLINE)
                self.sock.connect(self.server)
        except OSError as e:
            self.sock.close()
            raise TestFailure(f'{transport} client on port {local_port}: '
                              f'cannot bind/connect to {self.server}: {e}')

    def send(self, data):
        if self.transport == 'udp':
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def recv_message(self, deadline=REPLY_DEADLINE):
        """The next SIP message as text, or None if none came in time
        (TCP: or the server closed the connection; see self.eof)."""
        end = time.monotonic() + deadline
        while True:
            if self.transport == 'tcp':
                n = _message_complete(self.buf)
                if n:
                    msg, self.buf = self.buf[:n], self.buf[n:]
                    return msg.decode(errors='replace')
                if self.eof:
                    return None
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                if self.transport == 'udp':
                    data, _ = self.sock.recvfrom(65535)
                    return data.decode(errors='replace')
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            except ConnectionError:
                self.eof = True
                continue
            if not data:
                self.eof = True
            self.buf += data

    def wait_closed(self, deadline):
        """TCP: True if the server closes the connection within deadline
        (data arriving meanwhile is read and dropped)."""
        end = time.monotonic() + deadline
        while not self.eof and time.monotonic() < end:
            self.recv_message(max(0.01, end - time.monotonic()))
            self.buf = b''
        return self.eof

    def close(self):
        if self.transport == 'tcp':
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack('ii', 1, 0))
            except OSError:
                pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_raw(ports, transport, data, local_port=None,
             deadline=REPLY_DEADLINE):
    """Send bytes to the server from a client port; return the first reply
    as text, or None if none came within deadline."""
    port = local_port or ports.client(0)
    with Connection(ports, transport, port) as conn:
        conn.send(data)
        return conn.recv_message(deadline)


def new_call_id():
    return uuid.uuid4().hex + '@e2e'


def build_request(method, ports, transport, local_port, user='e2e',
                  to_user=None, call_id=None, cseq=1, headers=(),
                  body='', omit=(), uri_user=None):
    """A SIP request as bytes. `headers` are extra 'Name: value' lines;
    `omit` names mandatory headers to leave out (e.g. 'Call-ID');
    uri_user puts a user (a dialled number) in the Request-URI."""
    call_id = call_id or new_call_id()
    to_user = to_user or user
    host = f'{LOOPBACK}:{ports.sip}'
    tp = transport.upper()
    lines = [
        ('Via', f'SIP/2.0/{tp} {LOOPBACK}:{local_port};'
                f'branch=z9hG4bK{uuid.uuid4().hex[:16]};rport'),
        ('Max-Forwards', '70'),
        ('From', f'<sip:{user}@{LOOPBACK}>;tag={uuid.uuid4().hex[:8]}'),
        ('To', f'<sip:{to_user}@{LOOPBACK}>'),
        ('Call-ID', call_id),
        ('CSeq', f'{cseq} {method}'),
    ]
    omit = {o.lower() for o in omit}
    target = f'{uri_user}@{host}' if uri_user else host
    out = [f'{method} sip:{target} SIP/2.0']
    out += [f'{n}: {v}' for n, v in lines if n.lower() not in omit]
    out += list(headers)
    out.append(f'Content-Length: {len(body.encode())}')
    return ('\r\n'.join(out) + '\r\n\r\n' + body).encode()


def contact_uri(user, port, transport):
    return f'sip:{user}@{LOOPBACK}:{port};transport={transport}'


def digest_authorization(challenge, user, password, method, uri,
                         nc='00000001', cnonce='e2e0cafe'):
    """The Authorization value answering a WWW-Authenticate challenge."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = params.get('realm', ''), params.get('nonce', '')
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    ha1 = md5(f'{user}:{realm}:{password}')
    ha2 = md5(f'{method}:{uri}')
    if 'auth' in params.get('qop', '').split(','):
        resp = md5(f'{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}')
        return (f'Digest username="{user}", realm="{realm}", '
                f'nonce="{nonce}", uri="{uri}", response="{resp}", '
                f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"')
    resp = md5(f'{ha1}:{nonce}:{ha2}')
    return (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{resp}", algorithm=MD5')


class SipClient:
    """Request/response helper over the raw Connection; one connection (TCP)
    or socket (UDP) per request, from `local_port`."""

    def __init__(self, ports, transport, local_port=None):
        self.ports = ports
        self.transport = transport
        self.local_port = local_port or ports.client(0)

    @property
    def request_uri(self):
        return f'sip:{LOOPBACK}:{self.ports.sip}'

    def request(self, method, deadline=REPLY_DEADLINE, **kwargs):
        """Send one request, return the final Response (1xx skipped) with
        the same Call-ID, or None if none came within deadline."""
        call_id = kwargs.pop('call_id', None) or new_call_id()
        data = build_request(method, self.ports, self.transport,
                             self.local_port, call_id=call_id, **kwargs)
        end = time.monotonic() + deadline
        with Connection(self.ports, self.transport, self.local_port) as c:
            c.send(data)
            while True:
                text = c.recv_message(max(0.0, end - time.monotonic()))
                if text is None:
                    return None
                resp = Response(text)
                if resp.status >= 200 and resp.header('call-id') == call_id:
                    return resp

    def register(self, user, contacts=(), expires=None, password=None,
                 extra=(), **kwargs):
        """REGISTER `user` with the given Contact values (strings such as
        '<sip:...>;expires=5' or '*'; none = a query). With a password,
        answer a 401 once with digest. Returns the final Response."""
        headers = [f'Contact: {c}' for c in contacts]
        if expires is not None:
            headers.append(f'Expires: {expires}')
        headers += list(extra)
        call_id = new_call_id()
        resp = self.request('REGISTER', user=user, call_id=call_id,
                            headers=headers, **kwargs)
        if password is None or resp is None or resp.status != 401:
            return resp
        challenge = resp.header('www-authenticate') or ''
        auth = digest_authorization(challenge, user, password, 'REGISTER',
                                    self.request_uri)
        return self.request('REGISTER', user=user, call_id=call_id, cseq=2,
                            headers=headers + [f'Authorization: {auth}'],
                            **kwargs)

    def expect(self, status, what, resp):
        check(resp is not None, f'{what}: no reply within '
              f'{REPLY_DEADLINE:g} s over {self.transport} '
              f'(expected {status})')
        check(resp.status == status, f'{what}: got "{resp.status} '
              f'{resp.reason}", expected {status}; reply:\n{resp}')
        return resp

    def bindings(self, user, password=None):
        """Query user's bindings (REGISTER without Contact, expect 200);
        returns {uri: expires or None}."""
        resp = self.expect(200, f'query REGISTER for {user}',
                           self.register(user, password=password))
        result = {}
        for uri, params in resp.contacts():
            exp = params.get('expires')
            result[uri] = int(exp) if exp and exp.isdigit() else None
        return result


def find_binding(bindings, port):
    """The URI in `bindings` whose host:port is 127.0.0.1:port, or None."""
    for uri in bindings:
        if re.search(rf'@{re.escape(LOOPBACK)}:{port}(?![0-9])', uri):
            return uri
    return None


def port_is_free(port, kind=socket.SOCK_DGRAM, host=LOOPBACK):
    """True if we can bind host:port ourselves (nobody listens)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        if kind == socket.SOCK_STREAM:
            s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def transport_arg():
    """The test's transport from argv: 'udp' or 'tcp'."""
    if len(sys.argv) != 2 or sys.argv[1] not in ('udp', 'tcp'):
        sys.exit(f'usage: {sys.argv[0]} udp|tcp')
    return sys.argv[1]
