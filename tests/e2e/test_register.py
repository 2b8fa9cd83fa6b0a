#!/usr/bin/env python3
"""End-to-end test of the registrar over one transport (udp or tcp).

    python3 tests/e2e/test_register.py udp|tcp

Why: registration is what every phone does first; this checks the contract
of the real binary with a real SIP stack (SIPp) and a raw client:
- no password -> 200 listing the binding; password -> 401 Digest challenge,
  right answer -> 200, wrong password -> 403; unknown DN -> 403 + Warning;
  an unknown nonce -> 401;
- bindings: several per DN, Expires 0 removes one, Contact: * removes all,
  a query (no Contact) lists them, granted expiry = min(requested, 3600)
  with the ;expires param winning over the header, a binding that is not
  refreshed disappears after its expiry;
- OPTIONS -> 200 with Allow, SUBSCRIBE/MESSAGE -> 405 with Allow, FOO -> 501;
- SIGTERM -> exit status 0 (ASan build: no leaks).
DNs of the config: 1001 (free, several contacts), 1002 (password),
1003 (unregister), 1004 (expiry), 1005 (expiry rules); 9999 is unknown.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    SipClient, Server, assert_sipp, check, config_text, contact_uri,
    find_binding, main, poll, transport_arg, write_file)

PASSWORD = 'secret'
DNS = {'1001': {}, '1002': {'password': PASSWORD}, '1003': {},
       '1004': {}, '1005': {}}


def check_options(client):
    resp = client.expect(200, 'OPTIONS', client.request('OPTIONS'))
    check(resp.header('allow'), f'OPTIONS 200 has no Allow header:\n{resp}')


def check_unsupported(client):
    for method in ('SUBSCRIBE', 'MESSAGE'):
        resp = client.expect(405, method, client.request(method))
        check(resp.header('allow'), f'{method} 405 has no Allow:\n{resp}')
    client.expect(501, 'unknown method FOO', client.request('FOO'))


def sipp_register(run, tp, dn, scen='register_noauth.xml', extra=()):
    """Register dn with SIPp from a fresh port; returns that port."""
    port = run.ports.fresh()
    assert_sipp(run, scen, dn, tp, port, extra)
    return port


def listed(client, dn, port, password=None):
    """The expires of dn's binding at 127.0.0.1:port, or None if absent."""
    bindings = client.bindings(dn, password)
    uri = find_binding(bindings, port)
    return (uri, bindings[uri]) if uri else None


def check_two_contacts(run, tp, client):
    port_a = sipp_register(run, tp, '1001')
    port_b = sipp_register(run, tp, '1001')
    bindings = client.bindings('1001')
    for port in (port_a, port_b):
        uri = find_binding(bindings, port)
        check(uri, f'1001: no binding for 127.0.0.1:{port} in {bindings}')
        exp = bindings[uri]
        check(exp is not None and 3500 <= exp <= 3600,
              f'1001: {uri} listed with expires={exp}, expected ~3600')


def check_star_clears(client):
    resp = client.expect(200, 'REGISTER 1001 Contact: * Expires: 0',
                         client.register('1001', ['*'], expires=0))
    check(not resp.contacts(), f'200 after Contact: * still lists '
          f'{resp.contacts()}')
    bindings = client.bindings('1001')
    check(not bindings, f'1001 still has bindings after Contact: *: '
          f'{bindings}')


def check_auth(run, tp, client):
    port = sipp_register(run, tp, '1002', 'register_auth.xml',
                         ['-au', '1002', '-ap', PASSWORD])
    check(listed(client, '1002', port, PASSWORD),
          f'1002 registered from port {port} but not listed by a query')


def check_wrong_password(run, tp):
    sipp_register(run, tp, '1002', 'register_wrongpass.xml',
                  ['-au', '1002', '-ap', 'not-' + PASSWORD])


def check_raw_digest(client):
    """Our own digest computation against the server's challenge."""
    contact = f'<{contact_uri("1002", 5999, client.transport)}>'
    resp = client.expect(401, 'REGISTER 1002 without Authorization',
                         client.register('1002', [contact], expires=60))
    chal = resp.header('www-authenticate') or ''
    for part in ('Digest', 'realm="Home"', 'nonce="', 'algorithm=MD5',
                 'qop="auth"'):
        check(part in chal, f'WWW-Authenticate lacks {part}: {chal!r}')
    client.expect(200, 'REGISTER 1002 with digest (raw client)',
                  client.register('1002', [contact], expires=60,
                                  password=PASSWORD))


