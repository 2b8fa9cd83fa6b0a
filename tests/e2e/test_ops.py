#!/usr/bin/env python3
"""End-to-end, the operator's surface: /status and /metrics on the HTTP
port follow a real call, real CTI requests and reloads, the page passes
`promtool check metrics`, and a real Prometheus scrapes it.

    python3 tests/e2e/test_ops.py

Why: an operator trusts these pages to tell a busy server from a broken
one, so each number must move when, and only when, the thing it counts
happens. Three baresip phones (1001 with a digest password, 1002, 1003)
and one CTI client (with client-password) on all three DNs:
1. before anything: version, uptime, the configuration file, no
   registration, call or client; every media worker runs frames;
2. the phones register: 3 DNs registered, REGISTER in / 200 (and 1001's
   401) out counted;
3. the CTI client opens and registers: 1 client, 3 DN registrations,
   TOpenServer and TRegisterAddress counted;
4. 1001 calls 1002: one Internal call, two Established parties, INVITEs
   both ways, RTP in and out grows on the workers;
5. 1001 conferences in 1003 (single-step): one conference, three parties;
   disconnects 1003 (TListenDisconnect): one ListenDisconnected party, one
   music stream, the counter moves; again: EventError 43, counted by
   request and code; reconnects: reconnects{reason="request"}; an unknown
   request is "other";
6. everyone hangs up: no call, conference or party left; frame times and
   busy ratios are there and sane;
7. reloads: http-status-allow = 127.0.0.1/32 takes effect at once (a
   client from 127.0.0.2 gets 403, 127.0.0.1 gets the page), the reload
   time and count show; a broken file: last reload failed, the running
   configuration kept; fixed again; POST gets 405, HEAD no body;
8. `promtool check metrics` passes on the page; neither page shows a
   password; Prometheus (its own port in the block, a temp data dir)
   scrapes it: `up` is 1 through its HTTP API.
Every process is killed by PID; every wait polls with a deadline.
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, _track, check, config_text, main, nothing_left, poll,
    server_binary, write_file)
from lib.phones import music_wav, registered_phones  # noqa: E402

TONES = {'1001': 440, '1002': 1000, '1003': 1600}
MUSIC = 700
PHONE_PASSWORD = 'phone-pw-8d1f'
CTI_PASSWORD = 'cti-pw-5e2a'
PROMTOOL = os.environ.get('PROMTOOL', 'promtool')
PROMETHEUS = os.environ.get('PROMETHEUS', 'prometheus')
DEADLINE = 10.0


def http_port(run):
    return run.ports.base + 44


def prometheus_port(run):
    return run.ports.base + 45


def fetch(run, path, method='GET', source=LOOPBACK):
    """(status, headers, body text) of one request to the HTTP port."""
    conn = http.client.HTTPConnection(LOOPBACK, http_port(run), timeout=5,
                                      source_address=(source, 0))
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


def status(run):
    code, headers, body = fetch(run, '/status')
    check(code == 200, f'/status: {code} {body}')
    check(headers.get('Content-Type') == 'application/json',
          f'/status Content-Type: {headers}')
    return json.loads(body)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics(run):
    """{(name, frozenset of (label, value)): float} of /metrics."""
    code, headers, body = fetch(run, '/metrics')
    check(code == 200, f'/metrics: {code} {body}')
    check(headers.get('Content-Type', '').startswith(
        'text/plain; version=0.0.4'), f'/metrics Content-Type: {headers}')
    out = {}
    for line in body.splitlines():
        if line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        check(m, f'/metrics: not a sample line: {line!r}')
        labels = frozenset(LABEL.findall(m.group(3) or ''))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(ms, name, **labels):
    return ms.get((name, frozenset(labels.items())), 0.0)


def total(ms, name, **labels):
    """Sum over every series of name whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in ms.items() if n == name and want <= ls)


def wait_status(run, what, pred, deadline=DEADLINE):
    last = {}

    def ok():
        last['s'] = status(run)
        return pred(last['s'])
    check(poll(ok, deadline, 0.1), f'/status never showed {what}; last: '
          f'{json.dumps(last.get("s"), indent=1)[:3000]}')
    return last['s']


