#!/usr/bin/env python3
"""End-to-end test of SIP over TLS (sip-tls-port, tls-certificate).

    python3 tests/e2e/test_tls.py

Why: a phone registering over TLS must get the same registrar as over
UDP/TCP, and a certificate file that cannot be loaded must stop start-up
(exit 2) instead of leaving the TLS port silently closed.
Checks: REGISTER over TLS -> 200 listing a transport=tls contact; unknown
DN over TLS -> 403; --check-config with a PEM lacking the key -> 2 naming
tls-certificate; SIGTERM -> 0.
"""

import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    make_cert,
    Server, build_request, check, config_text, main, server_binary,
    write_file)

DEADLINE = 5


def tls_request(port, data):
    """Send one request over a fresh TLS connection; the reply's text."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(('127.0.0.1', port), DEADLINE) as raw:
        with ctx.wrap_socket(raw) as conn:
            conn.settimeout(DEADLINE)
            conn.sendall(data)
            reply = b''
            while b'\r\n\r\n' not in reply:
                chunk = conn.recv(4096)
                check(chunk, 'TLS connection closed before a reply')
                reply += chunk
            return reply.decode(errors='replace')


def register(run, tls_port, user):
    local = run.ports.client(1)
    data = build_request('REGISTER', run.ports, 'tls', local, user=user,
                         headers=[f'Contact: <sip:{user}@127.0.0.1:{local};'
                                  f'transport=tls>'])

    return tls_request(tls_port, data)


def check_register(run, tls_port):
    reply = register(run, tls_port, '1001')
    check(reply.startswith('SIP/2.0 200'), f'REGISTER over TLS:\n{reply}')
    check('transport=tls' in reply, f'no TLS contact listed:\n{reply}')


def check_unknown(run, tls_port):
    reply = register(run, tls_port, '9999')
    check(reply.startswith('SIP/2.0 403'), f'unknown DN over TLS:\n{reply}')


def check_bad_cert(run, crt_only):
    conf = write_file(run.path('bad.conf'), config_text(
        run.ports, run.src, sip_tls_port=run.ports.base + 9,
        tls_certificate=crt_only))
    proc = subprocess.run([server_binary(), '--check-config', conf],
                          capture_output=True, text=True, timeout=10)
    check(proc.returncode == 2, f'exit {proc.returncode}, expected 2')
    check('tls-certificate' in proc.stderr and 'private key' in proc.stderr,
          f'message does not name the problem:\n{proc.stderr}')


def body(run):
    both, crt = make_cert(run)
    tls_port = run.ports.base + 9
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, sip_tls_port=tls_port, tls_certificate=both))
    server = Server(run, conf).start()
    run.step('REGISTER over TLS -> 200', check_register, run, tls_port)
    run.step('unknown DN over TLS -> 403', check_unknown, run, tls_port)
    run.step('certificate without key -> exit 2', check_bad_cert, run, crt)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('tls', body))
