#!/usr/bin/env python3
"""End-to-end: a conference that spans two sites, and a private
conversation in it (docs/multisite.md), by ear and by the events on both
sites.

    python3 tests/e2e/test_multisite_private.py

Why: the seed's multi-site case. A customer calls an agent on site A, who
brings in an agent of site B over the inter-site trunk; disconnecting that
remote agent must keep the conversation private from it without pushing
A's music across the trunk when A's trunk DN says so
(sip-enable-moh = false), and both sites' desktops must show who is
disconnected.

Two servers on 127.0.0.1, each on its own block of 50 ports (E2E_PORT_BASE
= B: site A on B..B+49, site B on B+50..B+99). Site A: agent 1001
(440 Hz), the gateway trunk `gw` (a baresip customer on 127.0.0.2, ANI
5551234, 2200 Hz, prefix 9), the trunk `siteB` (prefix 8, TCP,
sip-enable-moh = false), music-listen-disconnect a 700 Hz file. Site B:
agent 2001 (1600 Hz), the trunk `siteA` (prefix 7, UDP). Steps:
1. the customer calls 1001 on A; 1001 brings in 2001 of site B
   (TSingleStepConference OtherDN 82001): the mix is A's, B bridges 2001
   to the trunk; all three hear each other; LCTParty on both sites:
   5551234@A, 1001@A, 2001@B;
2. 1001 disconnects 2001 (TListenDisconnect OtherDN 2001): 2001 hears
   silence (not A's music: the trunk's sip-enable-moh is false) and
   nothing of the conference; nobody hears 2001; EventListenDisconnected
   to 1001; A's and B's snapshots show 2001 ListenDisconnectedHeld;
3. 1001 reconnects 2001: everyone hears everyone; both snapshots clear;
   then from site B: 2001 disconnects the customer (a party of A's
   conference; the request is carried to A): EventListenDisconnected on
   both sites (ThirdPartyDN 2001; with its ReferenceID on B), both
   snapshots show the customer ListenDisconnectedHeld, the customer hears
   only A's music and 1001 and 2001 only each other; refusals found on A
   come back to 2001's client as the same EventError (43 already
   disconnected, 51 disconnecting 1001 would leave one active party);
   2001 reconnects the customer: events on both sites, everyone hears
   everyone;
4. SIGHUP with sip-enable-moh = true on `siteB` (it applies to parties
   that join from then on); the customer and 1001 hang up, which ends
   the call on both sites; a new call in the same way; 1001 disconnects 2001: 2001 hears A's music and
   nothing of the conference;
5. the collapse rule across sites: 1001 reconnects 2001, disconnects the
   customer, then hangs up: one active party (2001, behind the trunk) and
   one disconnected (the customer) are left on A, so A's conference is
   released into a plain call: the customer and 2001 hear each other;
   snapshots on both sites: 5551234@A, 2001@B;
6. 2001 hangs up: released on both sites; nothing left;
7. site B dies mid-conference: a new conference (customer, 1001, 2001 of
   B), then B is killed (SIGKILL): A's pings to B fail, and A removes
   2001 from its conference within 10 s with the usual events
   (EventPartyDeleted OtherDN 2001 to 1001, LCTParty without 2001); the
   customer and 1001 talk on; nothing left on A once they hang up; A
   exits 0.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.conf import Ears, lct, tlibctl  # noqa: E402
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Ports, Server, check, config_text, main, nothing_left,
    write_file)
from lib.phones import (  # noqa: E402
    Phone, music_wav, registered_phones, tonecheck)

CUSTOMER = '5551234'
GATEWAY = '127.0.0.2'
GW_SLOT = 3
TONES = {'1001': 440, '2001': 1600, CUSTOMER: 2200}
MUSIC = 700
SITE = {'1001': 'A', '2001': 'B', CUSTOMER: 'A'}
LD = 'ListenDisconnectedHeld'


def where(alias):
    return SITE[alias]


def configs(run, pa, pb, music, moh):
    common = dict(sip_enable_call_info='true',
                  sip_enable_call_info_extended='true')
    dns_a = {'1001': {},
             'gw': {'type': 'Trunk', 'prefix': '9',
                    'contact': f'sip:{GATEWAY}:{pa.phone_sip(GW_SLOT)}'},
             'siteB': {'type': 'Trunk', 'prefix': '8',
                       'contact': f'sip:{LOOPBACK}:{pb.sip};transport=tcp',
                       'sip-server-inter-trunk': 'true',
                       'sip-enable-moh': moh}}
    dns_b = {'2001': {},
             'siteA': {'type': 'Trunk', 'prefix': '7',
                       'contact': f'sip:{LOOPBACK}:{pa.sip}',
                       'sip-server-inter-trunk': 'true'}}
    ca = write_file(run.path('site-a.conf'), config_text(
        pa, run.src, dns_a, location='A', music_listen_disconnect=music,
        **common))
    cb = write_file(run.path('site-b.conf'), config_text(
        pb, run.src, dns_b, location='B', **common))
    return ca, cb


def both(t, want):
    """The next snapshots of 1001 (A) and 2001 (B) list want"""
    lct(t['cti']['1001'], '1001', t['ca'], want, where)
    lct(t['cti']['2001'], '2001', t['cb'], want, where)


def listen_event(t, name, state, ref):
    ev = t['cti']['1001'].wait(name, ReferenceID=ref)
    check(ev['ThisDN'] == '1001' and ev['OtherDN'] == '2001' and
          ev['ThirdPartyDN'] == '1001' and ev['CallState'] == state,
          f'1001: {ev}')


def silent(t, name, dn):
    ears = t['ears']
    ears.listen(name, [dn])
    t0 = ears.marks[name][dn] + 0.5
    rc, out = tonecheck(t['ph'][dn].recording(), '--silent', '--from',
                        f'{t0:.2f}', '--to', f'{t0 + 1.9:.2f}')
    check(rc == 0, f'{dn} did not hear silence at {name}:\n{out}')


# ------------------------------------------------------------------ steps

def step_conference(t):
    pa, cti, ears = t['pa'], t['cti'], t['ears']
    t['ph'][CUSTOMER].dial(f'sip:1001@{LOOPBACK}:{pa.sip}')
    t['ph']['1001'].wait_call_established(5)
    ev = cti['1001'].wait('EventEstablished', ThisDN='1001')
    check(ev['ANI'] == CUSTOMER, f'inbound: {ev}')
    t['ca'] = ev['ConnID']
    tlibctl(t['run'], f'TSingleStepConference ThisDN=1001 '
            f'ConnID={t["ca"]} OtherDN=82001', ['1001'],
            'EventPartyAdded ThisDN=1001', port=pa.tlib)
    ev = cti['2001'].wait('EventEstablished', ThisDN='2001')
    check(ev['CallType'] == 'Inbound' and ev['ANI'] == '1001',
          f'2001: {ev}')
    t['cb'] = ev['ConnID']
    both(t, [(CUSTOMER, None), ('1001', None), ('2001', None)])
    ears.mark(t['name'])
    ears.talk(t['name'], list(TONES))


def disconnect_2001(t):
    ref = t['cti']['1001'].request('TListenDisconnect', ThisDN='1001',
                                   ConnID=t['ca'], OtherDN='2001')
    listen_event(t, 'EventListenDisconnected', 'Held', ref)
    both(t, [(CUSTOMER, None), ('1001', None), ('2001', LD)])


def step_disconnect_silence(t):
    ears = t['ears']
    disconnect_2001(t)
    ears.mark('2001 out')
    ears.talk('2001 out', [CUSTOMER, '1001'], extra_not=['2001'])
    silent(t, '2001 out', '2001')


def reconnect_2001(t):
    ref = t['cti']['1001'].request('TListenReconnect', ThisDN='1001',
                                   ConnID=t['ca'], OtherDN='2001')
    listen_event(t, 'EventListenReconnected', 'Conferenced', ref)
    both(t, [(CUSTOMER, None), ('1001', None), ('2001', None)])


def step_reconnect(t):
    reconnect_2001(t)
    t['ears'].mark('2001 back')
    t['ears'].talk('2001 back', list(TONES))


def remote_listen(t, name, ref, event, state):
    for dn in ('1001', '2001'):
        ev = t['cti'][dn].wait(event, ThisDN=dn)
        check(ev['OtherDN'] == CUSTOMER and ev['ThirdPartyDN'] == '2001'
              and ev['CallState'] == state, f'{dn}: {ev}')
        if dn == '2001':
            check(ev.get('ReferenceID') == ref, f'2001: no ReferenceID '
                  f'{ref}: {ev}')


def step_request_from_b(t):
    cti, ears, cb = t['cti'], t['ears'], t['cb']
    ref = cti['2001'].request('TListenDisconnect', ThisDN='2001',
                              ConnID=cb, OtherDN=CUSTOMER)
    remote_listen(t, 'from B', ref, 'EventListenDisconnected', 'Held')
    both(t, [(CUSTOMER, LD), ('1001', None), ('2001', None)])
    ears.mark('customer out, from B')
    ears.talk('customer out, from B', ['1001', '2001'],
              extra_not=[CUSTOMER])
    ears.listen('customer out, from B', [CUSTOMER])
    ears.check('customer out, from B', CUSTOMER, [MUSIC],
               [TONES['1001'], TONES['2001']])

    for other, code, words in ((CUSTOMER, 43, 'already disconnected'),
                               ('1001', 51, 'fewer than two active')):
        ref = cti['2001'].request('TListenDisconnect', ThisDN='2001',
                                  ConnID=cb, OtherDN=other)
        ev = cti['2001'].wait('EventError', ReferenceID=ref)
        check(ev['ErrorCode'] == code and words in ev['ErrorMessage'],
              f'{other}: {ev}, expected {code} "{words}"')

    ref = cti['2001'].request('TListenReconnect', ThisDN='2001', ConnID=cb,
                              OtherDN=CUSTOMER)
    remote_listen(t, 'back from B', ref, 'EventListenReconnected',
                  'Conferenced')
    both(t, [(CUSTOMER, None), ('1001', None), ('2001', None)])
    ears.mark('customer back, from B')
    ears.talk('customer back, from B', list(TONES))


def step_moh_on(t):
    pa, pb, cti, ph = t['pa'], t['pb'], t['cti'], t['ph']
    configs(t['run'], pa, pb, t['music'], 'true')
    since = os.path.getsize(t['site_a'].log_path)
    t['site_a'].reload()
    t['site_a'].wait_log(r'reloaded ', 5, since)
    # the customer leaves (1001 and 2001 talk on), then 1001: the call
    # ends on both sites
    closed = {dn: ph[dn].ctrl.count('CALL_CLOSED') for dn in ph}
    ph[CUSTOMER].hangup()
    ph[CUSTOMER].wait_call_closed(5, count=closed[CUSTOMER] + 1)
    ph['1001'].hangup()
    for dn in ('1001', '2001'):
        ph[dn].wait_call_closed(5, count=closed[dn] + 1)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=t['ca'])
    cti['2001'].wait('EventReleased', ThisDN='2001', ConnID=t['cb'])
    t['name'] = 'conference again'
    step_conference(t)
    disconnect_2001(t)
    ears = t['ears']
    ears.mark('2001 out, music')
    ears.talk('2001 out, music', [CUSTOMER, '1001'], extra_not=['2001'])
    ears.listen('2001 out, music', ['2001'])
    ears.check('2001 out, music', '2001', [MUSIC],
               [TONES['1001'], TONES[CUSTOMER], TONES['2001']])


def step_collapse(t):
    cti, ph = t['cti'], t['ph']
    reconnect_2001(t)
    ref = cti['1001'].request('TListenDisconnect', ThisDN='1001',
                              ConnID=t['ca'], OtherDN=CUSTOMER)
    cti['1001'].wait('EventListenDisconnected', ReferenceID=ref)
    both(t, [(CUSTOMER, LD), ('1001', None), ('2001', None)])
    ph['1001'].hangup()
    ph['1001'].wait_call_closed(5)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=t['ca'])
    lct(cti['2001'], '2001', t['cb'], [(CUSTOMER, None), ('2001', None)],
        where)
    t['ears'].mark('collapsed')
    t['ears'].talk('collapsed', [CUSTOMER, '2001'], extra_not=['1001'])


def step_end(t):
    ph, cti = t['ph'], t['cti']
    ph['2001'].hangup()
    ph['2001'].wait_call_closed(5)
    ph[CUSTOMER].wait_call_closed(5)
    cti['2001'].wait('EventReleased', ThisDN='2001', ConnID=t['cb'])


def step_site_dies(t):
    cti, ph = t['cti'], t['ph']
    t['name'] = 'before B dies'
    step_conference(t)
    t['site_b'].kill()
    ev = cti['1001'].wait('EventPartyDeleted', ThisDN='1001',
                          OtherDN='2001', deadline=10)
    check(ev['ConnID'] == t['ca'], f'1001: {ev}')
    lct(cti['1001'], '1001', t['ca'], [(CUSTOMER, None), ('1001', None)],
        where)
    t['site_a'].wait_log(r'trunk siteB .* is down', 2)
    t['ears'].mark('B dead')
    t['ears'].talk('B dead', [CUSTOMER, '1001'], extra_not=['2001'])
    closed = ph[CUSTOMER].ctrl.count('CALL_CLOSED')
    ph['1001'].hangup()
    ph[CUSTOMER].wait_call_closed(5, count=closed + 1)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=t['ca'])


def body(run):
    pa = run.ports
    pb = Ports(pa.base + 50)
    music = music_wav(run.path('music-700.wav'), MUSIC)
    conf_a, conf_b = configs(run, pa, pb, music, 'false')
    site_a = Server(run, conf_a).start()
    site_b = Server(run, conf_b, pb).start()
    phones = registered_phones(run, [('1001', TONES['1001'])], tag='a')
    phones += registered_phones(run, [('2001', TONES['2001'])], pb,
                                tag='b')
    customer = Phone('gw', CUSTOMER, pa.phone_sip(GW_SLOT),
                     pa.phone_rtp(GW_SLOT), tone_hz=TONES[CUSTOMER],
                     workdir=run.tmp, address=GATEWAY).start()
    ph = {p.dn: p for p in phones}
    ph[CUSTOMER] = customer
    cti = {'1001': Cti(pa.tlib), '2001': Cti(pb.tlib)}
    for dn, c in cti.items():
        c.register(dn)
    t = {'run': run, 'pa': pa, 'pb': pb, 'ph': ph, 'cti': cti,
         'music': music, 'site_a': site_a, 'site_b': site_b,
         'name': 'conference',
         'ears': Ears(ph, TONES, MUSIC)}
    steps = [('customer -> 1001 (A), 1001 brings in 2001 (B)',
              step_conference),
             ('1001 disconnects 2001: silence across the trunk',
              step_disconnect_silence),
             ('1001 reconnects 2001', step_reconnect),
             ('2001 on B disconnects and reconnects the customer on A',
              step_request_from_b),
             ('sip-enable-moh = true: 2001 disconnected hears A\'s music',
              step_moh_on),
             ('collapse across sites: customer and 2001 in a plain call',
              step_collapse),
             ('2001 hangs up', step_end)]
    for title, fn in steps:
        if not run.step(title, lambda f=fn: f(t) or True):
            break
    run.step('nothing left on A', nothing_left, site_a)
    run.step('nothing left on B', nothing_left, site_b)
    if run.step('site B dies mid-conference: A talks on without it',
                lambda: step_site_dies(t) or True):
        run.step('nothing left on A after B died', nothing_left, site_a)
    for c in cti.values():
        c.close()
    for p in ph.values():
        p.stop()
    if site_b.alive():
        site_b.kill()
    run.step('site A: SIGTERM -> exit status 0', site_a.stop)


if __name__ == '__main__':
    sys.exit(main('multisite.private', body))
