#!/usr/bin/env python3
"""End-to-end, the acceptance test of private conversations: a customer
through a trunk, three agents, TListenDisconnect / TListenReconnect and
the collapse rule, by ear and by every event on every DN.

    python3 tests/e2e/test_private.py

Why: this is the product's headline. A customer (a baresip behind the
trunk `gw`, on 127.0.0.2, ANI 5551234, 2200 Hz) calls agent 1001 (440 Hz);
1001 brings in 1002 (1000 Hz, consult + complete) and 1003 (1600 Hz,
single-step). Music (music-listen-disconnect) is a 700 Hz file. Steps:
1. 1001 disconnects the customer: the customer hears only the music;
   1001, 1002, 1003 hear each other and not the customer.
   EventListenDisconnected (CallState Held, OtherDN 5551234, ThirdPartyDN
   1001) to each agent, ReferenceID for 1001's; LCTParty shows the
   customer ListenDisconnectedHeld;
2. refusals that change nothing (by ear too): disconnecting the customer
   again (43), reconnecting 1002 (43), OtherDN not an alias (53), OtherDN
   = ThisDN (53);
3. 1002 reconnects the customer: everyone hears everyone;
   EventListenReconnected (CallState Conferenced) to each agent;
4. 1001 disconnects the customer again and hangs up: the customer stays
   disconnected (music only) while 1002 and 1003 talk; disconnecting 1003
   too would leave one active party (51);
5. 1003 hangs up: the conference is released into a plain call: the
   customer and 1002 hear each other; EventPartyDeleted (CallState Ok),
   EventListenReconnected with ReconnectReason ConferenceReleased, LCTParty
   with two parties and no state;
6. 1002 hangs up: the customer's call ends; nothing left; exit 0.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.conf import Ears, lct, tlibctl  # noqa: E402
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, nothing_left, write_file)
from lib.phones import Phone, music_wav, registered_phones  # noqa: E402

CUSTOMER = '5551234'
GATEWAY = '127.0.0.2'
TONES = {'1001': 440, '1002': 1000, '1003': 1600, CUSTOMER: 2200}
AGENTS = ('1001', '1002', '1003')
MUSIC = 700


def location(alias):
    # the customer's switch is this site too, not its gateway's DN name
    return 'Home'


def snapshot(cti, dns, c1, want):
    for dn in dns:
        lct(cti[dn], dn, c1, want, location)


def step_inbound(run, ph, ears, cti, st):
    ph[CUSTOMER].dial(f'sip:1001@{LOOPBACK}:{run.ports.sip}')
    ph['1001'].wait_call_established(5)
    ev = cti['1001'].wait('EventEstablished', ThisDN='1001')
    check(ev['CallType'] == 'Inbound' and ev['ANI'] == CUSTOMER and
          ev['OtherDN'] == CUSTOMER, f'inbound call: {ev}')
    st['c1'] = ev['ConnID']
    ears.mark('inbound')
    ears.talk('inbound', [CUSTOMER, '1001'])


def step_conference(run, ph, ears, cti, st):
    c1 = st['c1']
    events = tlibctl(run, f'TInitiateConference ThisDN=1001 ConnID={c1} '
                     'OtherDN=1002', ['1001', '1002'],
                     'EventEstablished ThisDN=1002')
    c2 = [e for e in events if e['event'] == 'EventDialing'][0]['ConnID']
    tlibctl(run, f'TCompleteConference ThisDN=1001 ConnID={c1} '
            f'ConsultConnID={c2}', ['1001'], 'EventPartyAdded ThisDN=1001')
    tlibctl(run, f'TSingleStepConference ThisDN=1001 ConnID={c1} '
            'OtherDN=1003', ['1001'], 'EventPartyAdded ThisDN=1001')
    snapshot(cti, AGENTS, c1, [(CUSTOMER, None), ('1001', None),
                               ('1002', None), ('1003', None)])
    ears.mark('conference')
    ears.talk('conference', list(TONES))


def listen_events(cti, dns, name, state, by, ref=None):
    for dn in dns:
        ev = cti[dn].wait(name, ThisDN=dn)
        check(ev['OtherDN'] == CUSTOMER and ev['ThirdPartyDN'] == by and
              ev['CallState'] == state, f'{dn}: {ev}')
        if dn == by and ref:
            check(ev.get('ReferenceID') == ref, f'{dn}: no ReferenceID '
                  f'{ref}: {ev}')


def disconnected(ears, name, agents):
    """The customer hears only the music; the agents only each other."""
    ears.mark(name)
    ears.talk(name, list(agents), extra_not=[CUSTOMER])
    ears.listen(name, [CUSTOMER])
    ears.check(name, CUSTOMER, [MUSIC],
               [TONES[a] for a in AGENTS])


def step_disconnect(run, ph, ears, cti, st):
    c1 = st['c1']
    ref = cti['1001'].request('TListenDisconnect', ThisDN='1001',
                              ConnID=c1, OtherDN=CUSTOMER)
    listen_events(cti, AGENTS, 'EventListenDisconnected', 'Held', '1001',
                  ref)
    snapshot(cti, AGENTS, c1, [(CUSTOMER, 'ListenDisconnectedHeld'),
                               ('1001', None), ('1002', None),
                               ('1003', None)])
    disconnected(ears, 'disconnected', AGENTS)


def step_refusals(run, ph, ears, cti, st):
    c1, a = st['c1'], cti['1001']
    for name, other, code in (('TListenDisconnect', CUSTOMER, 43),
                              ('TListenReconnect', '1002', 43),
                              ('TListenDisconnect', '4711', 53),
                              ('TListenDisconnect', '1001', 53)):
        ref = a.request(name, ThisDN='1001', ConnID=c1, OtherDN=other)
        ev = a.wait('EventError', ReferenceID=ref)
        check(ev['ErrorCode'] == code and ev['ErrorMessage'],
              f'{name} {other}: {ev}, expected {code}')
    disconnected(ears, 'refused', AGENTS)


def step_reconnect(run, ph, ears, cti, st):
    c1 = st['c1']
    ref = cti['1002'].request('TListenReconnect', ThisDN='1002',
                              ConnID=c1, OtherDN=CUSTOMER)
    listen_events(cti, AGENTS, 'EventListenReconnected', 'Conferenced',
                  '1002', ref)
    snapshot(cti, AGENTS, c1, [(CUSTOMER, None), ('1001', None),
                               ('1002', None), ('1003', None)])
    ears.mark('reconnected')
    ears.talk('reconnected', list(TONES))


def step_requester_leaves(run, ph, ears, cti, st):
    c1 = st['c1']
    tlibctl(run, f'TListenDisconnect ThisDN=1001 ConnID={c1} '
            f'OtherDN={CUSTOMER}', ['1001'],
            'EventListenDisconnected ThisDN=1001')
    listen_events(cti, AGENTS, 'EventListenDisconnected', 'Held', '1001')
    ph['1001'].hangup()
    ph['1001'].wait_call_closed(5)
    cti['1001'].wait('EventReleased', ThisDN='1001', ConnID=c1)
    for dn in ('1002', '1003'):
        ev = cti[dn].wait('EventPartyDeleted', ThisDN=dn, OtherDN='1001')
        check(ev['CallState'] == 'Conferenced', f'{dn}: {ev}')
    snapshot(cti, ('1002', '1003'), c1, [
        (CUSTOMER, 'ListenDisconnectedHeld'), ('1002', None),
        ('1003', None)])
    # disconnecting 1003 too would leave one active party: refused
    ref = cti['1002'].request('TListenDisconnect', ThisDN='1002',
                              ConnID=c1, OtherDN='1003')
    ev = cti['1002'].wait('EventError', ReferenceID=ref)
    check(ev['ErrorCode'] == 51, f'1003 too: {ev}')
    disconnected(ears, 'requester gone', ('1002', '1003'))


def step_collapse(run, ph, ears, cti, st):
    c1 = st['c1']
    ph['1003'].hangup()
    ph['1003'].wait_call_closed(5)
    ev = cti['1002'].wait('EventPartyDeleted', ThisDN='1002',
                          OtherDN='1003')
    check(ev['CallState'] == 'Ok', f'1002: {ev}')
    ev = cti['1002'].wait('EventListenReconnected', ThisDN='1002')
    check(ev['OtherDN'] == CUSTOMER and
          ev.get('Extensions', {}).get('ReconnectReason') ==
          'ConferenceReleased' and ev['CallState'] == 'Ok', f'1002: {ev}')
    lct(cti['1002'], '1002', c1, [(CUSTOMER, None), ('1002', None)],
        location)
    ears.mark('collapsed')
    ears.talk('collapsed', [CUSTOMER, '1002'], extra_not=['1001', '1003'])


def step_end(run, ph, ears, cti, st):
    ph['1002'].hangup()
    ph['1002'].wait_call_closed(5)
    ph[CUSTOMER].wait_call_closed(5)
    cti['1002'].wait('EventReleased', ThisDN='1002', ConnID=st['c1'])


def body(run):
    music = music_wav(run.path('music-700.wav'), MUSIC)
    gw_slot = 3
    dns = {dn: {} for dn in AGENTS}
    dns['gw'] = {'type': 'Trunk', 'prefix': '9',
                 'contact': f'sip:{GATEWAY}:{run.ports.phone_sip(gw_slot)}'}
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, dns, music_listen_disconnect=music,
        sip_enable_call_info='true', sip_enable_call_info_extended='true'))
    server = Server(run, conf).start()
    agents = registered_phones(run, [(dn, TONES[dn]) for dn in AGENTS])
    customer = Phone('gw', CUSTOMER, run.ports.phone_sip(gw_slot),
                     run.ports.phone_rtp(gw_slot), tone_hz=TONES[CUSTOMER],
                     workdir=run.tmp, address=GATEWAY).start()
    ph = dict(zip(AGENTS, agents))
    ph[CUSTOMER] = customer
    cti = {}
    for dn in AGENTS:
        cti[dn] = Cti(run.ports.tlib)
        cti[dn].register(dn)
    ears, st = Ears(ph, TONES, MUSIC), {}
    steps = [('customer calls 1001 through the trunk', step_inbound),
             ('1001 conferences in 1002 and 1003', step_conference),
             ('1001 disconnects the customer', step_disconnect),
             ('refused requests change nothing', step_refusals),
             ('1002 reconnects the customer', step_reconnect),
             ('1001 disconnects again and hangs up', step_requester_leaves),
             ('1003 hangs up: collapse to a plain call', step_collapse),
             ('1002 hangs up', step_end)]
    for title, fn in steps:
        if not run.step(title, lambda f=fn: f(run, ph, ears, cti, st) or
                        True):
            break
    run.step('nothing left behind', nothing_left, server)
    for c in cti.values():
        c.close()
    for p in (*agents, customer):
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('private', body))
