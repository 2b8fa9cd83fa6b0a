#!/usr/bin/env python3
"""End-to-end test of the security surface (docs/security.md).

    python3 tests/e2e/test_security.py

Why: an agent desktop on another machine must be able to keep its CTI link
private (TLS), a password guesser must be slowed down without drowning the
log, and no secret may leak to anyone who reads the log, the ops pages or
the CTI events.
Checks, on one server (log-level debug, auth-fail-limit 3, client-password
set, tlib-tls-port with a throwaway certificate from `openssl req -x509`):
- tlib/1 over TLS through `openssl s_client`: EventLinkConnected,
  TOpenServer (with client-password), TRegisterAddress -> EventRegistered;
  through Python's ssl: the same, then TMakeCall 1001 -> 1002 answered with
  EventDialing (a call event) and TReleaseCall -> EventReleased;
- a plain-TCP client on the TLS port gets no tlib/1 byte and is cut off; a
  client that connects and never starts TLS is dropped after 10 s; the TLS
  and plain ports serve new clients afterwards;
- client-password wrong or missing -> EventError 41 and the link closed,
  over TCP and TLS; a broken JSON line carrying the password -> EventError
  53 that does not quote it;
- brute force from 127.0.0.3: 3 wrong passwords -> 401/403 each, then even
  the right password gets 403 "too many" without a challenge, and so does
  an INVITE (no 407), the block logged once however many requests follow;
  127.0.0.1 still registers;
- none of the passwords (right, wrong, client) nor any digest response sent
  appears in the whole log, /status, /metrics, or any CTI event received;
- a TLS certificate that is missing, lacks its key or is not PEM: start-up
  refused (exit 2) with a message naming tls-certificate;
- SIGTERM -> exit status 0.
"""

import http.client
import json
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    make_cert,
    LOOPBACK, Response, Server, TestFailure, build_request, check,
    config_text, digest_authorization, main, server_binary,
    write_file)
from lib.cti import Cti  # noqa: E402

PW_1001 = 'Pw1001-s3cret-A'
PW_1002 = 'Pw1002-s3cret-B'
WRONG = 'Wr0ng-guess-77'
CLIENT_PW = 'Cl1ent-pw-9x'
WRONG_CLIENT = 'Bad-client-pw-3'
LIMIT = 3
DEADLINE = 5.0
HANDSHAKE_MAX = 10.0  # src/tlib/priv.h TSRV_HANDSHAKE_MAX


class Secrets:
    """Everything that must never come back, and everything that came."""

    def __init__(self):
        self.secret = [PW_1001, PW_1002, WRONG, CLIENT_PW, WRONG_CLIENT]
        self.received = []  # (where, text)

    def digest(self, auth):
        self.secret.append(re.search(r'response="([0-9a-f]+)"',
                                     auth).group(1))


def tls_ports(run):
    return run.ports.base + 46


def http_port(run):
    return run.ports.base + 44


# ------------------------------------------------------------------ SIP

def sip_exchange(sock, data, call_id):
    """Send one request on a bound UDP socket; the final Response."""
    sock.sendto(data, (LOOPBACK, PORTS.sip))
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            text = sock.recv(65535).decode(errors='replace')
        except socket.timeout:
            break
        resp = Response(text)
        if resp.status >= 200 and resp.header('call-id') == call_id:
            return resp
    raise TestFailure(f'no reply to {data[:40]!r} within {DEADLINE} s')


def register(secrets, source, port, user, password, contact_port=None):
    """REGISTER user from source:port over UDP, answering a 401 once."""
    cport = contact_port or port
    headers = [f'Contact: <sip:{user}@{LOOPBACK}:{cport}>', 'Expires: 300']
    call_id = f'sec{time.monotonic_ns()}@e2e'
    uri = f'sip:{LOOPBACK}:{PORTS.sip}'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((source, port))
        resp = sip_exchange(sock, build_request(
            'REGISTER', PORTS, 'udp', port, user=user, call_id=call_id,
            headers=headers), call_id)
        if resp.status != 401:
            return resp
        auth = digest_authorization(resp.header('www-authenticate') or '',
                                    user, password, 'REGISTER', uri)
        secrets.digest(auth)
        return sip_exchange(sock, build_request(
            'REGISTER', PORTS, 'udp', port, user=user, call_id=call_id,
            cseq=2, headers=headers + [f'Authorization: {auth}']), call_id)


