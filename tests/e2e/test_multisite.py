#!/usr/bin/env python3
"""End-to-end: two sites linked by inter-site trunks (docs/multisite.md),
by ear and by the events on every DN of both sites.

    python3 tests/e2e/test_multisite.py

Why: a contact centre on two sites is one contact centre to its agents: a
call from an agent on site A to one on site B rings like any call, both
hear each other, and both desktops list every party of the call with the
site it is on, whatever changes on either side.

Two servers on 127.0.0.1, each on its own block of 50 ports (E2E_PORT_BASE
= B: site A on B..B+49, site B on B+50..B+99): site `A` (DNs 1001 440 Hz,
1002 1000 Hz; trunk `siteB`, prefix 8, over TCP, sip-enable-moh = false)
and site `B` (2001 1600 Hz, 2002 2200 Hz; trunk `siteA`, prefix 7, over
UDP). All phones are on 127.0.0.1 too, the address both trunks point at:
only a request naming its site (X-Sipserver-Site) is taken for the other
site. Steps:
1. 1001's phone dials 82001: 2001 rings on B (CallType Inbound, ANI 1001,
   DNIS 2001), A reports CallType Outbound, OtherDN 2001; both hear each
   other; LCTParty on both sites: 1001@A, 2001@B; TQueryCall on B too;
2. 1001 brings in 1002 (single-step, on A): B's snapshot lists 1001, 1002
   (A) and 2001; all three hear each other;
3. 2001 brings in 2002 (single-step, on B): four parties on both sites
   (each in its own join order); all four hear each other;
4. 1002 and 2002 hang up: both sites' snapshots follow; 1001 and 2001
   hear each other;
5. 1001 holds (THoldCall on A): B shows 1001 Held, and 2001 hears
   silence (A's trunk: sip-enable-moh = false); retrieved; 2001 holds on
   B: A shows 2001 Held; retrieved; 1001 hangs up: released on both;
6. TMakeCall on B: 2002 -> 71002 (B's trunk, UDP): 1002 rings on A with
   ANI 2002; they hear each other; TReleaseCall;
7. a fake site (the Python UA, site `F`) calls 1001: A's INFO to it is
   exactly the documented body; its own INFOs: a wrong Content-Type
   (415), version 2, a Ringing state, an unknown key (400, each with a
   Warning naming what is wrong, no snapshot), then a good one (200, one
   snapshot: 3001@F, 3002@F Held, 1001@A);
8. the site header refused: an INVITE naming a site from an address that
   is no inter-site trunk's (127.0.0.2) gets 403, one whose header is not
   a site name gets 400, each with a Warning saying why; nothing left on
   either site; B stops (exit 0);
9. B is down: 1001 dials 82001 -> the phone gets 503 at once (TCP
   refused), EventDialing then EventReleased; TMakeCall 1001 -> 82001:
   EventDialing, EventReleased, then EventError 57 with its ReferenceID;
   nothing left on A; A stops (exit 0).
"""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.conf import Ears, lct, tlibctl  # noqa: E402
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Ports, Response, Server, build_request, check, config_text,
    main, nothing_left, write_file)
from lib.phones import (  # noqa: E402
    assert_hears, registered_phones, tonecheck)
from lib.rtpua import Ua  # noqa: E402

TONES = {'1001': 440, '1002': 1000, '2001': 1600, '2002': 2200}
MUSIC = 700        # no music is ever heard here: a tone nobody sends
SITE = {'1001': 'A', '1002': 'A', '2001': 'B', '2002': 'B',
        '3001': 'F', '3002': 'F'}
FAKE_SITE = 'F'


def where(alias):
    return SITE[alias]


