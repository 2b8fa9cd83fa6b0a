#!/usr/bin/env python3
"""tools/tlibctl against a tiny fake tlib/1 server written here.

    TLIBCTL=build/tlibctl E2E_PORT_BASE=32000 python3 tests/e2e/test_tlibctl.py

Why: the CTI e2e tests and people's scripts drive the server through
tlibctl, so its line syntax, its output and its exit status must be exactly
what docs/tlibctl.md says, independent of the real server (which is tested
with it elsewhere). The fake server follows the spec's session: it sends
EventLinkConnected, answers TOpenServer, TRegisterAddress and the call
requests with their events (carrying the ReferenceID), unknown requests
with EventError 53, and records every request line for the checks.

Port block (E2E_PORT_BASE = B): the fake server listens on B+1 (the tlib
port); B+2 is a port nobody listens on.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import LOOPBACK, check, main  # noqa: E402

RUN_DEADLINE = 10.0
ANSWERS = {
    'TOpenServer': 'EventServerConnected',
    'TRegisterAddress': 'EventRegistered',
    'TMakeCall': 'EventDialing',
    'TAnswerCall': 'EventEstablished',
    'TReleaseCall': 'EventReleased',
    'THoldCall': 'EventHeld',
}


def tlibctl_binary():
    path = os.environ.get('TLIBCTL')
    check(path and os.access(path, os.X_OK),
          f'TLIBCTL={path!r} is not an executable file')
    return path


class FakeServer:
    """Accepts connections one after another on 127.0.0.1:port. Each one
    is served by `script(conn, request)`, which returns the events to send
    back (dicts); `greeting` is sent first, `after_open` after the answer
    to TOpenServer. Every request is kept in `requests`."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, port))
        self.sock.listen(4)
        self.seq = 0
        self.reset()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self, script=None, after_open=(), greeting=None,
              close_after_open=False):
        self.script = script or default_answer
        self.after_open = list(after_open)
        self.greeting = greeting or {'event': 'EventLinkConnected',
                                     'ProtocolVersion': 'tlib/1',
                                     'ServerName': 'fake',
                                     'Location': 'Home'}
        self.close_after_open = close_after_open
        self.requests = []

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def event(self, ev):
        self.seq += 1
        out = {'event': ev.pop('event'), 'EventSequenceNumber': self.seq,
               'Time': time.strftime('%Y-%m-%dT%H:%M:%S.000Z',
                                     time.gmtime())}
        out.update(ev)
        return (json.dumps(out) + '\n').encode()

    def _serve(self, conn):
        with conn, conn.makefile('rb') as rf:
            conn.sendall(self.event(dict(self.greeting)))
            for line in rf:
                req = json.loads(line)
                self.requests.append(req)
                for ev in self.script(req):
                    conn.sendall(self.event(dict(ev)))
                if req.get('request') == 'TOpenServer':
                    for ev in self.after_open:
                        conn.sendall(self.event(dict(ev)))
                    if self.close_after_open:
                        return

    def close(self):
        self.sock.close()


def default_answer(req):
    name = req.get('request')
    ref = {'ReferenceID': req['ReferenceID']} if 'ReferenceID' in req else {}
    if name in ANSWERS:
        ev = {'event': ANSWERS[name], **ref}
        if 'ThisDN' in req:
            ev['ThisDN'] = req['ThisDN']
        return [ev]
    return [{'event': 'EventError', **ref, 'ErrorCode': 53,
             'ErrorMessage': f'unknown request {name}'}]


class Result:
    def __init__(self, rc, out, err, seconds):
        self.rc, self.err, self.seconds = rc, err, seconds
        self.lines = out.splitlines()
        self.events = [json.loads(x) for x in self.lines]

    def names(self):
        return [e['event'] for e in self.events]

    def __str__(self):
        return (f'exit {self.rc} after {self.seconds:.2f} s\nstdout:\n' +
                '\n'.join(self.lines) + f'\nstderr:\n{self.err}')


