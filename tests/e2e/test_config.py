#!/usr/bin/env python3
"""End-to-end test of configuration handling: command line, validation,
refusal to start, and SIGHUP reload.

    python3 tests/e2e/test_config.py

Why: an operator's typo must be reported precisely (FILE:LINE: [SECTION]
OPTION: reason) and must never leave a half-configured server running,
neither at start (exit status 2, no port bound) nor on reload (the old
configuration stays); a valid reload must take effect without a restart
(new DN registers, a removed DN loses its bindings).
Checks: --version/--help exit 0; --check-config exits 0 on the valid test
config and 2 on each broken one, naming line and option; start with a
broken file exits 2 and leaves the SIP port free; SIGHUP adds DN 1003,
rejects a broken file (old config kept), removes DN 1001; SIGTERM -> 0.
"""

import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    Server, SipClient, TestFailure, check, config_text, contact_uri, main,
    poll, port_is_free, server_binary, write_file)

PASSWORD = 'secret'
BASE_DNS = {'1001': {}, '1002': {'password': PASSWORD}}
CMD_DEADLINE = 10


def run_cmd(args):
    """Run the server binary with args; (exit status, stdout + stderr)."""
    try:
        proc = subprocess.run([server_binary(), *args],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=CMD_DEADLINE)
    except subprocess.TimeoutExpired:
        raise TestFailure(f'{" ".join(args)} did not exit within '
                             f'{CMD_DEADLINE} s')
    out = proc.stdout.decode(errors='replace')
    return proc.returncode, out + proc.stderr.decode(errors='replace')


def line_of(text, needle):
    """1-based number of the first line of text that starts with needle."""
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith(needle):
            return no
    raise AssertionError(f'test bug: {needle!r} not in the config')


def broken_configs(run):
    """(name, text, line, option) of each broken config: the message must
    name FILE:LINE and the option (or section)."""
    p, s = run.ports, run.src
    cases = []

    def add(name, text, needle, option):
        cases.append((name, text, line_of(text, needle), option))

    text = config_text(p, s, BASE_DNS) + '\n[foo]\nx = 1\n'
    add('unknown section [foo]', text, '[foo]', 'foo')
    text = config_text(p, s, BASE_DNS, bogus=1)
    add('unknown option bogus', text, 'bogus', 'bogus')
    text = config_text(p, s, BASE_DNS, sip_port='abc')
    add('sip-port = abc', text, 'sip-port', 'sip-port')
    text = config_text(p, s, BASE_DNS, sip_port=70000)
    add('sip-port = 70000', text, 'sip-port', 'sip-port')
    text = config_text(p, s, BASE_DNS, log_level='loud')
    add('log-level = loud', text, 'log-level', 'log-level')
    text = config_text(p, s, BASE_DNS, default_music='/nonexistent')
    add('default-music = /nonexistent', text, 'default-music',
        'default-music')
    dns = dict(BASE_DNS, **{'1001': {'type': 'Phone'}})
    text = config_text(p, s, dns)
    add('[dn:1001] type = Phone', text, 'type = Phone', 'type')
    return cases


def check_message(out, path, line, option):
    pattern = rf'{re.escape(path)}:{line}:.*{re.escape(option)}'
    check(re.search(pattern, out), f'message should match /{pattern}/ '
          f'(FILE:LINE: [SECTION] OPTION: reason); got:\n{out}')


def check_cli(args):
    code, out = run_cmd(args)
    check(code == 0, f'{" ".join(args)} exited {code}, expected 0:\n{out}')
    check(out.strip(), f'{" ".join(args)} printed nothing')


def check_valid(path):
    code, out = run_cmd(['--check-config', path])
    check(code == 0, f'--check-config on the valid test config exited '
          f'{code}, expected 0:\n{out}')


def check_broken(run, idx, text, line, option):
    path = write_file(run.path(f'broken-{idx}.conf'), text)
    code, out = run_cmd(['--check-config', path])
    check(code == 2, f'--check-config exited {code}, expected 2:\n{out}')
    check_message(out, path, line, option)