def configs(run, pa, pb):
    common = dict(sip_enable_call_info='true',
                  sip_enable_call_info_extended='true')
    dns_a = {'1001': {}, '1002': {},
             'siteB': {'type': 'Trunk', 'prefix': '8',
                       'contact': f'sip:{LOOPBACK}:{pb.sip};transport=tcp',
                       'sip-server-inter-trunk': 'true',
                       'sip-enable-moh': 'false'}}
    dns_b = {'2001': {}, '2002': {},
             'siteA': {'type': 'Trunk', 'prefix': '7',
                       'contact': f'sip:{LOOPBACK}:{pa.sip}',
                       'sip-server-inter-trunk': 'true'}}
    ca = write_file(run.path('site-a.conf'), config_text(
        pa, run.src, dns_a, location='A', **common))
    cb = write_file(run.path('site-b.conf'), config_text(
        pb, run.src, dns_b, location='B', **common))
    return ca, cb


def snapshots(cti, dns, connid, want):
    for dn in dns:
        lct(cti[dn], dn, connid, want, where)


def attrs(ev, **want):
    for k, v in want.items():
        check(ev.get(k) == v, f'{k}: {ev.get(k)!r}, expected {v!r}: {ev}')


# ------------------------------------------------------------------ steps

def step_call(t):
    pa = t['pa']
    t['ph']['1001'].dial(f'sip:82001@{LOOPBACK}:{pa.sip}')
    ev = t['cti']['2001'].wait('EventRinging', ThisDN='2001')
    attrs(ev, CallType='Inbound', ANI='1001', DNIS='2001', OtherDN='1001')
    t['cb'] = ev['ConnID']
    t['ph']['2001'].wait_call_established(5)
    t['ph']['1001'].wait_call_established(5)
    ev = t['cti']['1001'].wait('EventDialing', ThisDN='1001')
    attrs(ev, CallType='Outbound', ANI='1001', DNIS='2001', OtherDN='2001')
    t['ca'] = ev['ConnID']
    ev = t['cti']['1001'].wait('EventEstablished', ThisDN='1001')
    attrs(ev, OtherDN='2001', ConnID=t['ca'])
    ev = t['cti']['2001'].wait('EventEstablished', ThisDN='2001')
    attrs(ev, OtherDN='1001', CallType='Inbound', ConnID=t['cb'])
    want = [('1001', None), ('2001', None)]
    snapshots(t['cti'], ['1001'], t['ca'], want)
    snapshots(t['cti'], ['2001'], t['cb'], want)
    ref = t['cti']['2001'].request('TQueryCall', ThisDN='2001',
                                   ConnID=t['cb'])
    ev = t['cti']['2001'].wait('EventPartyInfo', ReferenceID=ref)
    got = [(p['DN'], p['Location'], p['PartyState'])
           for p in ev['Parties']]
    check(got == [('1001', 'A', 'Established'),
                  ('2001', 'B', 'Established')], f'TQueryCall: {got}')
    t['ears'].mark('call')
    t['ears'].talk('call', ['1001', '2001'], extra_not=['1002', '2002'])


def step_join_a(t):
    tlibctl(t['run'], f'TSingleStepConference ThisDN=1001 '
            f'ConnID={t["ca"]} OtherDN=1002', ['1001'],
            'EventPartyAdded ThisDN=1001', port=t['pa'].tlib)
    snapshots(t['cti'], ['1001', '1002'], t['ca'],
              [('1001', None), ('2001', None), ('1002', None)])
    snapshots(t['cti'], ['2001'], t['cb'],
              [('1001', None), ('1002', None), ('2001', None)])
    t['ears'].mark('join A')
    t['ears'].talk('join A', ['1001', '1002', '2001'], extra_not=['2002'])


def step_join_b(t):
    tlibctl(t['run'], f'TSingleStepConference ThisDN=2001 '
            f'ConnID={t["cb"]} OtherDN=2002', ['2001'],
            'EventPartyAdded ThisDN=2001', port=t['pb'].tlib)
    snapshots(t['cti'], ['2001', '2002'], t['cb'],
              [('1001', None), ('1002', None), ('2001', None),
               ('2002', None)])
    snapshots(t['cti'], ['1001', '1002'], t['ca'],
              [('1001', None), ('2001', None), ('2002', None),
               ('1002', None)])
    t['ears'].mark('join B')
    t['ears'].talk('join B', list(TONES))


