#!/usr/bin/env python3
"""End-to-end: CTI events of a call dialled from a phone, and the session
rules of tlib/1.

    python3 tests/e2e/test_cti_events.py

Why: an agent desktop learns about calls only through these events, so
their names, order and attributes are the contract (shared/spec/
tlib-protocol.md). Checks:
- session: EventLinkConnected first; a request before TOpenServer gets
  EventError 41 and the connection is closed; a bad line (not JSON,
  duplicate keys, no "request", a line over 65,536 bytes) gets EventError
  53 and the connection stays open; an unknown DN gets 59; registering
  twice gets 43; unregistering a DN not registered gets 41;
- a call 1001 -> 1002 placed by phones (tests/e2e/lib/rtpua.py): on 1001
  EventDialing, EventEstablished, EventReleased; on 1002 EventRinging,
  EventEstablished, EventReleased; one ConnID (16 lowercase hex digits) and
  CallUUID on all, CallType Internal, ANI 1001, DNIS 1002, roles and
  OtherDN right, EventSequenceNumber increasing, Time in RFC 3339 UTC ms;
- a client on both DNs gets both sides; a client that disconnects stops
  getting events and the call is not affected;
- TQueryCall lists both parties Established; TQueryAddress shows 1002's
  phone registered and its one call; an unknown ConnID gets 56;
- the same protocol over WebSocket (ws://127.0.0.1:HTTP/tlib, one message
  per text frame): a desktop registered on 1002 gets EventRinging.
"""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, nothing_left, poll,
    write_file)
from lib.rtpua import Ua  # noqa: E402
from lib.ws import WebSocket  # noqa: E402
import json  # noqa: E402

TIME = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')


def session_rules(run):
    raw = socket.create_connection((LOOPBACK, run.ports.tlib), 5)
    f = raw.makefile('rwb')
    first = f.readline()
    check(b'EventLinkConnected' in first, f'first line: {first!r}')
    f.write(b'{"request":"TRegisterAddress","ReferenceID":1,'
            b'"ThisDN":"1001"}\n')
    f.flush()
    err = f.readline()
    check(b'"ErrorCode":41' in err, f'before TOpenServer: {err!r}')
    check(f.readline() == b'', 'connection not closed after error 41')
    raw.close()

    c = Cti(run.ports.tlib)
    try:
        for line in ('not json', '{"request":"TOpenServer","a":1,"a":2}',
                     '{"ReferenceID":3}', '[1,2]', 'x' * 70000):
            c.send_line(line)
            ev = c.wait('EventError')
            check(ev['ErrorCode'] == 53, f'{line[:40]!r}: {ev}')
        ref = c.request('TRegisterAddress', ThisDN='9999')
        check(c.wait('EventError', ReferenceID=ref)['ErrorCode'] == 59,
              'unknown DN not refused with 59')
        c.register('1001')
        ref = c.request('TRegisterAddress', ThisDN='1001')
        check(c.wait('EventError', ReferenceID=ref)['ErrorCode'] == 43,
              'second registration not refused with 43')
        ref = c.request('TUnregisterAddress', ThisDN='1002')
        check(c.wait('EventError', ReferenceID=ref)['ErrorCode'] == 41,
              'unregistering an unregistered DN not refused with 41')
        ref = c.request('TUnregisterAddress', ThisDN='1001')
        c.wait('EventUnregistered', ReferenceID=ref)
    finally:
        c.close()


def check_event(ev, this, role, other, other_role, seen):
    check(ev['ThisDN'] == this and ev.get('ThisDNRole') == role and
          ev.get('OtherDN') == other and ev.get('OtherDNRole') ==
          other_role, f'{ev["event"]} on {this}: {ev}')
    check(re.fullmatch(r'[0-9a-f]{16}', ev.get('ConnID', '')),
          f'ConnID: {ev}')
    check(ev.get('CallType') == 'Internal' and ev.get('ANI') == '1001' and
          ev.get('DNIS') == '1002', f'call attributes: {ev}')
    check(TIME.match(ev.get('Time', '')), f'Time: {ev}')
    seen.append(ev)


