#!/usr/bin/env python3
"""End-to-end: TAnswerCall answers a ringing phone from the desktop.

    python3 tests/e2e/test_answer_call.py

Why: an agent answers with a click; sipserver asks the ringing phone to go
off-hook with a NOTIFY carrying Event: talk (as BroadSoft and Polycom
phones accept; see docs/protocol.md for which phones honour it), in the
phone's early dialog, and EventEstablished answers the request when the
phone has answered. The phone here is a Python UA (lib/rtpua.py) that
rings until it gets that NOTIFY. Checks:
- TAnswerCall while 1001 is Dialing (not ringing) -> 51; malformed ConnID
  -> 53; unknown ConnID -> 56;
- TAnswerCall on 1002 ringing: the phone gets NOTIFY with Event: talk, in
  its dialog (Call-ID of the INVITE, its own To tag); it answers; 1002
  gets EventEstablished carrying the request's ReferenceID;
- TAnswerCall again on the established call -> 51; BYE; nothing left.
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    Server, check, config_text, main, nothing_left, write_file)
from lib.rtpua import Ua  # noqa: E402


def refused(cti, code, **attrs):
    ref = cti.request('TAnswerCall', **attrs)
    ev = cti.wait('EventError', ReferenceID=ref)
    check(ev['ErrorCode'] == code, f'TAnswerCall {attrs}: {ev}, expected '
          f'{code}')


def answer(run):
    p = run.ports
    a = Ua(p, '1001', p.base + 20, p.base + 28)
    b = Ua(p, '1002', p.base + 22, p.base + 32)
    cti = Cti(p.tlib)
    try:
        cti.register('1001')
        cti.register('1002')
        b.register()
        a.invite('1002')
        # the phone rings (180) and waits for the NOTIFY on its own thread
        phone = {}
        ringer = threading.Thread(target=lambda: phone.update(
            invite=b.answer(deadline=10, on_talk=True)), daemon=True)
        ringer.start()
        ring = cti.wait('EventRinging', ThisDN='1002')
        connid = ring['ConnID']
        refused(cti, 51, ThisDN='1001', ConnID=connid)
        refused(cti, 53, ThisDN='1002', ConnID='nope')
        refused(cti, 56, ThisDN='1002', ConnID='0' * 16)

        ref = cti.request('TAnswerCall', ThisDN='1002', ConnID=connid)
        ringer.join(10)
        check('invite' in phone, 'the phone got no NOTIFY and did not answer')
        invite, talk = phone['invite'], b.talk
        check(talk.header('event') == 'talk', f'NOTIFY: {talk.text}')
        check(talk.header('call-id') == invite.header('call-id') and
              f'tag={b.tag}' in talk.header('to'),
              f'NOTIFY not in the INVITE\'s dialog:\n{talk.text}')
        a.wait_answered()
        ev = cti.wait('EventEstablished', ThisDN='1002', ConnID=connid)
        check(ev.get('ReferenceID') == ref, f'EventEstablished does not '
              f'answer TAnswerCall {ref}: {ev}')
        refused(cti, 51, ThisDN='1002', ConnID=connid)
        a.bye()
        b.wait_bye()
    finally:
        for x in (a, b, cti):
            x.close()


def body(run):
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}}))
    server = Server(run, conf).start()
    run.step('TAnswerCall: NOTIFY talk, EventEstablished with ReferenceID',
             answer, run)
    run.step('nothing left behind', nothing_left, server)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('answer-call', body))