def step_leave(t):
    t['ph']['1002'].hangup()
    t['ph']['1002'].wait_call_closed(5)
    t['cti']['1002'].wait('EventReleased', ThisDN='1002', ConnID=t['ca'])
    snapshots(t['cti'], ['2001', '2002'], t['cb'],
              [('1001', None), ('2001', None), ('2002', None)])
    t['ph']['2002'].hangup()
    t['ph']['2002'].wait_call_closed(5)
    ev = t['cti']['2001'].wait('EventPartyDeleted', ThisDN='2001',
                               OtherDN='2002')
    attrs(ev, CallState='Ok')
    snapshots(t['cti'], ['1001'], t['ca'], [('1001', None), ('2001', None)])
    snapshots(t['cti'], ['2001'], t['cb'], [('1001', None), ('2001', None)])
    t['ears'].mark('left')
    t['ears'].talk('left', ['1001', '2001'], extra_not=['1002', '2002'])


def step_hold(t):
    cti, ears = t['cti'], t['ears']
    ref = cti['1001'].request('THoldCall', ThisDN='1001', ConnID=t['ca'])
    cti['1001'].wait('EventHeld', ReferenceID=ref)
    snapshots(cti, ['2001'], t['cb'], [('1001', 'Held'), ('2001', None)])
    # A's trunk has sip-enable-moh = false: 2001 hears silence, no music
    ears.mark('held')
    ears.listen('held', ['2001'])
    t0 = ears.marks['held']['2001'] + 0.5
    assert_hears(t['ph']['2001'].recording(), '!440,!700', '--from',
                 f'{t0:.2f}', '--to', f'{t0 + 1.9:.2f}', who='2001 held')
    rc, out = tonecheck(t['ph']['2001'].recording(), '--silent', '--from',
                        f'{t0:.2f}', '--to', f'{t0 + 1.9:.2f}')
    check(rc == 0, f'2001 did not hear silence while 1001 held:\n{out}')
    ref = cti['1001'].request('TRetrieveCall', ThisDN='1001',
                              ConnID=t['ca'])
    cti['1001'].wait('EventRetrieved', ReferenceID=ref)
    snapshots(cti, ['2001'], t['cb'], [('1001', None), ('2001', None)])

    ref = cti['2001'].request('THoldCall', ThisDN='2001', ConnID=t['cb'])
    cti['2001'].wait('EventHeld', ReferenceID=ref)
    snapshots(cti, ['1001'], t['ca'], [('1001', None), ('2001', 'Held')])
    ref = cti['2001'].request('TRetrieveCall', ThisDN='2001',
                              ConnID=t['cb'])
    cti['2001'].wait('EventRetrieved', ReferenceID=ref)
    snapshots(cti, ['1001'], t['ca'], [('1001', None), ('2001', None)])

    t['ph']['1001'].hangup()
    t['ph']['1001'].wait_call_closed(5)
    t['ph']['2001'].wait_call_closed(5)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=t['ca'])
    cti['2001'].wait('EventReleased', ThisDN='2001', ConnID=t['cb'])


def step_make_call(t):
    cti = t['cti']
    ref = cti['2002'].request('TMakeCall', ThisDN='2002', OtherDN='71002')
    ev = cti['2002'].wait('EventDialing', ReferenceID=ref)
    attrs(ev, OtherDN='1002', CallType='Outbound', ANI='2002', DNIS='1002')
    cb = ev['ConnID']
    ev = cti['1002'].wait('EventEstablished', ThisDN='1002')
    attrs(ev, OtherDN='2002', CallType='Inbound', ANI='2002', DNIS='1002')
    ca = ev['ConnID']
    cti['2002'].wait('EventEstablished', ThisDN='2002', ConnID=cb)
    snapshots(cti, ['2002'], cb, [('2002', None), ('1002', None)])
    snapshots(cti, ['1002'], ca, [('2002', None), ('1002', None)])
    t['ears'].mark('make')
    t['ears'].talk('make', ['1002', '2002'], extra_not=['1001', '2001'])
    ref = cti['2002'].request('TReleaseCall', ThisDN='2002', ConnID=cb)
    cti['2002'].wait('EventReleased', ReferenceID=ref)
    cti['1002'].wait('EventReleased', ThisDN='1002', ConnID=ca)