def check_garbage_nonce(client):
    auth = ('Digest username="1002", realm="Home", nonce="garbage0nonce", '
            f'uri="{client.request_uri}", '
            'response="00000000000000000000000000000000", algorithm=MD5, '
            'qop=auth, nc=00000001, cnonce="abc"')
    client.expect(401, 'REGISTER 1002 with an unknown nonce',
                  client.register('1002', expires=60,
                                  extra=[f'Authorization: {auth}']))


def check_unknown(run, tp, client):
    sipp_register(run, tp, '9999', 'register_unknown.xml')
    resp = client.expect(403, 'REGISTER unknown DN 9999 (raw)',
                         client.register('9999'))
    warning = resp.header('warning') or ''
    check(warning.startswith('399 ') and '9999' in warning,
          f'403 for 9999: Warning should be 399 naming the DN, got '
          f'{warning!r}')


def check_unregister(run, tp, client):
    port = sipp_register(run, tp, '1003', 'unregister.xml')
    check(not listed(client, '1003', port),
          f'1003: binding for port {port} still listed after Expires: 0')


def check_expiry(run, tp, client):
    port = sipp_register(run, tp, '1004', 'register_expires.xml',
                         ['-key', 'expires', '2'])
    start = time.monotonic()
    first = listed(client, '1004', port)
    check(first, f'1004: binding for port {port} not listed right after '
          f'REGISTER with Expires: 2')
    check(first[1] is not None and first[1] <= 2,
          f'1004: listed with expires={first[1]}, expected <= 2')
    # Time passing is what is tested here: poll until it is gone.
    gone = poll(lambda: not listed(client, '1004', port), 10, 0.2)
    lasted = time.monotonic() - start
    check(gone, f'1004: binding with Expires: 2 still listed after '
          f'{lasted:.1f} s')
    check(lasted >= 1.5, f'1004: binding with Expires: 2 vanished after '
          f'only {lasted:.2f} s')


def check_expires_rules(client):
    """Granted = min(requested, 3600), the ;expires param wins."""
    tp = client.transport
    uri_a = contact_uri('1005', 5901, tp)
    uri_b = contact_uri('1005', 5902, tp)
    client.expect(200, 'REGISTER 1005 ;expires=120 with Expires: 600',
                  client.register('1005', [f'<{uri_a}>;expires=120'],
                                  expires=600))
    client.expect(200, 'REGISTER 1005 Expires: 7200',
                  client.register('1005', [f'<{uri_b}>'], expires=7200))
    bindings = client.bindings('1005')
    a, b = find_binding(bindings, 5901), find_binding(bindings, 5902)
    check(a and b, f'1005: expected bindings for ports 5901 and 5902, got '
          f'{bindings}')
    check(bindings[a] is not None and 100 <= bindings[a] <= 120,
          f'1005: ;expires=120 beside Expires: 600 granted '
          f'{bindings[a]}, expected 120 (param wins)')
    check(bindings[b] is not None and 3500 <= bindings[b] <= 3600,
          f'1005: Expires: 7200 granted {bindings[b]}, expected 3600')
    client.expect(200, 'REGISTER 1005 Contact: * Expires: 0',
                  client.register('1005', ['*'], expires=0))


def body(run):
    tp = transport_arg()
    conf = write_file(run.path('sipserver.conf'),
                      config_text(run.ports, run.src, DNS))
    server = Server(run, conf).start()
    client = SipClient(run.ports, tp)
    run.step(f'{tp}: OPTIONS -> 200 with Allow', check_options, client)
    run.step(f'{tp}: SUBSCRIBE/MESSAGE -> 405, FOO -> 501',
             check_unsupported, client)
    run.step(f'{tp}: sipp no auth x2 -> 200, both contacts listed',
             check_two_contacts, run, tp, client)
    run.step(f'{tp}: Contact: * Expires: 0 clears all of 1001',
             check_star_clears, client)
    run.step(f'{tp}: sipp auth 401 -> 200', check_auth, run, tp, client)
    run.step(f'{tp}: sipp wrong password 401 -> 403',
             check_wrong_password, run, tp)
    run.step(f'{tp}: raw digest 401 -> 200', check_raw_digest, client)
    run.step(f'{tp}: unknown nonce -> 401', check_garbage_nonce, client)
    run.step(f'{tp}: unknown DN -> 403 + Warning 399', check_unknown,
             run, tp, client)
    run.step(f'{tp}: sipp unregister (Expires: 0)', check_unregister,
             run, tp, client)
    run.step(f'{tp}: Expires: 2 binding expires', check_expiry,
             run, tp, client)
    run.step(f'{tp}: expires param wins, max 3600', check_expires_rules,
             client)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main(f'register-{transport_arg()}', body))
