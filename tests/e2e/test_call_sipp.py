#!/usr/bin/env python3
"""End-to-end call control through sipserver with SIPp on both sides.

    python3 tests/e2e/test_call_sipp.py udp|tcp

Why: SIPp speaks plain SIP and checks every message it expects, so it
pins down the B2BUA's call contract message by message where the phones
of test_call_audio.py only say "connected" or "not". Each SIPp callee
REGISTERs from the port it then answers on (its old bindings are removed
first, so the server never forks to a SIPp that is gone). Checks:
- basic call 1001 -> 1002: 100/180/200, ACK, BYE from the caller relayed
  (and, in another call, the callee's BYE relayed to the caller),
  both SIPp runs exit 0; the callee's INVITE comes from 1001 and its SDP
  (like the caller's 200) points at the server's RTP range, not at the
  other SIPp (media anchored in sipserver);
- a DN with two contacts: both get the INVITE, one answers, the other
  (ringing) gets CANCEL;
- the caller gets 100 and the callee's 180; a callee's 183 with SDP
  reaches the caller as 183 with the server's SDP;
- the callee's 486, 480 and 603 reach the caller with the same code;
- CANCEL before the callee rings (it said only 100) and while it rings:
  the caller gets 200 + 487, the callee a CANCEL;
- 404 for an unknown number, 480 for a DN that is not registered, 403 for
  a caller that is not a configured Extension;
- no-answer-timeout = 2: a callee that rings on gets CANCEL and the caller
  480 after about 2 s;
- PCMA caller and PCMU callee: each 200/SDP answer names that side's own
  codec (the server transcodes between legs);
- udp and tcp; in the tcp run also a TCP caller with a UDP callee and the
  other way round;
- trunk `gw` (contact 127.0.0.2, prefix 9): an INVITE from 127.0.0.2 is an
  inbound call (ANI = From user) to 1002; 1001 dialling 9555 reaches the
  gateway as sip:555@127.0.0.2; the gateway dialling 9555 is refused 403;
- after every scenario the status line (SIGUSR1) shows no call, party,
  leg, RTP leg or mix left; SIGTERM -> exit status 0.
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, SipClient, check, config_text, main, nothing_left,
    poll, port_is_free, sipp_received, start_sipp, transport_arg, write_file)

GATEWAY = '127.0.0.2'            # the trunk's peer: another loopback address
CODEC_NAME = {0: 'PCMU', 8: 'PCMA'}
NO_ANSWER = 2                    # no-answer-timeout of the test config [s]
SIPP_DEADLINE = 10               # each SIPp run [s]


def sdp_media(text):
    """(c= address, m= port, [formats]) of the SDP body of a message."""
    body = text.partition('\r\n\r\n')[2]
    c = re.search(r'(?m)^c=IN IP4 (\S+)', body)
    m = re.search(r'(?m)^m=audio (\d+) RTP/AVP ([\d ]+?)\s*$', body)
    check(c and m, f'no c=/m=audio line in the SDP of:\n{text}')
    return c.group(1), int(m.group(1)), m.group(2).split()


class Calls:
    """SIPp callers and callees against one server."""

    def __init__(self, run, server, tp, gw_port):
        self.run, self.server, self.tp = run, server, tp
        self.gw_port = gw_port
        self.client = SipClient(run.ports, 'udp')
        self.sipps = []

    def unregister(self, dn):
        resp = self.client.register(dn, ['*'], expires=0)
        self.client.expect(200, f'REGISTER {dn} Contact: * (clean up)', resp)

    def _listening(self, sipp, port, tp, ip):
        kind = socket.SOCK_DGRAM if tp == 'udp' else socket.SOCK_STREAM
        poll(lambda: sipp.proc.poll() is not None
             or not port_is_free(port, kind, ip), 5)
        check(sipp.proc.poll() is None and not port_is_free(port, kind, ip),
              f'{sipp.what} is not listening\n{sipp.detail()}')

    def callee(self, scen, dn='1002', tp=None, codec=0, ip=LOOPBACK,
               port=None, args=(), keep=False, **keys):
        """Start a SIPp UAS; registered as dn from its port unless port is
        given (the gateway: reached through the trunk's contact). dn's
        other bindings are removed first unless keep."""
        tp = tp or self.tp
        if port is None:
            if not keep:
                self.unregister(dn)
            port = self.run.ports.fresh()
            code = self.sipp('register_noauth.xml', dn, tp, port, ip=ip,
                             uas=False).wait()
            check(code == 0, f'REGISTER {dn} from {port} over {tp}: sipp '
                  f'exited {code}\n{self.sipps[-1].detail()}')
        keys = {'codec': codec, 'codec_name': CODEC_NAME[codec], **keys}
        sipp = self.sipp(scen, dn, tp, port, ip=ip, uas=True, keys=keys,
                         args=args)
        self._listening(sipp, port, tp, ip)
        return sipp

    def caller(self, scen, callee, caller='1001', tp=None, codec=0,
               ip=LOOPBACK, args=(), **keys):
        """Start a SIPp UAC calling `callee` as `caller` (From user)."""
        keys = {'callee': callee, 'codec': codec,
                'codec_name': CODEC_NAME[codec], **keys}
        return self.sipp(scen, caller, tp or self.tp, self.run.ports.fresh(),
                         ip=ip, uas=False, keys=keys, args=args)

    def sipp(self, scen, service, tp, port, ip, uas, keys=None, args=()):
        sipp = start_sipp(self.run, scen, service, tp, port, args,
                          SIPP_DEADLINE, local_ip=ip, remote=not uas,
                          keys=keys)
        self.sipps.append(sipp)
        return sipp

    def expect_ok(self, *sipps, mark=0):
        """Wait for every SIPp run; each must exit 0."""
        bad = []
        for sipp in sipps:
            code = sipp.wait()
            if code != 0:
                bad.append(f'{sipp.what} exited {code} (expected 0)\n'
                           f'{sipp.detail()}')
        check(not bad, '\n'.join(bad) + '\n--- server log of the scenario:\n'
              + self.server.log_text(mark)[-2500:])

    def cleanup(self):
        for sipp in self.sipps:
            sipp.kill()
        self.sipps = []

    def scenario(self, fn):
        """Run one scenario; never leave a SIPp behind."""
        try:
            fn(self, self.server.log_mark())
        finally:
            self.cleanup()


# ------------------------------------------------------------- scenarios

def anchored(c, text, who):
    """The SDP of text points at the server's RTP range on 127.0.0.1."""
    addr, port, fmts = sdp_media(text)
    ports = c.run.ports
    check(addr == LOOPBACK and ports.rtp_min <= port <= ports.rtp_max,
          f'{who}: SDP c=/m= give {addr}:{port}, expected {LOOPBACK} and a '
          f'port of the RTP range {ports.rtp_min}..{ports.rtp_max}')
    return fmts


def first(messages, what, detail):
    check(messages, f'no {what} in the message log\n{detail}')
    return messages[0]


def basic(c, mark, caller_tp=None, callee_tp=None):
    uas = c.callee('uas_answer.xml', tp=callee_tp)
    uac = c.caller('uac_call.xml', '1002', tp=caller_tp, args=('-d', '500'))
    c.expect_ok(uac, uas, mark=mark)
    invite = first(sipp_received(uas.prefix, r'^INVITE '), 'INVITE at 1002',
                   uas.detail())
    check(re.search(r'(?im)^(From|f):[^\r\n]*sip:1001@', invite),
          f"callee's INVITE is not From 1001:\n{invite}")
    via = (callee_tp or c.tp).upper()
    check(re.search(rf'(?im)^(Via|v): SIP/2.0/{via} ', invite),
          f"callee registered over {via} but its INVITE came otherwise:\n"
          f"{invite}")
    fmts = anchored(c, invite, "callee's INVITE")
    check('0' in fmts and '8' in fmts and '101' in fmts,
          f"callee's INVITE offers {fmts}, expected 0, 8 and 101")
    ok = first(sipp_received(uac.prefix, r'^SIP/2.0 200 .*'), '200 at 1001',
               uac.detail())
    fmts = anchored(c, ok, "caller's 200")
    check(fmts == ['0', '101'], f"caller's 200 answers {fmts}, expected "
          f"['0', '101'] (its offer)")
    for code in (100, 180):
        check(sipp_received(uac.prefix, rf'^SIP/2.0 {code} '),
              f'the caller got no {code}\n{uac.detail()}')


def early_media(c, mark):
    uas = c.callee('uas_early.xml')
    uac = c.caller('uac_call.xml', '1002', args=('-d', '300'))
    c.expect_ok(uac, uas, mark=mark)
    early = first(sipp_received(uac.prefix, r'^SIP/2.0 183 '),
                  '183 at 1001 (the callee sent 183 with SDP)', uac.detail())
    fmts = anchored(c, early, "caller's 183")
    check(fmts == ['0', '101'], f"caller's 183 answers {fmts}, expected "
          f"['0', '101']")


def forked(c, mark):
    ringing = c.callee('uas_ring.xml')
    answering = c.callee('uas_answer.xml', keep=True)
    uac = c.caller('uac_call.xml', '1002', args=('-d', '300'))
    c.expect_ok(uac, answering, ringing, mark=mark)


def callee_hangs_up(c, mark):
    uas = c.callee('uas_hangup.xml', args=('-d', '300'))
    uac = c.caller('uac_vanish.xml', '1002')
    c.expect_ok(uac, uas, mark=mark)


def refused_by_callee(c, mark, code):
    uas = c.callee('uas_busy.xml' if code == 486 else f'uas_busy_{code}.xml')
    uac = c.caller('uac_expect.xml', '1002', expect=code)
    c.expect_ok(uac, uas, mark=mark)


def cancel_early(c, mark):
    uas = c.callee('uas_noring.xml')
    uac = c.caller('uac_cancel.xml', '1002', args=('-d', '300'))
    c.expect_ok(uac, uas, mark=mark)


def cancel_ringing(c, mark):
    uas = c.callee('uas_ring.xml')
    uac = c.caller('uac_cancel_ringing.xml', '1002')
    c.expect_ok(uac, uas, mark=mark)


def refused_by_server(c, mark, callee, code, caller='1001'):
    uac = c.caller('uac_expect.xml', callee, caller=caller, expect=code)
    c.expect_ok(uac, mark=mark)


def no_answer(c, mark):
    uas = c.callee('uas_ring.xml')
    t0 = time.monotonic()
    uac = c.caller('uac_expect.xml', '1002', expect=480)
    c.expect_ok(uac, mark=mark)
    took = time.monotonic() - t0
    c.expect_ok(uas, mark=mark)
    check(NO_ANSWER - 0.2 <= took <= NO_ANSWER + 2.5,
          f'the caller had its 480 after {took:.2f} s, expected about '
          f'{NO_ANSWER} s (no-answer-timeout)')


def codecs(c, mark):
    uas = c.callee('uas_answer.xml', codec=0)
    uac = c.caller('uac_call.xml', '1002', codec=8, args=('-d', '500'))
    c.expect_ok(uac, uas, mark=mark)
    ok = first(sipp_received(uac.prefix, r'^SIP/2.0 200 '), '200 at 1001',
               uac.detail())
    fmts = anchored(c, ok, "caller's 200")
    check(fmts and fmts[0] == '8' and '0' not in fmts,
          f"PCMA caller's 200 answers {fmts}, expected PCMA (8) only")
    invite = first(sipp_received(uas.prefix, r'^INVITE '), 'INVITE at 1002',
                   uas.detail())
    fmts = anchored(c, invite, "callee's INVITE")
    check('0' in fmts, f"the PCMU callee is offered {fmts}: no PCMU (0)")


def trunk_inbound(c, mark):
    uas = c.callee('uas_answer.xml')
    uac = c.caller('uac_call.xml', '1002', caller='5551234', ip=GATEWAY,
                   args=('-d', '300'))
    c.expect_ok(uac, uas, mark=mark)
    invite = first(sipp_received(uas.prefix, r'^INVITE '), 'INVITE at 1002',
                   uas.detail())
    check(re.search(r'(?im)^(From|f):[^\r\n]*sip:5551234@', invite),
          f'inbound call: the INVITE to 1002 does not carry the ANI '
          f'5551234 as From user:\n{invite}')
    c.server.wait_log(r'(?i): 5551234 -> 1002 \(inbound\)', 1, mark)


def trunk_outbound(c, mark):
    gw = c.callee('uas_answer.xml', dn='gw', tp='udp', ip=GATEWAY,
                  port=c.gw_port)
    uac = c.caller('uac_call.xml', '9555', args=('-d', '300'))
    c.expect_ok(uac, gw, mark=mark)
    invite = first(sipp_received(gw.prefix, r'^INVITE '), 'INVITE at the '
                   'gateway', gw.detail())
    line = invite.split('\r\n')[0]
    check(re.match(rf'INVITE sip:555@{re.escape(GATEWAY)}:{c.gw_port}'
                   r'[;> ]', line),
          f'outbound call: Request-URI is {line!r}, expected '
          f'sip:555@{GATEWAY}:{c.gw_port} (prefix 9 stripped)')
    check(re.search(r'(?im)^(From|f):[^\r\n]*sip:1001@', invite),
          f"outbound call: the gateway's INVITE is not From 1001:\n{invite}")
    anchored(c, invite, "gateway's INVITE")


def trunk_to_trunk(c, mark):
    uac = c.caller('uac_expect.xml', '9555', caller='5551234', ip=GATEWAY,
                   expect=403)
    c.expect_ok(uac, mark=mark)


# ------------------------------------------------------------------ run

def body(run):
    tp = transport_arg()
    run.ports.without_phones()
    gw_port = run.ports.fresh()
    dns = {'1001': {}, '1002': {}, '1003': {},
           'gw': {'type': 'Trunk', 'contact': f'sip:{GATEWAY}:{gw_port}',
                  'prefix': '9'}}
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, dns, no_answer_timeout=NO_ANSWER))
    server = Server(run, conf).start()
    c = Calls(run, server, tp, gw_port)
    steps = [
        ('basic call 1001 -> 1002, BYE relayed', basic),
        ('callee 486 -> caller 486',
         lambda c, m: refused_by_callee(c, m, 486)),
        ('callee 480 -> caller 480',
         lambda c, m: refused_by_callee(c, m, 480)),
        ('callee 603 -> caller 603',
         lambda c, m: refused_by_callee(c, m, 603)),
        ('callee hangs up: BYE relayed to the caller', callee_hangs_up),
        ('1002 at two contacts: both rung, the one that rings on gets '
         'CANCEL', forked),
        ('callee 183 with SDP -> caller 183 with the server\'s SDP',
         early_media),
        ('CANCEL before ringing: 200 + 487, callee CANCELled', cancel_early),
        ('CANCEL while ringing: 200 + 487, callee CANCELled', cancel_ringing),
        ('unknown number 5555 -> 404',
         lambda c, m: refused_by_server(c, m, '5555', 404)),
        ('DN 1003 not registered -> 480',
         lambda c, m: refused_by_server(c, m, '1003', 480)),
        ('caller 4444 not an Extension -> 403',
         lambda c, m: refused_by_server(c, m, '1002', 403, caller='4444')),
        (f'no answer in {NO_ANSWER} s -> caller 480, callee CANCEL',
         no_answer),
        ('PCMA caller <-> PCMU callee: each side its own codec', codecs),
    ]
    if tp == 'tcp':
        steps += [
            ('TCP caller -> UDP callee',
             lambda c, m: basic(c, m, caller_tp='tcp', callee_tp='udp')),
            ('UDP caller -> TCP callee',
             lambda c, m: basic(c, m, caller_tp='udp', callee_tp='tcp')),
        ]
    steps += [
        ('trunk inbound: 127.0.0.2 (ANI 5551234) -> 1002', trunk_inbound),
        ('trunk outbound: 1001 dials 9555 -> sip:555@127.0.0.2',
         trunk_outbound),
        ('trunk to trunk: 127.0.0.2 dials 9555 -> 403', trunk_to_trunk),
    ]
    for title, fn in steps:
        run.step(title, c.scenario, fn)
        run.step('  nothing left behind', nothing_left, server)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main(f'call-sipp-{transport_arg()}', body))