def wait_metrics(run, what, pred, deadline=DEADLINE):
    last = {}

    def ok():
        last['m'] = metrics(run)
        return pred(last['m'])
    check(poll(ok, deadline, 0.1), f'/metrics never showed {what}')
    return last['m']


# ---------------------------------------------------------------- steps

def step_baseline(run, st):
    version = subprocess.run([server_binary(), '--version'],
                             capture_output=True, text=True).stdout.split()
    s = wait_status(run, 'frames on every worker', lambda s: all(
        w['frames'] > 0 for w in s['media']['workers']))
    check(s['version'] == version[-1], f'version {s["version"]}, '
          f'--version says {version}')
    check(s['uptime_seconds'] > 0, f'uptime: {s["uptime_seconds"]}')
    check(s['config']['file'] == os.path.realpath(st['conf']),
          f'config file: {s["config"]}')
    check(s['config']['last_reload'] is None and
          s['config']['reloads'] == 0, f'config: {s["config"]}')
    check(s['registrations'] == {'extensions': 3, 'registered': 0,
                                 'contacts': 0}, f'{s["registrations"]}')
    check(s['calls']['total'] == 0 and s['conferences'] == 0 and
          s['parties']['total'] == 0, f'calls: {s["calls"]}')
    check(s['cti']['clients'] == 0, f'cti: {s["cti"]}')
    check(s['media']['threads'] == 2 and
          len(s['media']['workers']) == 2, f'media: {s["media"]}')
    # default-music and music-listen-disconnect, decoded at start and kept
    check(s['media']['music_files'] == 2, f'media: {s["media"]}')
    st['m0'] = metrics(run)
    check(value(st['m0'], 'sipserver_build_info', version=version[-1]) == 1,
          'sipserver_build_info')


def step_register(run, st):
    st['phones'] = registered_phones(run, [
        ('1001', TONES['1001'], {'password': PHONE_PASSWORD}),
        ('1002', TONES['1002']), ('1003', TONES['1003'])])
    s = wait_status(run, '3 DNs registered',
                    lambda s: s['registrations']['registered'] == 3)
    check(s['registrations']['contacts'] == 3, f'{s["registrations"]}')
    m0 = st['m0']
    m = wait_metrics(run, 'sipserver_registrations 3', lambda m: value(
        m, 'sipserver_registrations') == 3)
    for name, labels, least in (
            ('sipserver_sip_requests_total',
             {'direction': 'in', 'method': 'REGISTER'}, 4),
            ('sipserver_sip_responses_total',
             {'direction': 'out', 'method': 'REGISTER', 'code': '200'}, 3),
            ('sipserver_sip_responses_total',
             {'direction': 'out', 'method': 'REGISTER', 'code': '401'}, 1)):
        grew = value(m, name, **labels) - value(m0, name, **labels)
        check(grew >= least, f'{name}{labels}: +{grew}, expected at least '
              f'+{least}')
    st['m1'] = m


def step_cti(run, st):
    cti = st['cti'] = Cti(run.ports.tlib, password=CTI_PASSWORD)
    for dn in TONES:
        cti.register(dn)
    s = wait_status(run, 'one CTI client', lambda s: s['cti']['clients'] == 1)
    check(s['cti']['registrations'] == 3, f'cti: {s["cti"]}')
    m = metrics(run)
    for req, n in (('TOpenServer', 1), ('TRegisterAddress', 3)):
        got = value(m, 'sipserver_cti_requests_total', request=req)
        check(got == n, f'cti_requests_total{{request={req}}} = {got}, '
              f'expected {n}')
    check(value(m, 'sipserver_cti_clients') == 1, 'sipserver_cti_clients')


def rtp(m):
    return (total(m, 'sipserver_rtp_packets_received_total'),
            total(m, 'sipserver_rtp_packets_sent_total'))


