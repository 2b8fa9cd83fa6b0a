#!/usr/bin/env python3
"""End-to-end: a consult conference, single-step add, delete, hang-up and
collapse, with four baresip phones driven by tools/tlibctl, by ear and by
the LCTParty snapshots.

    python3 tests/e2e/test_conference.py

Why: the conference is where the product's headline feature lives; each
agent must hear every other party and never themselves, a party on the
side of a consultation must hear music and nothing else, and every
desktop must see the true list of parties after every change.
Phones (auto-answer), each sending its own tone: 1001 A 440 Hz, 1002 B
1000 Hz, 1003 C 1600 Hz, 1004 D 2200 Hz; default-music is a 700 Hz file.
sip-enable-call-info and -extended are on. Steps, each checked by ear
over a window of its own and by the EventUserEvent (LCTParty) every DN
in the call received:
1. A dials C: A hears C, C hears A;
2. TInitiateConference A -> B (tlibctl): C hears the music and nothing of
   A or B; A and B hear each other; LCTParty of the main call has A Held;
3. TCompleteConference: A, B and C hear each other, never themselves;
   LCTParty0..2 = 1001, 1003, 1002;
4. TSingleStepConference A -> D: all four hear the other three;
5. TDeleteFromConference A deletes D: D's phone is hung up; A, B, C hear
   each other; EventPartyDeleted to A, B, C names D; THoldCall by B: A
   and C hear only each other, LCTParty shows B Held; TRetrieveCall;
6. B hangs up: A and C are a plain call (EventPartyDeleted CallState Ok)
   and hear each other; SIGHUP with sip-enable-call-info-extended off:
   A's hold brings a snapshot without a state key; with call info off:
   no snapshot at all;
7. TReleaseCall: both phones hung up; nothing left; SIGTERM -> exit 0.
Between 3 and 4, refused requests (OtherDN not a party alias or ThisDN,
a consult call that does not exist or has ended, calls that cannot
merge, OtherDN already in the call or not configured, an unknown ConnID,
ThisDN not in the call) get 53, 56, 51 or 59 and change nothing: A, B
and C still hear each other.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, nothing_left, poll,
    write_file)
from lib.conf import Ears, lct, tlibctl  # noqa: E402
from lib.phones import music_wav, registered_phones  # noqa: E402

TONES = {'1001': 440, '1002': 1000, '1003': 1600, '1004': 2200}
MUSIC = 700


def step_dial(run, ph, ears, cti, st):
    ph['1001'].dial(f'sip:1003@{LOOPBACK}:{run.ports.sip}')
    ph['1003'].wait_call_established(5)
    ev = cti['1001'].wait('EventEstablished', ThisDN='1001')
    st['c1'] = ev['ConnID']
    for dn in ('1001', '1003'):
        lct(cti[dn], dn, st['c1'], [('1001', None), ('1003', None)])
    ears.mark('call')
    ears.talk('call', ['1001', '1003'])


def step_initiate(run, ph, ears, cti, st):
    events = tlibctl(run, f'TInitiateConference ThisDN=1001 '
                     f'ConnID={st["c1"]} OtherDN=1002', ['1001', '1002'],
                     'EventEstablished ThisDN=1002')
    dial = [e for e in events if e['event'] == 'EventDialing']
    check(dial and dial[0]['CallType'] == 'Consult', f'no consult: {events}')
    st['c2'] = dial[0]['ConnID']
    lct(cti['1003'], '1003', st['c1'], [('1001', 'Held'), ('1003', None)])
    ears.mark('consult')
    ears.talk('consult', ['1001', '1002'], extra_not=['1003'])
    ears.listen('consult', ['1003'])
    ears.check('consult', '1003', [MUSIC], [440, 1000, 1600])


def step_complete(run, ph, ears, cti, st):
    tlibctl(run, f'TCompleteConference ThisDN=1001 ConnID={st["c1"]} '
            f'ConsultConnID={st["c2"]}', ['1001'],
            'EventPartyAdded ThisDN=1001')
    ev = cti['1002'].wait('EventPartyChanged', ThisDN='1002')
    check(ev['ConnID'] == st['c1'] and ev['PreviousConnID'] == st['c2'] and
          ev['CallState'] == 'Conferenced', f'EventPartyChanged: {ev}')
    ev = cti['1003'].wait('EventPartyAdded', ThisDN='1003')
    check(ev['OtherDN'] == '1002' and ev['ThirdPartyDN'] == '1001',
          f'EventPartyAdded to 1003: {ev}')
    want = [('1001', None), ('1003', None), ('1002', None)]
    for dn in ('1001', '1002', '1003'):
        lct(cti[dn], dn, st['c1'], want)
    ears.mark('conference')
    ears.talk('conference', ['1001', '1002', '1003'])


def step_refusals(run, ph, ears, cti, st):
    """Bad conference requests: their ErrorCode, and nothing changes."""
    c1, c2, a = st['c1'], st['c2'], cti['1001']
    rows = [
        ('TDeleteFromConference', {'OtherDN': '9999'}, 53),
        ('TDeleteFromConference', {'OtherDN': '1001'}, 53),
        ('TCompleteConference', {'ConsultConnID': 'ffffffffffffff00'}, 56),
        ('TCompleteConference', {'ConsultConnID': c1}, 51),
        ('TReconnectCall', {'ConsultConnID': c2}, 56),
        ('TSingleStepConference', {'OtherDN': '1002'}, 53),
        ('TInitiateConference', {'OtherDN': '4711'}, 59),
        ('TSingleStepConference', {'OtherDN': '1001', 'ConnID': 'f' * 16},
         56),
    ]
    for name, attrs, code in rows:
        ref = a.request(name, **{'ThisDN': '1001', 'ConnID': c1, **attrs})
        ev = a.wait('EventError', ReferenceID=ref)
        check(ev['ErrorCode'] == code, f'{name} {attrs}: {ev}, expected '
              f'{code}')
    ref = cti['1004'].request('TDeleteFromConference', ThisDN='1004',
                              ConnID=c1, OtherDN='1002')
    ev = cti['1004'].wait('EventError', ReferenceID=ref)
    check(ev['ErrorCode'] == 56, f'1004 not in the call: {ev}')
    ears.mark('refused')
    ears.talk('refused', ['1001', '1002', '1003'], extra_not=['1004'])


def step_hold(run, ph, ears, cti, st):
    """THoldCall by B inside the conference: B is not heard, A and C go
    on; LCTParty shows B Held. Then TRetrieveCall. (B's phone, put on hold
    by the re-INVITE, stops playing and recording: baresip does not record
    again after the hold, so B's ear is not used after this step, and what
    a held party hears is pinned by the model's units.)"""
    c1 = st['c1']
    tlibctl(run, f'THoldCall ThisDN=1002 ConnID={c1}', ['1002'],
            'EventHeld ThisDN=1002')
    for dn in ('1001', '1002', '1003'):
        lct(cti[dn], dn, c1, [('1001', None), ('1003', None),
                              ('1002', 'Held')])
    ears.mark('held')
    ears.talk('held', ['1001', '1003'], extra_not=['1002', '1004'])
    tlibctl(run, f'TRetrieveCall ThisDN=1002 ConnID={c1}', ['1002'],
            'EventRetrieved ThisDN=1002')
    for dn in ('1001', '1002', '1003'):
        lct(cti[dn], dn, c1, [('1001', None), ('1003', None),
                              ('1002', None)])


def step_single_step(run, ph, ears, cti, st):
    tlibctl(run, f'TSingleStepConference ThisDN=1001 ConnID={st["c1"]} '
            f'OtherDN=1004', ['1001'], 'EventPartyAdded ThisDN=1001')
    want = [('1001', None), ('1003', None), ('1002', None), ('1004', None)]
    for dn in TONES:
        lct(cti[dn], dn, st['c1'], want)
    ears.mark('four')
    ears.talk('four', list(TONES))


def step_delete(run, ph, ears, cti, st):
    tlibctl(run, f'TDeleteFromConference ThisDN=1001 ConnID={st["c1"]} '
            f'OtherDN=1004', ['1001'], 'EventPartyDeleted ThisDN=1001')
    ph['1004'].wait_call_closed(5)
    for dn in ('1002', '1003'):
        ev = cti[dn].wait('EventPartyDeleted', ThisDN=dn)
        check(ev['OtherDN'] == '1004' and ev['ThirdPartyDN'] == '1001' and
              ev['CallState'] == 'Conferenced', f'{dn}: {ev}')
    for dn in ('1001', '1002', '1003'):
        lct(cti[dn], dn, st['c1'], [('1001', None), ('1003', None),
                                    ('1002', None)])
    ears.mark('deleted')
    ears.talk('deleted', ['1001', '1002', '1003'], extra_not=['1004'])


def step_hangup(run, ph, ears, cti, st):
    ph['1002'].hangup()
    ph['1002'].wait_call_closed(5)
    for dn in ('1001', '1003'):
        ev = cti[dn].wait('EventPartyDeleted', ThisDN=dn, OtherDN='1002')
        check(ev['CallState'] == 'Ok',
              f'{dn}: {ev}')
        lct(cti[dn], dn, st['c1'], [('1001', None), ('1003', None)])
    ears.mark('plain')
    ears.talk('plain', ['1001', '1003'], extra_not=['1002', '1004'])


def step_reload(run, ph, ears, cti, st, server, conf_path):
    """The LCTParty options are read when each event is sent: after a
    SIGHUP that turns -extended off, a hold's snapshot has no state key;
    after one that turns call info off, a hold brings no snapshot."""
    c1 = st['c1']

    def reload(**opts):
        since = len(server.log_text())
        write_file(conf_path, config_text(
            run.ports, run.src, {dn: {} for dn in TONES},
            default_music=st['music'], **opts))
        server.reload()
        server.wait_log(r'reloaded ', since=since)

    def hold_and_retrieve():
        for req, ev in (('THoldCall', 'EventHeld'),
                        ('TRetrieveCall', 'EventRetrieved')):
            tlibctl(run, f'{req} ThisDN=1001 ConnID={c1}', ['1001'],
                    f'{ev} ThisDN=1001')

    def barrier(dn):
        """Every event sent to dn so far, up to a query's answer (one
        connection keeps the order)."""
        ref = cti[dn].request('TQueryAddress', ThisDN=dn)
        cti[dn].wait('EventAddressInfo', ReferenceID=ref)

    reload(sip_enable_call_info='true',
           sip_enable_call_info_extended='false')
    hold_and_retrieve()
    # the hold's snapshot has no state key now, then the retrieve's
    lct(cti['1003'], '1003', c1, [('1001', None), ('1003', None)])
    lct(cti['1003'], '1003', c1, [('1001', None), ('1003', None)])

    reload(sip_enable_call_info='false')
    for dn in ('1001', '1003'):
        barrier(dn)
    hold_and_retrieve()
    for dn in ('1001', '1003'):
        start = len(cti[dn].pending())
        barrier_ref = cti[dn].request('TQueryAddress', ThisDN=dn)
        check(poll(lambda: any(e.get('ReferenceID') == barrier_ref
                               for e in cti[dn].pending()), 5),
              f'{dn}: no answer to TQueryAddress')
        late = [e for e in cti[dn].pending()[:start]
                if e['event'] == 'EventUserEvent']
        check(not late, f'{dn}: LCTParty sent with call info off: {late}')


def step_release(run, ph, ears, cti, st):
    tlibctl(run, f'TReleaseCall ThisDN=1001 ConnID={st["c1"]}', ['1001'],
            'EventReleased ThisDN=1001')
    ph['1001'].wait_call_closed(5)
    ph['1003'].wait_call_closed(5)


def body(run):
    music = music_wav(run.path('music-700.wav'), MUSIC)
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {dn: {} for dn in TONES}, default_music=music,
        sip_enable_call_info='true', sip_enable_call_info_extended='true'))
    server = Server(run, conf).start()
    phones = registered_phones(run, list(TONES.items()))
    ph = dict(zip(TONES, phones))
    cti = {}  # one client per DN: each waits on its own events
    for dn in TONES:
        cti[dn] = Cti(run.ports.tlib)
        cti[dn].register(dn)
    ears, st = Ears(ph, TONES, MUSIC), {'music': music}
    steps = [('A dials C', step_dial),
             ('TInitiateConference A -> B: C hears music', step_initiate),
             ('TCompleteConference: A, B, C talk', step_complete),
             ('refused conference requests change nothing',
              step_refusals),
             ('TSingleStepConference D: four talk', step_single_step),
             ('TDeleteFromConference D', step_delete),
             ('THoldCall inside the conference', step_hold),
             ('B hangs up: a plain call', step_hangup),
             ('SIGHUP: LCTParty options read at event time', step_reload),
             ('TReleaseCall', step_release)]
    for title, fn in steps:
        extra = (server, conf) if fn is step_reload else ()
        ok = run.step(title, lambda f=fn, x=extra:
                      f(run, ph, ears, cti, st, *x) or True)
        if not ok:
            break
    run.step('nothing left behind', nothing_left, server)
    for c in cti.values():
        c.close()
    for p in phones:
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('conference', body))
