#!/usr/bin/env python3
"""The service install: `cmake --install` into a temporary prefix, the tree
it makes, and the installed server run as systemd would run it.

    SIPSERVER_BUILD=build CMAKE=cmake python3 tests/e2e/test_install.py

Why: the install is what an operator gets (docs/operations.md), and the
paths in it must agree with each other: the unit names the prefix's
binary and configuration, the configuration's relative music path must
reach the installed music through the link beside it, and a reinstall
must not overwrite the operator's configuration. Checks:
1. `cmake --install --prefix P`: bin/sipserver, bin/tlibctl,
   etc/sipserver/sipserver.conf, etc/sipserver/music -> share/sipserver/
   music (and web, when the source has web files), the docs, the unit
   and the sysusers.d entry;
2. the unit: Type=notify, ExecStart with P's paths, reload by SIGHUP,
   restart on failure, the hardening options; `systemd-analyze verify`
   says nothing about it (when systemd-analyze is there);
3. P/bin/sipserver --check-config P/etc/sipserver/sipserver.conf: valid;
   P/bin/tlibctl --help runs;
4. a reinstall keeps an edited configuration;
5. the installed server, on a configuration beside the installed one
   (the test's ports, the default music path), with NOTIFY_SOCKET as
   systemd sets it: READY=1 once it answers; SIGHUP: RELOADING=1 then
   READY=1; SIGTERM: STOPPING=1 and exit status 0.
"""

import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, main, poll, write_file)

CMAKE = os.environ.get('CMAKE', 'cmake')
HARDENING = ('NoNewPrivileges=yes', 'ProtectSystem=strict',
             'ProtectHome=yes', 'PrivateTmp=yes', 'Restart=on-failure',
             'ExecReload=/bin/kill -HUP $MAINPID', 'Type=notify',
             'User=sipserver')


def build_dir():
    path = os.environ.get('SIPSERVER_BUILD')
    check(path and os.path.isfile(os.path.join(path, 'cmake_install.cmake')),
          f'SIPSERVER_BUILD={path!r} is not a configured build folder')
    return path


def install(prefix):
    proc = subprocess.run([CMAKE, '--install', build_dir(), '--prefix',
                           prefix], capture_output=True, text=True,
                          timeout=120)
    check(proc.returncode == 0, f'cmake --install: exit {proc.returncode}'
          f'\n{proc.stdout}{proc.stderr}')
    return proc.stdout


def step_tree(run, st):
    p = st['prefix']
    install(p)
    music = os.path.join(p, 'share', 'sipserver', 'music')
    for rel in ('bin/sipserver', 'bin/tlibctl'):
        check(os.access(os.path.join(p, rel), os.X_OK), f'{rel} missing or '
              f'not executable')
    for rel in ('etc/sipserver/sipserver.conf',
                'share/doc/sipserver/operations.md',
                'share/doc/sipserver/config.md',
                'lib/systemd/system/sipserver.service',
                'lib/sysusers.d/sipserver.conf'):
        check(os.path.isfile(os.path.join(p, rel)), f'{rel} missing')
    check(any(f.endswith('.wav') for _, _, fs in os.walk(music)
              for f in fs), f'no music under {music}')
    links = ['music']
    if os.path.isdir(os.path.join(run.src, 'web')):
        links.append('web')
    for name in links:
        link = os.path.join(p, 'etc', 'sipserver', name)
        target = os.path.join(p, 'share', 'sipserver', name)
        check(os.path.islink(link) and os.readlink(link) == target,
              f'{link} is not a link to {target}')