def fake_info(ua, body, status, warning=None, ctype=None):
    resp = ua.info(ctype or 'application/x-sipserver-parties+json',
                   body if isinstance(body, str) else json.dumps(body))
    check(resp.status == status, f'INFO {body}: {resp.status} '
          f'{resp.reason}, expected {status}')
    if warning:
        check(warning in (resp.header('warning') or ''),
              f'INFO {body}: Warning {resp.header("warning")!r} does not '
              f'name {warning!r}')
    return resp


def step_fake_site(t):
    pa, cti = t['pa'], t['cti']
    closed = t['ph']['1001'].ctrl.count('CALL_CLOSED')
    with Ua(pa, '3001', sip_port=pa.client(5), rtp_port=pa.client(6)) as ua:
        ua.invite('1001', extra=[f'X-Sipserver-Site: {FAKE_SITE}'])
        ua.wait_answered(5)
        ev = cti['1001'].wait('EventEstablished', ThisDN='1001')
        attrs(ev, CallType='Inbound', ANI='3001', OtherDN='3001')
        ca = ev['ConnID']
        snapshots(cti, ['1001'], ca, [('3001', None), ('1001', None)])

        # what A tells a site: exactly the documented body
        info = ua.wait_sip(lambda m: getattr(m, 'method', '') == 'INFO',
                           'INFO from A')
        check(info.header('content-type') ==
              'application/x-sipserver-parties+json',
              f'INFO Content-Type: {info.header("content-type")}')
        check(json.loads(info.body) == {'version': 1, 'parties': [
            {'alias': '1001', 'location': 'A', 'state': 'Established'}]},
            f'INFO body: {info.body}')

        good = {'version': 1, 'parties': [
            {'alias': '3001', 'location': 'F', 'state': 'Established'},
            {'alias': '3002', 'location': 'F', 'state': 'Held'}]}
        fake_info(ua, json.dumps(good), 415, 'x-sipserver-parties+json',
                  ctype='application/json')
        fake_info(ua, {**good, 'version': 2}, 400, 'version 2 is not 1')
        bad = json.loads(json.dumps(good))
        bad['parties'][1]['state'] = 'Ringing'
        fake_info(ua, bad, 400, 'parties[1].state \\"Ringing\\"')
        fake_info(ua, {**good, 'site': 'F'}, 400, 'unknown key \\"site\\"')
        fake_info(ua, '{"version":1,"parties":[', 400, 'not JSON')
        fake_info(ua, good, 200)
        # the first snapshot after the refusals is the good report's
        ev = cti['1001'].wait('EventUserEvent', ThisDN='1001', ConnID=ca)
        ext = ev['Extensions']
        got = [(ext.get(f'LCTParty{i}'), ext.get(f'LCTParty{i}_location'),
                ext.get(f'LCTParty{i}_state'))
               for i in range(ext['LCTPartiesLength'])]
        check(got == [('3001', 'F', None), ('3002', 'F', 'Held'),
                      ('1001', 'A', None)], f'snapshot: {got}')
        ua.bye()
        cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=ca)
        t['ph']['1001'].wait_call_closed(5, count=closed + 1)