def expect(resp, status, what, warning=None):
    check(resp.status == status,
          f'{what}: got {resp.status}, expected {status}:\n{resp}')
    if warning:
        got = resp.header('warning') or ''
        check(warning in got, f'{what}: Warning {got!r} lacks {warning!r}')


# ------------------------------------------------------------------ CTI

class TlsCti:
    """A synchronous tlib/1 client over TLS (Python's ssl: one thread, as
    an SSL object must not be read and written at once)."""

    def __init__(self, port, secrets):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((LOOPBACK, port), DEADLINE)
        self.sock = ctx.wrap_socket(raw)
        self.sock.settimeout(DEADLINE)
        self.buf = b''
        self.secrets = secrets
        self.ref = 0
        self.eof = False

    def request(self, name, **attrs):
        self.ref += 1
        self.sock.sendall(json.dumps({'request': name, 'ReferenceID':
                                      self.ref, **attrs}).encode() + b'\n')
        return self.ref

    def wait(self, name, deadline=DEADLINE, **attrs):
        end = time.monotonic() + deadline
        while True:
            while b'\n' in self.buf:
                line, self.buf = self.buf.split(b'\n', 1)
                text = line.decode(errors='replace')
                self.secrets.received.append(('TLS CTI event', text))
                ev = json.loads(text)
                if ev.get('event') == name and all(
                        ev.get(k) == v for k, v in attrs.items()):
                    return ev
            left = end - time.monotonic()
            check(left > 0 and not self.eof,
                  f'TLS: no {name} {attrs} within {deadline:g} s')
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                data = b''
            self.eof = not data
            self.buf += data

    def closed(self, deadline=DEADLINE):
        """True once the server has closed the link."""
        end = time.monotonic() + deadline
        while not self.eof and time.monotonic() < end:
            self.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                data = b''
            self.eof = not data
        return self.eof

    def close(self):
        self.sock.close()