def step_unit(run, st):
    p = st['prefix']
    unit = os.path.join(p, 'lib', 'systemd', 'system', 'sipserver.service')
    with open(unit) as f:
        text = f.read()
    want = (f'ExecStart={p}/bin/sipserver -c '
            f'{p}/etc/sipserver/sipserver.conf')
    for line in (want,) + HARDENING:
        check(line in text.splitlines(), f'the unit has no line {line!r}')
    check(not re.search(r'@[A-Z_]+@', text), 'an unfilled @VAR@ in the '
          'unit')
    tool = shutil.which('systemd-analyze')
    if not tool:
        print('     (systemd-analyze not found: verify skipped)')
        return
    proc = subprocess.run([tool, 'verify', unit], capture_output=True,
                          text=True, timeout=60)
    check(proc.returncode == 0 and not proc.stdout and not proc.stderr,
          f'systemd-analyze verify: exit {proc.returncode}\n{proc.stdout}'
          f'{proc.stderr}')


def step_check_config(run, st):
    p = st['prefix']
    conf = os.path.join(p, 'etc', 'sipserver', 'sipserver.conf')
    proc = subprocess.run([os.path.join(p, 'bin', 'sipserver'),
                           '--check-config', conf], capture_output=True,
                          text=True, timeout=30)
    check(proc.returncode == 0 and 'configuration is valid' in proc.stdout,
          f'--check-config: exit {proc.returncode}\n{proc.stdout}'
          f'{proc.stderr}')
    proc = subprocess.run([os.path.join(p, 'bin', 'tlibctl'), '--help'],
                          capture_output=True, text=True, timeout=30)
    check(proc.returncode == 0, f'tlibctl --help: exit {proc.returncode}')


def step_reinstall(run, st):
    conf = os.path.join(st['prefix'], 'etc', 'sipserver', 'sipserver.conf')
    with open(conf, 'a') as f:
        f.write('; edited by the operator\n')
    out = install(st['prefix'])
    with open(conf) as f:
        check(f.read().endswith('; edited by the operator\n'),
              'the reinstall overwrote the configuration')
    check('Kept (not overwritten)' in out, f'cmake --install said:\n{out}')


class Notify:
    """The socket systemd passes in NOTIFY_SOCKET: what the service says."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setblocking(False)
        self.got = []

    def wait(self, want, deadline=10.0):
        """The next message holding the line `want`; it and the ones
        before it are consumed."""
        def found():
            try:
                while True:
                    self.got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                pass
            for i, m in enumerate(self.got):
                if want in m.split('\n'):
                    del self.got[:i + 1]
                    return True
            return False
        check(poll(found, deadline), f'no {want} from the service; it '
              f'sent {self.got}')

    def close(self):
        self.sock.close()


def step_service(run, st):
    p = st['prefix']
    conf = write_file(os.path.join(p, 'etc', 'sipserver', 'test.conf'),
                      f'''[TServer]
sip-address = {LOOPBACK}
sip-port = {run.ports.sip}
tlib-port = {run.ports.tlib}
http-port = {run.ports.base + 44}
rtp-port-min = {run.ports.rtp_min}
rtp-port-max = {run.ports.rtp_max}
media-threads = 1

[dn:1001]
''')
    notify = Notify(run.path('notify.sock'))
    os.environ['NOTIFY_SOCKET'] = run.path('notify.sock')
    os.environ['SIPSERVER'] = os.path.join(p, 'bin', 'sipserver')
    try:
        server = Server(run, conf).start()
        notify.wait('READY=1')
        server.reload()
        notify.wait('RELOADING=1')
        notify.wait('READY=1')
        server.proc.send_signal(15)
        notify.wait('STOPPING=1')
        code = server.proc.wait(timeout=10)
        server.stopped = True
        check(code == 0, f'exit status {code} after SIGTERM')
    finally:
        del os.environ['NOTIFY_SOCKET']
        notify.close()


def body(run):
    st = {'prefix': run.path('prefix')}
    for title, fn in (('cmake --install: the tree', step_tree),
                      ('the systemd unit', step_unit),
                      ('the installed server checks the installed '
                       'configuration', step_check_config),
                      ('a reinstall keeps the configuration',
                       step_reinstall),
                      ('the installed server as a Type=notify service',
                       step_service)):
        if not run.step(title, lambda f=fn: f(run, st) or True):
            break


if __name__ == '__main__':
    sys.exit(main('install', body))