def queries(agent, connid):
    ref = agent.request('TQueryCall', ThisDN='1001', ConnID=connid)
    info = agent.wait('EventPartyInfo', ReferenceID=ref)
    parties = [(p['DN'], p['PartyState']) for p in info['Parties']]
    check(parties == [('1001', 'Established'), ('1002', 'Established')],
          f'TQueryCall parties: {info}')
    ref = agent.request('TQueryAddress', ThisDN='1002')
    addr = agent.wait('EventAddressInfo', ReferenceID=ref)
    check(addr['AddressState'] == 'Registered' and
          [c['ConnID'] for c in addr['Calls']] == [connid] and
          addr['Calls'][0]['PartyState'] == 'Established',
          f'TQueryAddress 1002: {addr}')
    ref = agent.request('TQueryCall', ThisDN='1001', ConnID='f' * 16)
    check(agent.wait('EventError', ReferenceID=ref)['ErrorCode'] == 56,
          'TQueryCall of an unknown ConnID not refused with 56')


def call_events(run):
    p = run.ports
    agent = Cti(p.tlib)      # a desktop on both DNs
    ws = WebSocket(p.base + 9)  # a browser desktop on 1002
    check(json.loads(ws.recv())['event'] == 'EventLinkConnected',
          'no EventLinkConnected over WebSocket')
    ws.send(json.dumps({'request': 'TOpenServer', 'ReferenceID': 1,
                        'ApplicationName': 'browser'}))
    check(json.loads(ws.recv())['event'] == 'EventServerConnected',
          'TOpenServer over WebSocket not answered')
    ws.send(json.dumps({'request': 'TRegisterAddress', 'ReferenceID': 2,
                        'ThisDN': '1002'}))
    check(json.loads(ws.recv())['event'] == 'EventRegistered',
          'TRegisterAddress over WebSocket not answered')
    other = Cti(p.tlib)      # one that goes away mid-call
    a = Ua(p, '1001', p.base + 20, p.base + 28)
    b = Ua(p, '1002', p.base + 22, p.base + 32)
    seen = []
    try:
        agent.register('1001')
        agent.register('1002')
        other.register('1001')
        b.register()
        a.invite('1002')
        b.answer()
        a.wait_answered()
        check_event(agent.wait('EventDialing', ThisDN='1001'), '1001',
                    'Origination', '1002', 'Destination', seen)
        check_event(agent.wait('EventRinging', ThisDN='1002'), '1002',
                    'Destination', '1001', 'Origination', seen)
        ring = json.loads(ws.recv())
        check(ring['event'] == 'EventRinging' and ring['ThisDN'] == '1002'
              and ring['ConnID'] == seen[0]['ConnID'],
              f'WebSocket desktop got {ring}, expected EventRinging')
        check_event(agent.wait('EventEstablished', ThisDN='1002'), '1002',
                    'Destination', '1001', 'Origination', seen)
        check_event(agent.wait('EventEstablished', ThisDN='1001'), '1001',
                    'Origination', '1002', 'Destination', seen)
        other.wait('EventEstablished', ThisDN='1001')
        other.close()
        queries(agent, seen[0]['ConnID'])
        a.bye()
        b.wait_bye()
        check_event(agent.wait('EventReleased', ThisDN='1001'), '1001',
                    'Origination', '1002', 'Destination', seen)
        check_event(agent.wait('EventReleased', ThisDN='1002'), '1002',
                    'Destination', '1001', 'Origination', seen)
        check(len({e['ConnID'] for e in seen}) == 1 and
              len({e['CallUUID'] for e in seen}) == 1,
              f'one call, one ConnID and CallUUID: {seen}')
        seqs = [e['EventSequenceNumber'] for e in seen]
        check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs),
              f'EventSequenceNumber not increasing: {seqs}')
    finally:
        for x in (agent, a, b, ws):
            x.close()


def body(run):
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}},
        http_port=run.ports.base + 9))
    server = Server(run, conf).start()
    run.step('session rules and error codes', session_rules, run)
    run.step('events of a phone-dialled call', call_events, run)
    run.step('nothing left behind', nothing_left, server)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('cti-events', body))