def step_call(run, st):
    a, b, _ = st['phones']
    m0 = metrics(run)
    a.dial(f'sip:1002@{LOOPBACK}:{run.ports.sip}')
    b.wait_call_established(5)
    a.wait_call_established(5)
    ev = st['cti'].wait('EventEstablished', ThisDN='1001')
    st['c1'] = ev['ConnID']
    s = wait_status(run, 'one call of two established parties', lambda s:
                    s['calls']['Internal'] == 1 and
                    s['parties']['Established'] == 2)
    check(s['calls']['total'] == 1 and s['conferences'] == 0,
          f'calls: {s["calls"]} conferences {s["conferences"]}')
    rx0, tx0 = rtp(m0)
    m = wait_metrics(run, 'RTP both ways', lambda m: rtp(m)[0] > rx0 + 50
                     and rtp(m)[1] > tx0 + 50)
    check(value(m, 'sipserver_calls', type='Internal') == 1, 'calls gauge')
    for d in ('in', 'out'):
        grew = (value(m, 'sipserver_sip_requests_total', direction=d,
                      method='INVITE') -
                value(m0, 'sipserver_sip_requests_total', direction=d,
                      method='INVITE'))
        check(grew >= 1, f'INVITE {d}: +{grew}')
    check(total(m, 'sipserver_media_legs') == 2, 'two legs in mixes')


def cti_error(cti, name, code, **attrs):
    ref = cti.request(name, **attrs)
    ev = cti.wait('EventError', ReferenceID=ref)
    check(ev['ErrorCode'] == code, f'{name}: {ev}, expected {code}')


def step_listen(run, st):
    cti, c1 = st['cti'], st['c1']
    m0 = metrics(run)
    cti.request('TSingleStepConference', ThisDN='1001', ConnID=c1,
                OtherDN='1003')
    cti.wait('EventPartyAdded', ThisDN='1001')
    wait_status(run, 'a conference of three', lambda s:
                s['conferences'] == 1 and s['parties']['Established'] == 3)

    cti.request('TListenDisconnect', ThisDN='1001', ConnID=c1,
                OtherDN='1003')
    cti.wait('EventListenDisconnected', ThisDN='1001')
    s = wait_status(run, '1003 listen-disconnected hearing music', lambda s:
                    s['parties']['ListenDisconnected'] == 1 and
                    s['media']['music_streams'] == 1)
    check(s['parties']['Established'] == 2, f'parties: {s["parties"]}')
    m = metrics(run)
    check(value(m, 'sipserver_listen_disconnects_total') -
          value(m0, 'sipserver_listen_disconnects_total') == 1,
          'listen_disconnects_total did not move by 1')
    check(value(m, 'sipserver_music_streams') == 1, 'music_streams')
    check(value(m, 'sipserver_parties', state='ListenDisconnected') == 1,
          'parties{ListenDisconnected}')

    cti_error(cti, 'TListenDisconnect', 43, ThisDN='1001', ConnID=c1,
              OtherDN='1003')
    cti.request('TListenReconnect', ThisDN='1001', ConnID=c1,
                OtherDN='1003')
    cti.wait('EventListenReconnected', ThisDN='1001')
    cti_error(cti, 'TNoSuchRequest', 53, ThisDN='1001')
    wait_status(run, 'everyone back', lambda s:
                s['parties']['ListenDisconnected'] == 0 and
                s['media']['music_streams'] == 0)
    m = metrics(run)
    for name, labels, n in (
            ('sipserver_listen_reconnects_total', {'reason': 'request'}, 1),
            ('sipserver_listen_reconnects_total',
             {'reason': 'conference_released'}, 0),
            ('sipserver_cti_errors_total',
             {'request': 'TListenDisconnect', 'code': '43'}, 1),
            ('sipserver_cti_errors_total',
             {'request': 'other', 'code': '53'}, 1),
            ('sipserver_cti_requests_total', {'request': 'other'}, 1),
            ('sipserver_cti_requests_total',
             {'request': 'TListenDisconnect'}, 2),
            ('sipserver_music_streams', {}, 0)):
        got = value(m, name, **labels) - value(m0, name, **labels)
        check(got == n, f'{name}{labels}: +{got}, expected +{n}')


