#!/usr/bin/env python3
"""End-to-end: calls that cannot be made, and a phone that vanishes.

    python3 tests/e2e/test_call_bad.py

Why: a refused or broken call must leave nothing behind (no call, party,
leg, RTP port) and must not hurt the server; a phone that dies in a call
(power cut, network gone: no BYE ever comes) must not hold the other party
and two RTP ports for ever. Checks, each followed by "nothing left" on the
status line (SIGUSR1) and a REGISTER that is still answered 200:
- an INVITE offering only G.729 (PT 18) -> 488 with a Warning;
- an INVITE whose body says application/sdp but is not SDP -> 400;
- an INVITE offering G.729 and telephone-event only (SIPp) -> 488;
- rtp-port-min/max leave one port pair: the caller's leg takes it, the
  callee's cannot -> the caller gets 503 (twice: the pair was given back);
- rtp-timeout = 2: a call whose two SIPp sides never send RTP is released,
  both sides get a BYE from the server within about 2-5 s.
Each part runs its own server (its config differs); SIGTERM -> exit 0.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    LOOPBACK, Connection, Response, Server, SipClient, build_request, check,
    config_text, contact_uri, main, nothing_left, poll, port_is_free,
    start_sipp, write_file)

RTP_TIMEOUT = 2
SIPP_DEADLINE = 10


def start_server(run, name, **opts):
    conf = write_file(run.path(f'{name}.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}}, **opts))
    return Server(run, conf).start()


def still_serving(server, client):
    nothing_left(server)
    uri = contact_uri('1001', server.run.ports.client(7), 'udp')
    client.expect(200, 'REGISTER 1001 after the scenario',
                  client.register('1001', [f'<{uri}>']))


def invite_raw(run, body, ctype='application/sdp'):
    """INVITE 1002 as 1001 from the raw client; returns the final reply."""
    ports = run.ports
    port = ports.client(0)
    call_id = f'bad-{time.monotonic_ns()}@e2e'
    data = build_request(
        'INVITE', ports, 'udp', port, user='1001', to_user='1002',
        uri_user='1002', call_id=call_id, body=body,
        headers=[f'Contact: <sip:1001@{LOOPBACK}:{port}>',
                 f'Content-Type: {ctype}'])
    with Connection(ports, 'udp', port) as conn:
        conn.send(data)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            text = conn.recv_message(end - time.monotonic())
            if text is None:
                break
            resp = Response(text)
            if resp.status >= 200:
                return resp
    check(False, 'no final reply to the INVITE within 3 s')


def offer(run, pt_line, rtpmaps):
    """An SDP offer whose media port (never used: the call is refused) is
    in the block."""
    return ('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n'
            'c=IN IP4 127.0.0.1\r\nt=0 0\r\n'
            f'm=audio {run.ports.base + 48} RTP/AVP {pt_line}\r\n'
            + ''.join(f'a=rtpmap:{r}\r\n' for r in rtpmaps)
            + 'a=sendrecv\r\n')


def register_1002(run, client):
    """1002 registered (at a port nobody answers on: these calls must be
    refused before the callee is ever called)."""
    client.expect(200, 'REGISTER 1002', client.register(
        '1002', [f'<{contact_uri("1002", run.ports.client(6), "udp")}>']))


def g729_only(run):
    resp = invite_raw(run, offer(run, '18', ['18 G729/8000']))
    check(resp.status == 488, f'INVITE offering only G729: got '
          f'"{resp.status} {resp.reason}", expected 488:\n{resp}')
    check(resp.header('warning'), f'488 without a Warning:\n{resp}')


def garbage_sdp(run):
    resp = invite_raw(run, 'this is not SDP at all\r\n{"json": 1}\r\n')
    check(resp.status == 400, f'INVITE with a body that is not SDP: got '
          f'"{resp.status} {resp.reason}", expected 400:\n{resp}')


def sipp_call(run, scen, service, port, uas, keys, args=()):
    return start_sipp(run, scen, service, 'udp', port, args, SIPP_DEADLINE,
                      remote=not uas, keys={'codec_name': 'PCMU',
                                            'codec': 0, **keys})


def expect_ok(server, mark, *sipps):
    bad = []
    for sipp in sipps:
        code = sipp.wait()
        if code != 0:
            bad.append(f'{sipp.what} exited {code} (expected 0)\n'
                       f'{sipp.detail()}')
    check(not bad, '\n'.join(bad) + '\n--- server log of the scenario:\n'
          + server.log_text(mark)[-2500:])


def g729_sipp(run, server):
    mark = server.log_mark()
    uac = sipp_call(run, 'uac_expect.xml', '1001', run.ports.fresh(), False,
                    {'callee': '1002', 'codec': 18, 'codec_name': 'G729',
                     'expect': 488})
    try:
        expect_ok(server, mark, uac)
    finally:
        uac.kill()


def no_rtp_port(run, server):
    for attempt in (1, 2):
        mark = server.log_mark()
        uac = sipp_call(run, 'uac_expect.xml', '1001', run.ports.fresh(),
                        False, {'callee': '1002', 'expect': 503})
        try:
            expect_ok(server, mark, uac)
        finally:
            uac.kill()
        nothing_left(server)


def vanish(run, server, client):
    """Both sides of a call go silent: both get the server's BYE."""
    mark = server.log_mark()
    port = run.ports.fresh()
    client.expect(200, 'REGISTER 1002 Contact: * (clean up)',
                  client.register('1002', ['*'], expires=0))
    reg = sipp_call(run, 'register_noauth.xml', '1002', port, False, {})
    expect_ok(server, mark, reg)
    uas = sipp_call(run, 'uas_answer.xml', '1002', port, True, {})
    uac = None
    try:
        check(poll(lambda: not port_is_free(port), 5), 'SIPp UAS is not '
              f'listening on {port}\n{uas.detail()}')
        t0 = time.monotonic()
        uac = sipp_call(run, 'uac_vanish.xml', '1001', run.ports.fresh(),
                        False, {'callee': '1002'})
        expect_ok(server, mark, uac, uas)
        took = time.monotonic() - t0
        check(RTP_TIMEOUT - 0.2 <= took <= RTP_TIMEOUT + 3.5,
              f'both sides had their BYE after {took:.2f} s, expected '
              f'{RTP_TIMEOUT}..{RTP_TIMEOUT + 3} s (rtp-timeout)')
        server.wait_log(r'no RTP for \d+ s: released', 1, mark)
    finally:
        for sipp in (uas, uac):
            if sipp:
                sipp.kill()


