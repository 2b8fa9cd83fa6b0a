#!/usr/bin/env python3
"""End-to-end: THoldCall, TRetrieveCall and TReleaseCall from a desktop,
checked by events and by ear, and every refusal changing nothing.

    python3 tests/e2e/test_cti_calls.py

Why: an agent's desktop puts callers on hold and ends calls; the caller
must hear the music (or the one the request names), talk must come back,
and a refused request (bad ConnID, DN not in the call, already held, music
that does not play) must answer with the right ErrorCode and leave the
call exactly as it was - which only the ear can confirm.
Two baresip phones, 1001 (440 Hz) calls 1002 (1000 Hz); a CTI client on
1001 (and 1003, a DN in no call):
- refusals: ConnID not 16 hex digits -> 53; unknown ConnID -> 56; 1003 not
  in the call -> 56; TRetrieveCall of a call not held -> 43; music that is
  not an audio file -> 53; all with their ReferenceID;
- THoldCall with Extensions.music = a 700 Hz file: EventHeld to 1001 with
  the ReferenceID; 1002 hears 700 Hz and no 440; THoldCall again -> 43;
- TRetrieveCall: EventRetrieved; 1002 hears 440 again;
- 1002 heard 440 (not music) during the refusals: they changed nothing;
- TReleaseCall: EventReleased to 1001 with the ReferenceID, both phones
  hung up; nothing left; SIGTERM -> exit status 0.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, nothing_left, write_file)
from lib.phones import (  # noqa: E402
    assert_hears, music_wav, registered_phones)

TONE_A, TONE_B, TONE_MUSIC = 440, 1000, 700
SEGMENT, MARGIN = 2.0, 0.4


def setup(run):
    music = music_wav(run.path('hold-700.wav'), TONE_MUSIC)
    a, b = registered_phones(run, [('1001', TONE_A), ('1002', TONE_B)])
    cti = Cti(run.ports.tlib)
    cti.register('1001')
    cti.register('1003')
    return a, b, cti, music


def connect(run, a, b, cti):
    a.dial(f'sip:1002@{LOOPBACK}:{run.ports.sip}')
    b.wait_call_established(5)
    ev = cti.wait('EventEstablished', ThisDN='1001')
    b.wait_heard(1.0, deadline=5)
    return ev['ConnID']


def refused(cti, code, name, **attrs):
    ref = cti.request(name, **attrs)
    ev = cti.wait('EventError', ReferenceID=ref)
    check(ev['ErrorCode'] == code, f'{name} {attrs}: ErrorCode '
          f'{ev["ErrorCode"]} ({ev["ErrorMessage"]}), expected {code}')
    check(ev.get('ErrorMessage'), f'{name}: no ErrorMessage')


def refusals(cti, connid, marks, b):
    marks['refusals'] = b.heard_seconds()
    refused(cti, 53, 'THoldCall', ThisDN='1001', ConnID='12345')
    refused(cti, 56, 'THoldCall', ThisDN='1001', ConnID='0' * 16)
    refused(cti, 56, 'THoldCall', ThisDN='1003', ConnID=connid)
    refused(cti, 43, 'TRetrieveCall', ThisDN='1001', ConnID=connid)
    refused(cti, 53, 'THoldCall', ThisDN='1001', ConnID=connid,
            Extensions={'music': '/etc/hostname'})
    refused(cti, 53, 'THoldCall', ThisDN='1001', ConnID=connid,
            Extensions='music')
    b.wait_heard(marks['refusals'] + SEGMENT, deadline=5)
    marks['hold'] = b.heard_seconds()


def hold_retrieve(cti, connid, music, marks, b):
    ref = cti.request('THoldCall', ThisDN='1001', ConnID=connid,
                      Extensions={'music': music})
    cti.wait('EventHeld', ReferenceID=ref, ThisDN='1001', ConnID=connid)
    refused(cti, 43, 'THoldCall', ThisDN='1001', ConnID=connid)
    b.wait_heard(marks['hold'] + SEGMENT + MARGIN, deadline=5)
    marks['retrieve'] = b.heard_seconds()
    ref = cti.request('TRetrieveCall', ThisDN='1001', ConnID=connid)
    cti.wait('EventRetrieved', ReferenceID=ref, ThisDN='1001')
    b.wait_heard(marks['retrieve'] + SEGMENT + MARGIN, deadline=5)


def release(cti, connid, a, b):
    ref = cti.request('TReleaseCall', ThisDN='1001', ConnID=connid)
    cti.wait('EventReleased', ReferenceID=ref, ThisDN='1001',
             ConnID=connid)
    a.wait_call_closed(5)
    b.wait_call_closed(5)


def ears(b, marks):
    rec = b.recording()
    t_ref, t_hold, t_ret = marks['refusals'], marks['hold'], \
        marks['retrieve']
    assert_hears(rec, f'{TONE_A},!{TONE_MUSIC}', '--from', f'{t_ref:.2f}',
                 '--to', f'{t_hold - 0.1:.2f}', who='1002 during refusals')
    assert_hears(rec, f'{TONE_MUSIC},!{TONE_A}', '--from',
                 f'{t_hold + MARGIN:.2f}', '--to', f'{t_ret - 0.1:.2f}',
                 who='1002 while held')
    assert_hears(rec, f'{TONE_A},!{TONE_MUSIC}', '--from',
                 f'{t_ret + MARGIN:.2f}', '--to', f'{t_ret + SEGMENT:.2f}',
                 who='1002 after retrieve')


def body(run):
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}, '1003': {}}))
    server = Server(run, conf).start()
    a, b, cti, music = setup(run)
    marks = {}
    connid = run.step('1001 calls 1002', connect, run, a, b, cti)
    if connid:
        run.step('refused requests: error codes', refusals, cti, connid,
                 marks, b)
        run.step('THoldCall with music, TRetrieveCall', hold_retrieve, cti,
                 connid, music, marks, b)
        run.step('TReleaseCall', release, cti, connid, a, b)
        run.step('by ear: refusals changed nothing, music, talk again',
                 ears, b, marks)
    run.step('nothing left behind', nothing_left, server)
    cti.close()
    for p in (a, b):
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('cti-calls', body))