def check_start_broken(run):
    text = config_text(run.ports, run.src, BASE_DNS, log_level='loud')
    path = write_file(run.path('start-broken.conf'), text)
    code, out = run_cmd(['-c', path])
    check(code == 2, f'-c with log-level = loud exited {code}, expected 2:'
          f'\n{out}')
    check_message(out, path, line_of(text, 'log-level'), 'log-level')
    for kind, name in ((socket.SOCK_DGRAM, 'udp'),
                       (socket.SOCK_STREAM, 'tcp')):
        check(port_is_free(run.ports.sip, kind), f'{name} port '
              f'{run.ports.sip} is still bound after the failed start')


def register_status(client, dn, password=None):
    contact = f'<{contact_uri(dn, client.local_port, "udp")}>'
    resp = client.register(dn, [contact], expires=300, password=password)
    return resp.status if resp else None


def query_status(client, dn):
    resp = client.register(dn)
    return resp.status if resp else None


def reload_and_wait(server, client, dn, status):
    server.reload()
    got = poll(lambda: register_status(client, dn) == status, 5, 0.1)
    check(got, f'after SIGHUP, REGISTER {dn} got '
          f'{register_status(client, dn)}, expected {status}')


def check_reload_add(run, server, client, conf):
    check(register_status(client, '1003') == 403,
          'REGISTER 1003 should get 403 before it is configured')
    dns = dict(BASE_DNS, **{'1003': {}})
    write_file(conf, config_text(run.ports, run.src, dns))
    reload_and_wait(server, client, '1003', 200)


def check_reload_broken(run, server, client, conf):
    """A broken file (bad option, 1003 dropped, 1004 added) is rejected
    whole: 1003 keeps working, 1004 stays unknown."""
    dns = dict(BASE_DNS, **{'1004': {}})
    text = config_text(run.ports, run.src, dns, log_level='loud')
    write_file(conf, text)
    mark = server.log_mark()
    server.reload()
    line = line_of(text, 'log-level')
    server.wait_log(rf'{re.escape(conf)}:{line}:.*log-level', 5, mark)
    server.check_alive()
    status = register_status(client, '1003')
    check(status == 200, f'after a rejected reload REGISTER 1003 got '
          f'{status}, expected 200 (old config kept)')
    status = register_status(client, '1004')
    check(status == 403, f'after a rejected reload REGISTER 1004 (only in '
          f'the broken file) got {status}, expected 403')


def check_reload_remove(run, server, client, conf):
    check(register_status(client, '1001') == 200, 'REGISTER 1001 failed')
    check(client.bindings('1001'), '1001 has no binding after REGISTER')
    dns = {'1002': {'password': PASSWORD}, '1003': {}}
    write_file(conf, config_text(run.ports, run.src, dns))
    server.reload()
    gone = poll(lambda: query_status(client, '1001') == 403, 5, 0.1)
    check(gone, f'after removing [dn:1001] and SIGHUP, a query for 1001 '
          f'got {query_status(client, "1001")}, expected 403')
    status = register_status(client, '1002', PASSWORD)
    check(status == 200, f'after the reload REGISTER 1002 (digest) got '
          f'{status}, expected 200')


def body(run):
    run.step('--version exits 0', check_cli, ['--version'])
    run.step('--help exits 0', check_cli, ['--help'])
    conf = write_file(run.path('sipserver.conf'),
                      config_text(run.ports, run.src, BASE_DNS))
    run.step('--check-config valid -> 0', check_valid, conf)
    for idx, (name, text, line, option) in enumerate(broken_configs(run)):
        run.step(f'--check-config {name} -> 2, names line {line}',
                 check_broken, run, idx, text, line, option)
    run.step('start with a broken file -> 2, port free',
             check_start_broken, run)
    server = Server(run, conf).start()
    client = SipClient(run.ports, 'udp')
    run.step('SIGHUP adds [dn:1003]', check_reload_add, run, server,
             client, conf)
    run.step('SIGHUP with a broken file keeps the old config',
             check_reload_broken, run, server, client, conf)
    run.step('SIGHUP removing [dn:1001] drops its binding',
             check_reload_remove, run, server, client, conf)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('config', body))