def body(run):
    run.ports.without_phones()
    client = SipClient(run.ports, 'udp')

    server = start_server(run, 'offers')
    run.step('REGISTER 1002 (the callee)', register_1002, run, client)
    run.step('INVITE offering only G729 -> 488', g729_only, run)
    run.step('  nothing left, REGISTER answered', still_serving, server,
             client)
    run.step('INVITE with a body that is not SDP -> 400', garbage_sdp, run)
    run.step('  nothing left, REGISTER answered', still_serving, server,
             client)
    run.step('SIPp offering G729 + telephone-event -> 488', g729_sipp, run,
             server)
    run.step('  nothing left, REGISTER answered', still_serving, server,
             client)
    run.step('SIGTERM -> exit status 0', server.stop)

    one_pair = run.ports.rtp_min
    server = start_server(run, 'one-pair', rtp_port_min=one_pair,
                          rtp_port_max=one_pair + 1)
    run.step('REGISTER 1002 (the callee)', register_1002, run, client)
    run.step('one RTP port pair: the caller gets 503 (twice)', no_rtp_port,
             run, server)
    run.step('  nothing left, REGISTER answered', still_serving, server,
             client)
    run.step('SIGTERM -> exit status 0', server.stop)

    server = start_server(run, 'rtp-timeout', rtp_timeout=RTP_TIMEOUT)
    run.step(f'no RTP for {RTP_TIMEOUT} s: both sides get a BYE', vanish,
             run, server, client)
    run.step('  nothing left, REGISTER answered', still_serving, server,
             client)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('call-bad', body))
