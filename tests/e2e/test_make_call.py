#!/usr/bin/env python3
"""End-to-end: TMakeCall by tools/tlibctl, checked by events and by ear.

    python3 tests/e2e/test_make_call.py

Why: an agent clicks "call 1002" on the desktop and expects their own phone
to pick up by itself and then ring 1002 (third-party call control,
RFC 3725), with the usual events, and both phones hearing each other.
Two baresip phones (auto-answer), 1001 at 440 Hz and 1002 at 1000 Hz; the
request goes through tlibctl (the project's own client), the events are
read by tlibctl too:
- tlibctl `TMakeCall ThisDN=1001 OtherDN=1002` exits 0 on EventEstablished
  for 1001; its output has, for 1001, EventDialing (with the ReferenceID)
  then EventEstablished, and for 1002 EventRinging then EventEstablished,
  one ConnID throughout, CallType Internal, ANI 1001, DNIS 1002;
- the INVITE to 1001's phone asked it to answer by itself (Call-Info
  answer-after=0 and Alert-Info alert-autoanswer, seen in baresip's log);
- by ear: 1001 hears 1000 Hz and not 440, 1002 hears 440 and not 1000;
- THoldCall by tlibctl: 1002 hears the music (a 700 Hz file), not 440;
  TRetrieveCall: 1002 hears 440 again;
- refusals by tlibctl's exit code 4 and the ErrorCode: OtherDN unknown
  (59), OtherDN = ThisDN (53), OtherDN missing (53), ThisDN not registered
  by the client (41); TReleaseCall by tlibctl ends the call for both.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    Server, check, config_text, main, nothing_left, write_file)
from lib.cti import Cti  # noqa: E402
from lib.phones import (  # noqa: E402
    assert_hears, music_wav, registered_phones)
from lib.rtpua import Ua  # noqa: E402

TONE_A, TONE_B, TONE_MUSIC = 440, 1000, 700
DEADLINE_MS = 15000


def tlibctl(run, lines, *args):
    """Run tlibctl with request lines on stdin; (exit status, events)."""
    binary = os.environ.get('TLIBCTL') or os.path.join(
        os.path.dirname(os.environ['SIPSERVER']), 'tlibctl')
    proc = subprocess.run(
        [binary, '--port', str(run.ports.tlib), '--timeout',
         str(DEADLINE_MS), *args], input='\n'.join(lines) + '\n',
        capture_output=True, text=True, timeout=DEADLINE_MS / 1000 + 5)
    events = [json.loads(x) for x in proc.stdout.splitlines() if x]
    return proc.returncode, events, proc.stderr


def names(events, dn):
    return [e['event'] for e in events if e.get('ThisDN') == dn and
            e['event'].startswith('Event') and 'ConnID' in e]


def make_call(run, a, b, state):
    rc, events, err = tlibctl(
        run, ['TMakeCall ThisDN=1001 OtherDN=1002 ReferenceID=9'],
        '--register', '1001', '--register', '1002',
        '--wait', 'EventEstablished ThisDN=1001')
    check(rc == 0, f'tlibctl exit {rc}: {err}\n{events}')
    check(names(events, '1001') == ['EventDialing', 'EventEstablished'],
          f'1001 got {names(events, "1001")}')
    check(names(events, '1002') == ['EventRinging', 'EventEstablished'],
          f'1002 got {names(events, "1002")}')
    dialing = next(e for e in events if e['event'] == 'EventDialing')
    check(dialing.get('ReferenceID') == 9, f'EventDialing: {dialing}')
    calls = [e for e in events if 'ConnID' in e]
    check(len({e['ConnID'] for e in calls}) == 1, f'ConnIDs: {calls}')
    check(all(e['CallType'] == 'Internal' and e['ANI'] == '1001' and
              e['DNIS'] == '1002' for e in calls), f'attributes: {calls}')
    state['connid'] = dialing['ConnID']
    a.wait_call_established(5)
    a.wait_heard(2.4, deadline=8)
    b.wait_heard(2.4, deadline=8)


def auto_answer_asked(run):
    """With raw UAs as 1003 and 1004: the INVITE to ThisDN's phone asks
    it to answer by itself, and comes before 1004 is called."""
    p = run.ports
    a = Ua(p, '1003', p.base + 24, p.base + 36)
    b = Ua(p, '1004', p.base + 26, p.base + 40)
    cti = Cti(p.tlib)
    try:
        a.register()
        b.register()
        cti.register('1003')
        cti.request('TMakeCall', ThisDN='1003', OtherDN='1004')
        invite = a.answer()
        hdrs = f'{invite.header("call-info")} {invite.header("alert-info")}'
        check('answer-after=0' in hdrs and 'alert-autoanswer' in hdrs,
              f'INVITE to 1003 does not ask for auto-answer: {hdrs}')
        check('1004' in invite.header('from'),
              f'1003\'s phone is not shown whom it calls: '
              f'{invite.header("from")}')
        b.answer()
        cti.wait('EventEstablished', ThisDN='1003')
        a.bye()
        b.wait_bye()
    finally:
        for x in (a, b, cti):
            x.close()


def ears(a, b, state):
    t_hold = state['hold']
    assert_hears(a.recording(), f'{TONE_B},!{TONE_A}', '--from', '0.5',
                 '--to', f'{t_hold:.2f}', who='1001')
    assert_hears(b.recording(), f'{TONE_A},!{TONE_B}', '--from', '0.5',
                 '--to', f'{t_hold:.2f}', who='1002')


def hold_retrieve(run, b, state):
    """THoldCall and TRetrieveCall by tlibctl; 1002's ear says music,
    then talk again."""
    connid = state['connid']
    state['hold'] = b.heard_seconds()
    rc, events, err = tlibctl(run, [f'THoldCall ThisDN=1001 ConnID={connid}'],
                              '--register', '1001')
    check(rc == 0 and any(e['event'] == 'EventHeld' for e in events),
          f'THoldCall: exit {rc} {err} {events}')
    b.wait_heard(state['hold'] + 2.4, deadline=6)
    t_ret = b.heard_seconds()
    rc, events, err = tlibctl(
        run, [f'TRetrieveCall ThisDN=1001 ConnID={connid}'],
        '--register', '1001')
    check(rc == 0 and any(e['event'] == 'EventRetrieved' for e in events),
          f'TRetrieveCall: exit {rc} {err} {events}')
    b.wait_heard(t_ret + 2.4, deadline=6)
    rec = b.recording()
    assert_hears(rec, f'{TONE_MUSIC},!{TONE_A}', '--from',
                 f'{state["hold"] + 0.4:.2f}', '--to', f'{t_ret:.2f}',
                 who='1002 while 1001 holds')
    assert_hears(rec, f'{TONE_A},!{TONE_MUSIC}', '--from',
                 f'{t_ret + 0.4:.2f}', who='1002 after retrieve')


def refusals(run):
    for line, code in (('TMakeCall ThisDN=1001 OtherDN=4711', 59),
                       ('TMakeCall ThisDN=1001 OtherDN=1001', 53),
                       ('TMakeCall ThisDN=1001', 53),
                       ('TMakeCall ThisDN=1002 OtherDN=1001', 41)):
        rc, events, err = tlibctl(run, [line], '--register', '1001')
        errors = [e for e in events if e['event'] == 'EventError']
        check(rc == 4 and errors and errors[0]['ErrorCode'] == code,
              f'{line}: exit {rc}, {errors or events}, expected {code}')


def release(run, a, b, state):
    rc, events, err = tlibctl(
        run, [f'TReleaseCall ThisDN=1002 ConnID={state["connid"]}'],
        '--register', '1002')
    check(rc == 0 and any(e['event'] == 'EventReleased' for e in events),
          f'TReleaseCall: exit {rc} {err} {events}')
    a.wait_call_closed(5)
    b.wait_call_closed(5)


def body(run):
    music = music_wav(run.path('music-700.wav'), TONE_MUSIC)
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}, '1003': {},
                             '1004': {}}, default_music=music))
    server = Server(run, conf).start()
    a, b = registered_phones(run, [('1001', TONE_A), ('1002', TONE_B)])
    state = {}
    run.step('TMakeCall by tlibctl: events in order', make_call, run, a, b,
             state)
    run.step('the first INVITE asks the phone to answer by itself',
             auto_answer_asked, run)
    run.step('THoldCall / TRetrieveCall by tlibctl: music, then talk',
             hold_retrieve, run, b, state)
    run.step('by ear: each hears the other', ears, a, b, state)
    run.step('refused TMakeCalls: exit 4 and the ErrorCode', refusals, run)
    if state.get('connid'):
        run.step('TReleaseCall by tlibctl ends the call', release, run, a, b,
                 state)
    run.step('nothing left behind', nothing_left, server)
    for p in (a, b):
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('make-call', body))