def check_s_client(run, secrets):
    """openssl s_client: the link, TOpenServer, TRegisterAddress."""
    lines = [{'request': 'TOpenServer', 'ReferenceID': 1,
              'ApplicationName': 's_client', 'Password': CLIENT_PW},
             {'request': 'TRegisterAddress', 'ReferenceID': 2,
              'ThisDN': '1002'}]
    proc = subprocess.Popen(
        ['openssl', 's_client', '-quiet', '-connect',
         f'{LOOPBACK}:{tls_ports(run)}'], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        proc.stdin.write(''.join(json.dumps(x) + '\n'
                                 for x in lines).encode())
        proc.stdin.flush()
        out, end = b'', time.monotonic() + DEADLINE
        while b'EventRegistered' not in out and time.monotonic() < end:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
    finally:
        proc.kill()
        proc.wait()
    text = out.decode(errors='replace')
    secrets.received.append(('s_client events', text))
    events = [json.loads(x)['event'] for x in text.splitlines() if x]
    check(events[:3] == ['EventLinkConnected', 'EventServerConnected',
                         'EventRegistered'],
          f's_client: events {events}, expected EventLinkConnected, '
          f'EventServerConnected, EventRegistered:\n{text}')


def check_tls_call(run, secrets):
    """Python ssl: TOpenServer, TRegisterAddress, TMakeCall -> EventDialing
    (1001's phone, a bound UDP socket here, gets the INVITE), release."""
    expect(register(secrets, LOOPBACK, run.ports.client(2), '1001',
                    PW_1001), 200, 'REGISTER 1001 (right password)')
    expect(register(secrets, LOOPBACK, run.ports.client(5), '1002',
                    PW_1002), 200, 'REGISTER 1002 (right password)')
    expect(register(secrets, LOOPBACK, run.ports.client(6), '1002', WRONG),
           403, 'REGISTER 1002 (wrong password)', 'wrong user name')
    # 1001's phone: it hears the INVITE and never answers
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        phone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        phone.bind((LOOPBACK, run.ports.client(2)))
        cti = TlsCti(tls_ports(run), secrets)
        try:
            cti.wait('EventLinkConnected')
            ref = cti.request('TOpenServer', ApplicationName='tls',
                              Password=CLIENT_PW)
            cti.wait('EventServerConnected', ReferenceID=ref)
            ref = cti.request('TRegisterAddress', ThisDN='1001')
            cti.wait('EventRegistered', ReferenceID=ref)
            ref = cti.request('TMakeCall', ThisDN='1001', OtherDN='1002')
            ev = cti.wait('EventDialing', ReferenceID=ref)
            check(re.fullmatch(r'[0-9a-f]{16}', ev.get('ConnID', '')),
                  f'EventDialing without a ConnID: {ev}')
            ref = cti.request('TReleaseCall', ThisDN='1001',
                              ConnID=ev['ConnID'])
            cti.wait('EventReleased', ConnID=ev['ConnID'])
        finally:
            cti.close()


def check_plain_on_tls(run, secrets):
    """A plain-TCP tlib/1 client on the TLS port: no event, cut off."""
    line = json.dumps({'request': 'TOpenServer', 'ReferenceID': 1,
                       'ApplicationName': 'plain', 'Password': CLIENT_PW})
    data = b''
    with socket.create_connection((LOOPBACK, tls_ports(run)), DEADLINE) as s:
        s.sendall(line.encode() + b'\n')
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionError:
                chunk = b''
            if not chunk:
                break
            data += chunk
        else:
            raise TestFailure('plain TCP on the TLS port: not closed')
    secrets.received.append(('plain on TLS port', data.decode(
        errors='replace')))
    check(b'Event' not in data and b'{' not in data,
          f'plain TCP on the TLS port got tlib/1 bytes: {data!r}')


def check_idle_dropped(idle):
    """The connection opened at the start, which never started TLS."""
    idle.settimeout(HANDSHAKE_MAX + 5)
    start = time.monotonic()
    try:
        data = idle.recv(65536)
    except ConnectionError:
        data = b''
    check(data == b'', f'idle connection got {data!r}')
    check(time.monotonic() - start < HANDSHAKE_MAX + 5,
          'idle connection not dropped')


def check_still_serving(run, secrets):
    cti = TlsCti(tls_ports(run), secrets)
    try:
        cti.wait('EventLinkConnected')
    finally:
        cti.close()
    plain = Cti(run.ports.tlib, 'after', CLIENT_PW)
    secrets.received.append(('plain CTI events', '\n'.join(plain.seen)))
    plain.close()


def check_client_password(run, secrets, cti_plain):
    """Wrong and missing client-password: EventError 41, link closed."""
    for attrs in ({'Password': WRONG_CLIENT}, {}):
        cti = TlsCti(tls_ports(run), secrets)
        try:
            cti.wait('EventLinkConnected')
            ref = cti.request('TOpenServer', ApplicationName='bad', **attrs)
            cti.wait('EventError', ReferenceID=ref, ErrorCode=41)
            check(cti.closed(), f'TLS link open after {attrs or "none"}')
        finally:
            cti.close()
    with socket.create_connection((LOOPBACK, run.ports.tlib), 5) as s:
        s.sendall(json.dumps({'request': 'TOpenServer', 'ReferenceID': 1,
                              'ApplicationName': 'bad',
                              'Password': WRONG_CLIENT}).encode() + b'\n')
        s.settimeout(DEADLINE)
        data = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    text = data.decode(errors='replace')
    secrets.received.append(('wrong client-password (TCP)', text))
    check('"ErrorCode": 41' in text or '"ErrorCode":41' in text,
          f'wrong client-password over TCP: {text}')
    # a broken line carrying the password: jansson's message would quote
    # the token it stumbled on
    cti_plain.send_line('{"request": "TOpenServer", "ReferenceID": 9, '
                        f'"Password": {CLIENT_PW}}}')
    ev = cti_plain.wait('EventError', ErrorCode=53)
    check(CLIENT_PW not in json.dumps(ev), f'EventError quotes it: {ev}')


def check_brute_force(run, server, secrets):
    src, port = '127.0.0.3', run.ports.client(3)
    mark = server.log_mark()
    for i in range(LIMIT):
        expect(register(secrets, src, port, '1002', WRONG), 403,
               f'{src} wrong password #{i + 1}', 'wrong user name')
    for i in range(5):
        resp = register(secrets, src, port, '1002', PW_1002)
        expect(resp, 403, f'{src} right password once blocked #{i + 1}',
               'too many failed authentications')
    # a call from the blocked address is refused the same way (no 407)
    call_id = f'inv{time.monotonic_ns()}@e2e'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((src, port))
        expect(sip_exchange(sock, build_request(
            'INVITE', PORTS, 'udp', port, user='1002', to_user='1001',
            uri_user='1001', call_id=call_id,
            headers=[f'Contact: <sip:1002@{src}:{port}>']), call_id),
            403, f'INVITE from {src} once blocked',
            'too many failed authentications')
    server.wait_log(r'auth-fail-limit', DEADLINE, mark)
    time.sleep(0.3)
    log = server.log_text(mark)
    blocks = [x for x in log.splitlines() if 'auth-fail-limit' in x]
    check(len(blocks) == 1 and src in blocks[0],
          f'the block should be logged once, naming {src}: {blocks}')
    refused = [x for x in log.splitlines() if 'refused:' in x and src in x]
    check(len(refused) == LIMIT,
          f'{len(refused)} refusals from {src} logged, expected {LIMIT} '
          f'(the blocked ones unlogged):\n' + '\n'.join(refused))
    expect(register(secrets, LOOPBACK, run.ports.client(4), '1002', PW_1002),
           200, 'another address (127.0.0.1), right password')


def fetch(run, path):
    conn = http.client.HTTPConnection(LOOPBACK, http_port(run), timeout=5)
    try:
        conn.request('GET', path)
        resp = conn.getresponse()
        body = resp.read().decode(errors='replace')
        check(resp.status == 200, f'GET {path}: {resp.status}')
        return body
    finally:
        conn.close()


def check_no_secret(run, server, secrets, cti_plain):
    secrets.received.append(('/status', fetch(run, '/status')))
    secrets.received.append(('/metrics', fetch(run, '/metrics')))
    secrets.received.append(('plain CTI events', '\n'.join(cti_plain.seen)))
    secrets.received.append(('log', server.log_text()))
    check(len(secrets.secret) > 8, f'too few digests: {secrets.secret}')
    leaks = [f'{s!r} in {where}' for s in secrets.secret
             for where, text in secrets.received if s in text]
    check(not leaks, 'secrets found: ' + '; '.join(leaks))


def check_bad_cert(run, crt_only):
    garbage = write_file(run.path('garbage.pem'), 'not a certificate\n')
    for cert, says in ((crt_only, 'private key'),
                       (run.path('missing.pem'), 'cannot read'),
                       (garbage, 'tls-certificate')):
        conf = write_file(run.path('bad.conf'), config_text(
            run.ports, run.src, tlib_tls_port=tls_ports(run) + 1,
            tls_certificate=cert))
        proc = subprocess.run([server_binary(), '-c', conf],
                              capture_output=True, text=True, timeout=20)
        check(proc.returncode == 2, f'{cert}: exit {proc.returncode}, '
              f'expected 2:\n{proc.stderr[-800:]}')
        check('tls-certificate' in proc.stderr and says in proc.stderr,
              f'{cert}: message lacks tls-certificate / {says!r}:\n'
              f'{proc.stderr[-800:]}')


PORTS = None


def body(run):
    global PORTS
    PORTS = run.ports
    both, crt = make_cert(run)
    secrets = Secrets()
    dns = {'1001': {'password': PW_1001}, '1002': {'password': PW_1002}}
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, dns, tlib_tls_port=tls_ports(run),
        tls_certificate=both, client_password=CLIENT_PW,
        auth_fail_limit=LIMIT, http_port=http_port(run),
        log_level='debug'))
    server = Server(run, conf).start()
    idle = socket.create_connection((LOOPBACK, tls_ports(run)), DEADLINE)
    cti_plain = Cti(run.ports.tlib, 'plain', CLIENT_PW)
    run.step('s_client: TOpenServer, TRegisterAddress over TLS',
             check_s_client, run, secrets)
    run.step('ssl: TMakeCall -> EventDialing, TReleaseCall over TLS',
             check_tls_call, run, secrets)
    run.step('plain TCP on the TLS port: nothing, cut off',
             check_plain_on_tls, run, secrets)
    run.step('client-password wrong/missing -> 41, closed; bad line -> 53',
             check_client_password, run, secrets, cti_plain)
    run.step('no TLS handshake within 10 s -> dropped', check_idle_dropped,
             idle)
    run.step('TLS and TCP ports still serve', check_still_serving, run,
             secrets)
    run.step(f'auth-fail-limit {LIMIT}: 403 unchecked, logged once, '
             'others unaffected', check_brute_force, run, server, secrets)
    run.step('no password or digest in log, /status, /metrics, events',
             check_no_secret, run, server, secrets, cti_plain)
    run.step('bad tls-certificate -> refused at start (exit 2)',
             check_bad_cert, run, crt)
    idle.close()
    cti_plain.close()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('security', body))