def step_site_down(t):
    pa, cti, ph = t['pa'], t['cti'], t['ph']
    closed = ph['1001'].ctrl.count('CALL_CLOSED')
    ph['1001'].dial(f'sip:82001@{LOOPBACK}:{pa.sip}')
    ph['1001'].wait_call_closed(5, count=closed + 1)
    ph['1001'].wait_log(r'503 Service Unavailable', 3)
    ev = cti['1001'].wait('EventDialing', ThisDN='1001')
    ev = cti['1001'].wait('EventReleased', ThisDN='1001',
                          ConnID=ev['ConnID'])

    ref = cti['1001'].request('TMakeCall', ThisDN='1001', OtherDN='82001')
    ev = cti['1001'].wait('EventDialing', ReferenceID=ref)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=ev['ConnID'])
    ev = cti['1001'].wait('EventError', ReferenceID=ref)
    attrs(ev, ErrorCode=57)
    check('82001' in ev['ErrorMessage'] and '503' in ev['ErrorMessage'],
          f'EventError: {ev}')


def invite_from(pa, address, site):
    """A bare INVITE to 1001 on A from address, naming site: its reply"""
    port = pa.client(7)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, port))
        sock.settimeout(3)
        sock.sendto(build_request('INVITE', pa, 'udp', port, user='3001',
                                  uri_user='1001',
                                  headers=[f'X-Sipserver-Site: {site}']),
                    (LOOPBACK, pa.sip))
        while True:
            resp = Response(sock.recv(65536).decode(errors='replace'))
            if resp.status >= 200:
                return resp
    finally:
        sock.close()


def step_site_header_refused(t):
    pa = t['pa']
    resp = invite_from(pa, '127.0.0.2', 'Z')
    check(resp.status == 403 and '127.0.0.2' in (resp.header('warning') or
                                                  ''),
          f'site header from 127.0.0.2: {resp.status} '
          f'{resp.header("warning")}')
    resp = invite_from(pa, LOOPBACK, 'A B')
    check(resp.status == 400 and 'not a site name' in (
        resp.header('warning') or ''),
          f'malformed site header: {resp.status} {resp.header("warning")}')


def body(run):
    pa = run.ports
    pb = Ports(pa.base + 50)
    print(f'== site A on ports {pa.base}..{pa.base + 49}, site B on '
          f'{pb.base}..{pb.base + 49}', flush=True)
    conf_a, conf_b = configs(run, pa, pb)
    site_a = Server(run, conf_a).start()
    site_b = Server(run, conf_b, pb).start()
    phones = registered_phones(run, [(dn, TONES[dn]) for dn in
                                     ('1001', '1002')], tag='a')
    phones += registered_phones(run, [(dn, TONES[dn]) for dn in
                                      ('2001', '2002')], pb, tag='b')
    ph = {p.dn: p for p in phones}
    cti = {}
    for dn in TONES:
        cti[dn] = Cti(pa.tlib if dn.startswith('1') else pb.tlib)
        cti[dn].register(dn)
    t = {'run': run, 'pa': pa, 'pb': pb, 'ph': ph, 'cti': cti,
         'ears': Ears(ph, TONES, MUSIC)}
    steps = [('1001 dials 82001: 2001 on site B', step_call),
             ('1001 brings in 1002 on A', step_join_a),
             ('2001 brings in 2002 on B', step_join_b),
             ('1002 and 2002 hang up', step_leave),
             ('hold on A, hold on B, hang up', step_hold),
             ('TMakeCall on B: 2002 -> 71002 on A', step_make_call),
             ('a fake site: participant info checked', step_fake_site),
             ('the site header refused: 403 and 400',
              step_site_header_refused)]
    for title, fn in steps:
        if not run.step(title, lambda f=fn: f(t) or True):
            break
    run.step('nothing left on A', nothing_left, site_a)
    run.step('nothing left on B', nothing_left, site_b)
    for p in phones:
        if p.dn.startswith('2'):
            p.stop()
    run.step('site B: SIGTERM -> exit status 0', site_b.stop)
    run.step('site B down: 503 to the phone, EventError 57 to TMakeCall',
             step_site_down, t)
    run.step('nothing left on A after the failures', nothing_left, site_a)
    for c in cti.values():
        c.close()
    for p in phones:
        p.stop()
    run.step('site A: SIGTERM -> exit status 0', site_a.stop)


if __name__ == '__main__':
    sys.exit(main('multisite', body))