def step_hangup(run, st):
    a, b, c = st['phones']
    a.hangup()
    a.wait_call_closed(5)
    b.hangup()
    b.wait_call_closed(5)
    c.wait_call_closed(5)  # the last one left: released by the server
    s = wait_status(run, 'no call left', lambda s: s['calls']['total'] == 0
                    and s['parties']['total'] == 0 and
                    s['media']['rtp_legs'] == 0)
    check(s['conferences'] == 0, f'conferences: {s["conferences"]}')
    m = metrics(run)
    for w in ('0', '1'):
        count = value(m, 'sipserver_media_frame_duration_seconds_count',
                      worker=w)
        inf = value(m, 'sipserver_media_frame_duration_seconds_bucket',
                    worker=w, le='+Inf')
        busy = value(m, 'sipserver_media_busy_ratio', worker=w)
        check(count > 50 and count == inf, f'worker {w}: {count} frames, '
              f'+Inf bucket {inf}')
        check(0 <= busy < 1, f'worker {w}: busy ratio {busy}')
    for sw in s['media']['workers']:
        check(0 <= sw['load'] < 1 and sw['frame_max_ms'] < 20,
              f'worker load: {sw}')
    check(value(m, 'sipserver_calls', type='Internal') == 0, 'calls gauge')


def reload_and_wait(run, st, text, ok):
    server, before = st['server'], status(run)['config']
    write_file(st['conf'], text)
    mark = server.log_mark()
    server.reload()
    server.wait_log(r'reloaded ' if ok else r'reload of .* rejected',
                    DEADLINE, mark)
    return before


def step_reload(run, st):
    before = reload_and_wait(run, st, st['text'](http_status_allow=
                                                 '127.0.0.1/32'), True)
    code, _, body = fetch(run, '/status', source='127.0.0.2')
    check(code == 403 and 'http-status-allow' in body,
          f'/status from 127.0.0.2: {code} {body}')
    code, _, _ = fetch(run, '/metrics', source='127.0.0.2')
    check(code == 403, f'/metrics from 127.0.0.2: {code}')
    s = status(run)
    check(s['config']['reloads'] == before['reloads'] + 1 and
          s['config']['last_reload']['failed'] is False and
          s['config']['loaded'] == s['config']['last_reload']['time'],
          f'after a reload: {s["config"]}')

    reload_and_wait(run, st, '[TServer]\nsip-port = 70000\n', False)
    s = status(run)
    check(s['config']['last_reload']['failed'] is True and
          s['config']['reloads_failed'] == before['reloads_failed'] + 1,
          f'after a rejected reload: {s["config"]}')
    m = metrics(run)
    check(value(m, 'sipserver_config_last_reload_successful') == 0 and
          value(m, 'sipserver_config_reloads_total', result='failed') >= 1,
          'a rejected reload is not shown in /metrics')
    # the running configuration stayed: 127.0.0.2 is still refused
    code, _, _ = fetch(run, '/status', source='127.0.0.2')
    check(code == 403, f'/status from 127.0.0.2 after the rejected '
          f'reload: {code}')

    reload_and_wait(run, st, st['text'](), True)
    code, _, _ = fetch(run, '/status', source='127.0.0.2')
    check(code == 200, f'/status from 127.0.0.2 by default: {code}')
    check(value(metrics(run), 'sipserver_config_last_reload_successful')
          == 1, 'last_reload_successful after the fix')


def step_bad_requests(run, st):
    code, headers, body = fetch(run, '/metrics', method='POST')
    check(code == 405 and headers.get('Allow') == 'GET, HEAD',
          f'POST /metrics: {code} {headers} {body}')
    code, headers, body = fetch(run, '/status', method='HEAD')
    check(code == 200 and body == '' and
          int(headers.get('Content-Length', '0')) > 0,
          f'HEAD /status: {code} {headers} {body!r}')
    code, _, _ = fetch(run, '/status/')
    check(code == 404, f'/status/: {code}')
    check(st['server'].alive(), 'server died')