def tlibctl(port, *args, stdin_lines=(), keep_stdin=False):
    """Run tlibctl; stdin gets the lines, then EOF unless keep_stdin (the
    pipe then stays open until tlibctl exits)."""
    cmd = [tlibctl_binary(), '--port', str(port), *args]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        proc.stdin.write(''.join(x + '\n' for x in stdin_lines))
        proc.stdin.flush()
        if not keep_stdin:
            proc.stdin.close()
        rc = proc.wait(timeout=RUN_DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return Result(rc, out, err, time.monotonic() - start)


def request_lines(run, srv):
    srv.reset()
    res = tlibctl(run.ports.tlib, '--register', '1001', '--app', 'desk',
                  '--password', 'pw', stdin_lines=[
                      '# a comment, then a blank line',
                      '',
                      'TMakeCall ThisDN=1001 OtherDN=1002 '
                      'Extensions.music=/x.wav UserData.p:=5 '
                      'UserData.note="two words"',
                      '{"request":"TAnswerCall","ThisDN":"1002",'
                      '"ConnID":"00000000000000a1"}',
                      'THoldCall ReferenceID=50 ThisDN=1001 ConnID=a1',
                      'TReleaseCall ThisDN=1001 ConnID=a1',
                  ])
    check(res.rc == 0, f'expected exit 0 when all are answered: {res}')
    want = [
        {'request': 'TOpenServer', 'ReferenceID': 1,
         'ApplicationName': 'desk', 'Password': 'pw'},
        {'request': 'TRegisterAddress', 'ReferenceID': 2,
         'ThisDN': '1001', 'RegisterMode': 'ModeShare'},
        {'request': 'TMakeCall', 'ReferenceID': 3, 'ThisDN': '1001',
         'OtherDN': '1002', 'Extensions': {'music': '/x.wav'},
         'UserData': {'p': 5, 'note': 'two words'}},
        {'request': 'TAnswerCall', 'ReferenceID': 4, 'ThisDN': '1002',
         'ConnID': '00000000000000a1'},
        {'request': 'THoldCall', 'ReferenceID': 50, 'ThisDN': '1001',
         'ConnID': 'a1'},
        {'request': 'TReleaseCall', 'ReferenceID': 51, 'ThisDN': '1001',
         'ConnID': 'a1'},
    ]
    check(srv.requests == want, f'requests sent:\n{srv.requests}\n'
          f'wanted:\n{want}')
    # Types, not only values: json.loads keeps int and str apart, and
    # == on dicts compares 5 and "5" as different; check it anyway.
    check(isinstance(srv.requests[2]['UserData']['p'], int),
          'UserData.p:=5 not sent as an integer')
    names = ['EventLinkConnected', 'EventServerConnected', 'EventRegistered',
             'EventDialing', 'EventEstablished', 'EventHeld',
             'EventReleased']
    check(res.names() == names, f'events printed: {res.names()}')
    check([e.get('ReferenceID') for e in res.events[1:]] ==
          [1, 2, 3, 4, 50, 51], f'ReferenceIDs of the answers: {res}')


def prints_in_order(run, srv):
    """Events nobody asked for are printed too, in arrival order, and
    --count ends the run."""
    unsolicited = [{'event': 'EventRinging', 'ThisDN': '1001',
                    'ConnID': f'{i:016x}'} for i in range(5)]
    srv.reset(after_open=unsolicited)
    res = tlibctl(run.ports.tlib, '--count', '5', '--timeout', '3000',
                  keep_stdin=True)
    check(res.rc == 0, f'--count 5: {res}')
    check([e.get('ConnID') for e in res.events[2:]] ==
          [f'{i:016x}' for i in range(5)], f'order: {res}')
    seqs = [e['EventSequenceNumber'] for e in res.events]
    check(seqs == sorted(seqs), f'sequence numbers out of order: {seqs}')


def wait_match(run, srv):
    """--wait exits 0 at the match, with stdin still open."""
    srv.reset(after_open=[
        {'event': 'EventRinging', 'ThisDN': '1002', 'ConnID': 'c1'},
        {'event': 'EventEstablished', 'ThisDN': '1001', 'ConnID': 'c1'},
        {'event': 'EventEstablished', 'ThisDN': '1002', 'ConnID': 'c1',
         'Extensions': {'music': '/a b.wav'}},
    ])
    res = tlibctl(run.ports.tlib, '--wait',
                  'EventEstablished ThisDN=1002 ConnID=c1 '
                  'Extensions.music="/a b.wav"', '--timeout', '5000',
                  keep_stdin=True)
    check(res.rc == 0, f'--wait should match: {res}')
    check(res.names()[-1] == 'EventEstablished' and
          res.events[-1]['ThisDN'] == '1002', f'last event printed: {res}')
    check(res.seconds < 3, f'took {res.seconds:.2f} s for a match that '
          f'came at once')


def wait_timeout(run, srv):
    srv.reset(after_open=[{'event': 'EventRinging', 'ThisDN': '1002'}])
    res = tlibctl(run.ports.tlib, '--wait', 'EventEstablished',
                  '--timeout', '500', stdin_lines=['TMakeCall ThisDN=1001 '
                                                   'OtherDN=1002'])
    check(res.rc == 3, f'expected exit 3 (timeout): {res}')
    check(0.4 <= res.seconds < 3, f'--timeout 500 took {res.seconds:.2f} s')
    check('EventDialing' in res.names(), f'events still printed: {res}')


def error_event(run, srv):
    srv.reset()
    res = tlibctl(run.ports.tlib, '--timeout', '3000', stdin_lines=[
        'TMakeCall ThisDN=1001 OtherDN=1002', 'TNoSuchThing ThisDN=1001'])
    check(res.rc == 4, f'expected exit 4 (EventError): {res}')
    err = res.events[-1]
    check(err['event'] == 'EventError' and err['ErrorCode'] == 53 and
          err['ReferenceID'] == 3, f'EventError printed last: {res}')
    check('EventError 53' in res.err, f'stderr names the error: {res}')

    # --wait for the error itself: that is success.
    srv.reset()
    res = tlibctl(run.ports.tlib, '--wait', 'EventError ErrorCode=53',
                  stdin_lines=['TNoSuchThing'])
    check(res.rc == 0, f'--wait EventError: {res}')


def open_refused(run, srv):
    def refuse(req):
        return [{'event': 'EventError', 'ReferenceID': req['ReferenceID'],
                 'ErrorCode': 41, 'ErrorMessage': 'wrong password'}]
    srv.reset(script=refuse, close_after_open=True)
    res = tlibctl(run.ports.tlib, '--password', 'bad', '--timeout', '3000')
    check(res.rc == 4, f'expected exit 4 (EventError 41): {res}')
    check(res.names() == ['EventLinkConnected', 'EventError'],
          f'events: {res}')
    check('41' in res.err and 'wrong password' in res.err, f'stderr: {res}')


def connection_errors(run, srv):
    res = tlibctl(run.ports.client(0), '--timeout', '3000')
    check(res.rc == 1, f'nobody listening: expected exit 1: {res}')

    srv.reset(close_after_open=True)
    res = tlibctl(run.ports.tlib, '--wait', 'EventNever', '--timeout',
                  '3000', keep_stdin=True)
    check(res.rc == 1, f'server closed: expected exit 1: {res}')

    srv.reset(greeting={'event': 'EventLinkConnected',
                        'ProtocolVersion': 'tlib/9'})
    res = tlibctl(run.ports.tlib, '--timeout', '3000')
    check(res.rc == 1, f'wrong protocol version: expected exit 1: {res}')


def usage(run, srv):
    srv.reset()
    for args in (['--bogus'], ['--port', 'x'], ['--count', '0'],
                 ['--wait', 'EventA ThisDN'], ['extra']):
        res = tlibctl(run.ports.tlib, *args)
        check(res.rc == 2, f'{args}: expected exit 2: {res}')
    res = tlibctl(run.ports.tlib, '--timeout', '3000',
                  stdin_lines=['TMakeCall ThisDN'])
    check(res.rc == 2, f'bad request line: expected exit 2: {res}')
    res = subprocess.run([tlibctl_binary(), '--help'], capture_output=True,
                         text=True, timeout=RUN_DEADLINE)
    check(res.returncode == 0 and 'Exit status' in res.stdout,
          f'--help: exit {res.returncode}, {res.stdout!r}')


def body(run):
    srv = FakeServer(run.ports.tlib)
    try:
        run.step('request lines -> JSON, answers printed, exit 0',
                 request_lines, run, srv)
        run.step('unsolicited events printed in order; --count',
                 prints_in_order, run, srv)
        run.step('--wait matches before stdin EOF: exit 0', wait_match,
                 run, srv)
        run.step('--wait times out: exit 3', wait_timeout, run, srv)
        run.step('EventError to our request: exit 4', error_event, run, srv)
        run.step('TOpenServer refused (41): exit 4', open_refused, run, srv)
        run.step('connection errors: exit 1', connection_errors, run, srv)
        run.step('usage errors: exit 2', usage, run, srv)
    finally:
        srv.close()


if __name__ == '__main__':
    sys.exit(main('tlibctl', body))
