#!/usr/bin/env python3
"""End-to-end: a single-step party that cannot even be called.

    python3 tests/e2e/test_conf_noport.py

Why: TSingleStepConference is answered when the new party joins, or by
EventError when it never does. When the party cannot be called at all
(here: the RTP range holds two port pairs and the call uses both, so the
INVITE to 1003 cannot get a port), that failure happens while the request
is carried out; the requester must still get its EventError, with its
ReferenceID and the SIP status, and nothing may be left behind. Python
UAs 1001 -> 1002, a CTI client on 1001:
- TSingleStepConference 1003 -> EventError 57 saying 1003 could not be
  called (SIP 503), at once, and no answer is left pending for a party
  that will never join;
- the call is as it was (TQueryCall: 1001 and 1002), no INVITE reached
  1003's phone;
- hang up; nothing left; SIGTERM -> exit status 0.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    Server, check, config_text, main, nothing_left, write_file)
from lib.rtpua import Request, Ua  # noqa: E402


def body(run):
    p = run.ports
    dns = {'1001': {}, '1002': {}, '1003': {}}
    conf = write_file(run.path('sipserver.conf'), config_text(
        p, run.src, dns, rtp_port_min=p.rtp_min, rtp_port_max=p.rtp_min + 3))
    server = Server(run, conf).start()
    a = Ua(p, '1001', p.base + 20, p.base + 28)
    b = Ua(p, '1002', p.base + 22, p.base + 32)
    c = Ua(p, '1003', p.base + 24, p.base + 36)
    cti = Cti(p.tlib)
    st = {}

    def call():
        for u in (a, b, c):
            u.register()
        cti.register('1001')
        a.invite('1002')
        b.answer()
        a.wait_answered()
        st['connid'] = cti.wait('EventEstablished', ThisDN='1001')['ConnID']
        return True

    def refused():
        ref = cti.request('TSingleStepConference', ThisDN='1001',
                          ConnID=st['connid'], OtherDN='1003')
        ev = cti.wait('EventError', ReferenceID=ref)
        check(ev['ErrorCode'] == 57 and 'could not be called' in
              ev['ErrorMessage'] and '1003' in ev['ErrorMessage'] and
              '503' in ev['ErrorMessage'], f'{ev}')
        ref = cti.request('TQueryCall', ThisDN='1001', ConnID=st['connid'])
        ev = cti.wait('EventPartyInfo', ReferenceID=ref)
        dns = sorted(x['DN'] for x in ev['Parties'])
        check(dns == ['1001', '1002'], f'parties now {ev["Parties"]}')
        with c.lock:
            invites = [m for _t, m in c.inbox if isinstance(m, Request)]
        check(not invites, f'1003 got {[m.method for m in invites]}')

    def hang_up():
        a.bye()
        b.wait_bye()

    if run.step('1001 calls 1002 (both RTP port pairs in use)', call):
        run.step('TSingleStepConference 1003: EventError 57, nothing '
                 'changed', refused)
        run.step('hang up', hang_up)
    run.step('nothing left behind', nothing_left, server)
    cti.close()
    for u in (a, b, c):
        u.close()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('conf-noport', body))