def step_promtool(run, st):
    _, _, body = fetch(run, '/metrics')
    path = write_file(run.path('metrics.txt'), body)
    with open(path, 'rb') as f:
        proc = subprocess.run([PROMTOOL, 'check', 'metrics'], stdin=f,
                              capture_output=True, text=True, timeout=30)
    check(proc.returncode == 0, f'promtool check metrics: exit '
          f'{proc.returncode}\n{proc.stdout}{proc.stderr}')
    _, _, page = fetch(run, '/status')
    for secret in (PHONE_PASSWORD, CTI_PASSWORD):
        check(secret not in body and secret not in page,
              f'a password is on a page: {secret}')


def prometheus_query(run, query):
    url = (f'/api/v1/query?query={urllib.parse.quote(query)}')
    conn = http.client.HTTPConnection(LOOPBACK, prometheus_port(run),
                                      timeout=3)
    try:
        conn.request('GET', url)
        resp = conn.getresponse()
        return json.loads(resp.read().decode())
    except (OSError, ValueError):
        return None
    finally:
        conn.close()


def step_prometheus(run, st):
    check(shutil.which(PROMETHEUS), f'{PROMETHEUS} not found (Debian '
          f'package prometheus)')
    data = run.path('prometheus-data')
    os.makedirs(data, exist_ok=True)
    conf = write_file(run.path('prometheus.yml'), f'''global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sipserver
    static_configs:
      - targets: ['{LOOPBACK}:{http_port(run)}']
''')
    log = open(run.path('prometheus.log'), 'wb')
    proc = _track(subprocess.Popen(
        [PROMETHEUS, f'--config.file={conf}',
         f'--storage.tsdb.path={data}',
         f'--web.listen-address={LOOPBACK}:{prometheus_port(run)}'],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log))
    log.close()
    try:
        def scraped():
            check(proc.poll() is None, 'prometheus exited:\n' +
                  open(run.path('prometheus.log')).read()[-2000:])
            r = prometheus_query(run, 'up{job="sipserver"}')
            res = r and r.get('data', {}).get('result')
            return res and res[0]['value'][1] == '1'
        check(poll(scraped, 60, 0.5), 'Prometheus never scraped sipserver '
              'with up == 1; its log: ' + run.path('prometheus.log'))
        r = prometheus_query(run, 'sipserver_build_info')
        res = r['data']['result']
        check(res and res[0]['metric'].get('version'),
              f'sipserver_build_info through Prometheus: {r}')
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def body(run):
    music = music_wav(run.path('music-700.wav'), MUSIC)
    dns = {'1001': {'password': PHONE_PASSWORD}, '1002': {}, '1003': {}}

    def text(**extra):
        return config_text(run.ports, run.src, dns, http_port=http_port(run),
                           media_threads=2, client_password=CTI_PASSWORD,
                           music_listen_disconnect=music,
                           sip_enable_call_info='true',
                           sip_enable_call_info_extended='true', **extra)
    st = {'text': text}
    st['conf'] = write_file(run.path('sipserver.conf'), text())
    st['server'] = server = Server(run, st['conf']).start()
    steps = [('before anything', step_baseline),
             ('three phones register', step_register),
             ('a CTI client opens and registers', step_cti),
             ('1001 calls 1002', step_call),
             ('conference, listen-disconnect, refusals, reconnect',
              step_listen),
             ('everyone hangs up', step_hangup),
             ('reloads: access rule, a rejected file, fixed',
              step_reload),
             ('bad requests change nothing', step_bad_requests),
             ('promtool check metrics; no password', step_promtool),
             ('a real Prometheus scrapes it', step_prometheus)]
    for title, fn in steps:
        if not run.step(title, lambda f=fn: f(run, st) or True):
            break
    run.step('nothing left behind', nothing_left, server)
    if 'cti' in st:
        st['cti'].close()
    for p in st.get('phones', ()):
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('ops', body))
