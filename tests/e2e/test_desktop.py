#!/usr/bin/env python3
"""End-to-end, the web agent desktop (web/) in a real browser: headless
Chromium (lib/browser.py), a real sipserver, real baresip phones, by ear.

    python3 tests/e2e/test_desktop.py

Why: the desktop is how an agent runs the headline feature; what it shows
and sends must be what the server does. A customer (baresip behind the
trunk `gw` on 127.0.0.2, ANI 5551234, 2200 Hz) calls agent 1001 (440 Hz);
agent 1002 is on 1000 Hz; the listen-disconnect music is 700 Hz. The server
wants a client password. Two desktops (1001, 1002), each in a browser
context of its own, are clicked and read like a person would:
1. sign-in refusals show the server's ErrorMessage as it sent it: no
   password (41), a DN that is not configured (59); then both sign in;
2. the customer calls 1001 (the phone answers by itself): 1001's desktop
   shows the call (state, the ConnID the server sent, CallType, ANI, DNIS)
   and its parties, 1001 marked "you";
3. 1001 initiates a conference to 1002 (Number field) and completes it:
   both desktops list the three parties; everyone hears everyone;
4. 1001 clicks Disconnect on the customer: both desktops show it
   ListenDisconnectedHeld; the customer hears only the music, the agents
   each other; 1002's Disconnect of 1001 is disabled and says why;
5. a refused action (single-step conference to 4711, not configured)
   shows the ErrorMessage of the server's EventError; nothing changes, by
   ear;
6. 1002 clicks Reconnect: the state clears on both desktops; everyone
   hears everyone;
7. 1002 deletes 1001 from the conference; 1002 holds, retrieves and
   releases from its desktop;
8. Make call from 1001's desktop to 1002, released from it;
9. the server restarts: both desktops show the link down, then come back
   by themselves, signed in again (EventRegistered) with no call left.
A screenshot of each step is written to the temp dir (and, when
E2E_ARTIFACTS is set, copied there: ctest sets it under the build tree).
"""

import json
import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.browser import Browser  # noqa: E402
from lib.conf import Ears  # noqa: E402
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, nothing_left, poll,
    write_file)
from lib.phones import Phone, music_wav, registered_phones  # noqa: E402

CUSTOMER = '5551234'
GATEWAY = '127.0.0.2'
TONES = {'1001': 440, '1002': 1000, CUSTOMER: 2200}
AGENTS = ('1001', '1002')
MUSIC = 700
PASSWORD = 'desk-secret'
UI_DEADLINE = 10.0


# ------------------------------------------------------------ the page

def card(connid):
    return f'#calls article[data-connid="{connid}"]'


def button(connid, action, party=None):
    sel = f'{card(connid)} button[data-action="{action}"]'
    return sel + (f'[data-party="{party}"]' if party else '')


def parties(page, connid):
    """[(alias, state, you)] of a call card, as shown."""
    return page.evaluate(
        f'[...document.querySelectorAll({json.dumps(card(connid))} + '
        '" tr[data-alias]")].map(r => [r.dataset.alias, '
        'r.querySelector(".pstate").textContent, '
        'r.classList.contains("you")])')


def wait_parties(page, connid, want, who):
    """want: [(alias, state)], state '' = plainly connected."""
    shown = [(a, '' if s == 'Connected' else s) for a, s, _ in want]
    got = poll(lambda: (lambda p: p if p and [(a, '' if s == 'Connected'
                                               else s) for a, s, _ in p]
                        == shown else None)(parties(page, connid)),
               UI_DEADLINE)
    check(got, f'{who}: parties of {connid} not {shown} within '
          f'{UI_DEADLINE:g} s; shown: {parties(page, connid)}')
    for alias, _, you in got:
        check(you == (alias == who), f'{who}: "you" on {alias}: {got}')
    return got


def calls(page):
    return page.evaluate('[...document.querySelectorAll("#calls '
                         'article")].map(a => a.dataset.connid)')


def field(page, connid, label):
    return page.evaluate(
        f'(c => {{ for (const f of c ? c.querySelectorAll(".field") : [])'
        f' if (f.querySelector(".label").textContent === '
        f'{json.dumps(label)}) return f.querySelector(".value")'
        f'.textContent; return null; }})'
        f'(document.querySelector({json.dumps(card(connid))}))')


def my_state(page, connid):
    return page.text(f'{card(connid)} .mystate')


def wait_state(page, connid, state, who):
    got = poll(lambda: my_state(page, connid) == state, UI_DEADLINE)
    check(got, f'{who}: call {connid} not {state} within {UI_DEADLINE:g} s'
          f' (shown: {my_state(page, connid)!r})')


def sign_in(page, dn, password):
    page.type('#dn', dn)
    page.type('#password', password)
    page.click('#signin-button')


def last_error(page):
    """The newest EventError of the page's event log, as its JSON."""
    text = page.evaluate('(e => e ? e.textContent : null)(document.'
                         'querySelector("#events li.ev-error pre"))')
    return json.loads(text) if text else None


def raw_error(port, lines):
    """The EventError the server sends for these request lines on a new
    connection: what the desktop must show, word for word."""
    with socket.create_connection((LOOPBACK, port), 5) as s:
        f = s.makefile('rwb')
        for line in lines:
            f.write(json.dumps(line).encode() + b'\n')
        f.flush()
        for raw in f:
            ev = json.loads(raw)
            if ev['event'] == 'EventError':
                return ev
    check(False, f'no EventError for {lines}')


class Shots:
    def __init__(self, run):
        self.run, self.n = run, 0
        self.keep = os.environ.get('E2E_ARTIFACTS')

    def take(self, page, name, height=None):
        self.n += 1
        path = page.screenshot(self.run.path(f'{self.n:02d}-{name}.png'),
                               height)
        if self.keep:
            os.makedirs(self.keep, exist_ok=True)
            shutil.copy(path, self.keep)
        return path


# ----------------------------------------------------------------- steps

def step_sign_in(run, st):
    a, b = st['page']['1001'], st['page']['1002']
    tlib = run.ports.tlib
    want = raw_error(tlib, [{'request': 'TOpenServer', 'ReferenceID': 1,
                             'ApplicationName': 'desktop-1001'}])
    sign_in(a, '1001', '')
    got = a.wait_text('#signin-error', want['ErrorMessage'], UI_DEADLINE)
    check(got == f'TOpenServer refused: {want["ErrorMessage"]} (ErrorCode '
          f'{want["ErrorCode"]})' and want['ErrorCode'] == 41,
          f'no password: {got!r}, server: {want}')
    st['shots'].take(a, 'refused-password')

    want = raw_error(tlib, [
        {'request': 'TOpenServer', 'ReferenceID': 1,
         'ApplicationName': 'x', 'Password': PASSWORD},
        {'request': 'TRegisterAddress', 'ReferenceID': 2, 'ThisDN': '9999'}])
    sign_in(a, '9999', PASSWORD)
    got = a.wait_text('#signin-error', want['ErrorMessage'], UI_DEADLINE)
    check(want['ErrorCode'] == 59 and '(ErrorCode 59)' in got,
          f'unknown DN: {got!r}, server: {want}')
    st['shots'].take(a, 'refused-dn')

    for dn, page in st['page'].items():
        sign_in(page, dn, PASSWORD)
    for dn, page in st['page'].items():
        page.wait_text('#link', 'linked', UI_DEADLINE)
        page.wait_text('#who', f'DN {dn}')
        check(page.evaluate('document.getElementById("signin").hidden'),
              f'{dn}: sign-in form still shown')
    check(b.text('#calls') == 'no calls', f'1002: {b.text("#calls")!r}')
    st['shots'].take(a, 'signed-in')


def step_inbound(run, st):
    ph, a = st['ph'], st['page']['1001']
    ph[CUSTOMER].dial(f'sip:1001@{LOOPBACK}:{run.ports.sip}')
    ph['1001'].wait_call_established(5)
    ev = st['cti'].wait('EventEstablished', ThisDN='1001')
    c1 = st['c1'] = ev['ConnID']
    a.wait_element(card(c1), UI_DEADLINE)
    wait_state(a, c1, 'Established', '1001')
    for label, want in (('ConnID', c1), ('CallType', 'Inbound'),
                        ('ANI', CUSTOMER), ('DNIS', ev['DNIS'])):
        check(field(a, c1, label) == want, f'1001: {label} shown '
              f'{field(a, c1, label)!r}, the server sent {want!r}')
    wait_parties(a, c1, [(CUSTOMER, 'Connected', False),
                         ('1001', 'Connected', True)], '1001')
    st['ears'].mark('inbound')
    st['ears'].talk('inbound', [CUSTOMER, '1001'])
    st['shots'].take(a, 'inbound')


def step_conference(run, st):
    a, b, c1 = st['page']['1001'], st['page']['1002'], st['c1']
    a.type('#number', '1002')
    a.click(button(c1, 'initiate'))
    wait_state(a, c1, 'Held', '1001')
    consult = poll(lambda: [c for c in calls(a) if c != c1], UI_DEADLINE)
    check(consult, f'1001: no consultation call shown: {calls(a)}')
    c2 = consult[0]
    check(field(a, c2, 'CallType') == 'Consult', f'1001: {c2} not Consult')
    wait_state(a, c2, 'Established', '1001')  # 1002's phone answered
    st['shots'].take(a, 'consulting')
    a.click(button(c2, 'complete'))
    three = [(CUSTOMER, 'Connected', False), ('1001', 'Connected', False),
             ('1002', 'Connected', False)]
    for dn, page in st['page'].items():
        poll(lambda p=page: calls(p) == [c1], UI_DEADLINE)
        check(calls(page) == [c1], f'{dn}: calls {calls(page)}, expected '
              f'[{c1}]')
        wait_parties(page, c1, three, dn)
        check(field(page, c1, 'CallState') == 'Conferenced',
              f'{dn}: CallState {field(page, c1, "CallState")!r}')
    wait_state(a, c1, 'Established', '1001')
    wait_state(b, c1, 'Established', '1002')
    st['ears'].mark('conference')
    st['ears'].talk('conference', list(TONES))
    st['shots'].take(b, 'conference')


def disconnected_by_ear(st, name):
    ears = st['ears']
    ears.mark(name)
    ears.talk(name, list(AGENTS), extra_not=[CUSTOMER])
    ears.listen(name, [CUSTOMER])
    ears.check(name, CUSTOMER, [MUSIC], [TONES[a] for a in AGENTS])


def step_disconnect(run, st):
    a, b, c1 = st['page']['1001'], st['page']['1002'], st['c1']
    a.click(button(c1, 'disconnect', CUSTOMER))
    off = [(CUSTOMER, 'ListenDisconnectedHeld', False),
           ('1001', 'Connected', False), ('1002', 'Connected', False)]
    for dn, page in st['page'].items():
        wait_parties(page, c1, off, dn)
    el = b.element(button(c1, 'disconnect', '1001'))
    check(el['disabled'] and el['title'] == 'disconnecting 1001 would '
          'leave fewer than two active parties', f'1002: {el}')
    el = b.element(button(c1, 'disconnect', CUSTOMER))
    check(el['disabled'] and el['title'] ==
          f'{CUSTOMER} is already disconnected', f'1002: {el}')
    el = b.element(button(c1, 'reconnect', CUSTOMER))
    check(not el['disabled'], f'1002: reconnect {el}')
    disconnected_by_ear(st, 'disconnected')
    st['shots'].take(a, 'disconnected-1001')
    st['shots'].take(b, 'disconnected-1002')
    # the picture of docs/desktop.md: the call, the top of the log
    st['shots'].take(a, 'desktop', height=560)


def step_refused(run, st):
    a, c1 = st['page']['1001'], st['c1']
    a.type('#number', '4711')
    a.click(button(c1, 'single-step'))
    ev = poll(lambda: last_error(a), UI_DEADLINE)
    check(ev and ev.get('ErrorCode') == 59, f'1001: EventError {ev}')
    a.wait_text('#notice', ev['ErrorMessage'], UI_DEADLINE)
    check(a.text('#notice') == f'TSingleStepConference refused: '
          f'{ev["ErrorMessage"]} (ErrorCode 59)', f'1001: notice '
          f'{a.text("#notice")!r}')
    # the log's entry opens to the event's JSON
    a.click('#events li.ev-error summary')
    check(a.evaluate('document.querySelector("#events li.ev-error '
                     'details").open && document.querySelector("#events '
                     'li.ev-error pre").offsetHeight > 0'),
          '1001: the EventError in the log does not open to its JSON')
    disconnected_by_ear(st, 'refused')
    for dn, page in st['page'].items():
        wait_parties(page, c1, [(CUSTOMER, 'ListenDisconnectedHeld', False),
                                ('1001', 'Connected', False),
                                ('1002', 'Connected', False)], dn)
    st['shots'].take(a, 'refused-action')
    a.type('#number', '')


def step_reconnect(run, st):
    b, c1 = st['page']['1002'], st['c1']
    b.click(button(c1, 'reconnect', CUSTOMER))
    three = [(CUSTOMER, 'Connected', False), ('1001', 'Connected', False),
             ('1002', 'Connected', False)]
    for dn, page in st['page'].items():
        wait_parties(page, c1, three, dn)
    st['ears'].mark('reconnected')
    st['ears'].talk('reconnected', list(TONES))
    st['shots'].take(b, 'reconnected')


def step_release(run, st):
    a, b, c1, ph = st['page']['1001'], st['page']['1002'], st['c1'], st['ph']
    b.click(button(c1, 'delete', '1001'))
    ph['1001'].wait_call_closed(5)
    poll(lambda: calls(a) == [], UI_DEADLINE)
    check(calls(a) == [] and a.text('#calls') == 'no calls',
          f'1001: calls {calls(a)}')
    wait_parties(b, c1, [(CUSTOMER, 'Connected', False),
                         ('1002', 'Connected', False)], '1002')
    check(poll(lambda: field(b, c1, 'CallState') == 'Ok', UI_DEADLINE),
          f'1002: CallState {field(b, c1, "CallState")!r}')
    b.click(button(c1, 'hold'))
    wait_state(b, c1, 'Held', '1002')
    el = b.element(button(c1, 'hold'))
    check(el['disabled'] and el['title'] == 'the call is already on hold',
          f'1002: hold {el}')
    st['shots'].take(b, 'held')
    b.click(button(c1, 'retrieve'))
    wait_state(b, c1, 'Established', '1002')
    b.click(button(c1, 'release'))
    ph[CUSTOMER].wait_call_closed(5)
    poll(lambda: calls(b) == [], UI_DEADLINE)
    check(calls(b) == [], f'1002: calls {calls(b)}')
    nothing_left(st['server'])


def step_make_call(run, st):
    a, b = st['page']['1001'], st['page']['1002']
    a.type('#number', '1002')
    a.click('#make')
    c = poll(lambda: calls(a), UI_DEADLINE)
    check(c, '1001: no call after Make call')
    wait_state(a, c[0], 'Established', '1001')
    b.wait_element(card(c[0]), UI_DEADLINE)
    wait_state(b, c[0], 'Established', '1002')
    check(field(a, c[0], 'CallType') == 'Internal', '1001: CallType')
    a.click(button(c[0], 'release'))
    for dn, page in st['page'].items():
        poll(lambda p=page: calls(p) == [], UI_DEADLINE)
        check(calls(page) == [], f'{dn}: calls {calls(page)}')
    a.type('#number', '')
    nothing_left(st['server'])


def registered_count(page):
    return page.evaluate('[...document.querySelectorAll("#events .name")]'
                         '.filter(e => e.textContent === "EventRegistered")'
                         '.length')


def step_restart(run, st):
    a = st['page']['1001']
    before = {dn: registered_count(p) for dn, p in st['page'].items()}
    st['cti'].close()
    st['server'].stop()
    for dn, page in st['page'].items():
        page.wait_text('#link', 'link down', UI_DEADLINE)
        el = page.element('#make')
        check(el['disabled'] and 'link' in el['title'], f'{dn}: make {el}')
    st['shots'].take(a, 'link-down')
    st['server'] = Server(run, st['conf']).start()
    for dn, page in st['page'].items():
        page.wait_text('#link', 'linked', 20)
        check(poll(lambda p=page: registered_count(p) > before[dn], 5),
              f'{dn}: no new EventRegistered in the log')
        check(calls(page) == [], f'{dn}: calls {calls(page)}')
    st['shots'].take(a, 'link-back')


def step_log_cap(run, st):
    """The log keeps the newest 200 (ui.js, on a list of its own)."""
    got = st['page']['1001'].evaluate(
        'import("/ui.js").then(m => { const l = document.createElement('
        '"ol"); for (let i = 1; i <= 250; i++) m.logEvent(l, {event: '
        '"EventUserEvent", EventSequenceNumber: i}); return [l.children.'
        'length, JSON.parse(l.firstChild.querySelector("pre").textContent)'
        '.EventSequenceNumber, JSON.parse(l.lastChild.querySelector("pre")'
        '.textContent).EventSequenceNumber]; })')
    check(got == [200, 250, 51], f'log: [count, first, last] = {got}')


def step_sign_out(run, st):
    for dn, page in st['page'].items():
        page.click('#signout')
        page.wait_text('#link', 'signed out', UI_DEADLINE)
        check(not page.evaluate('document.getElementById("signin").hidden'),
              f'{dn}: no sign-in form after sign-out')


def body(run):
    music = music_wav(run.path('music-700.wav'), MUSIC)
    gw_slot = 3
    http = run.ports.client(7)
    dns = {dn: {} for dn in AGENTS}
    dns['gw'] = {'type': 'Trunk', 'prefix': '9',
                 'contact': f'sip:{GATEWAY}:{run.ports.phone_sip(gw_slot)}'}
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, dns, music_listen_disconnect=music,
        sip_enable_call_info='true', sip_enable_call_info_extended='true',
        client_password=PASSWORD, http_port=http,
        web_root=os.path.join(run.src, 'web')))
    server = Server(run, conf).start()
    agents = registered_phones(run, [(dn, TONES[dn]) for dn in AGENTS])
    customer = Phone('gw', CUSTOMER, run.ports.phone_sip(gw_slot),
                     run.ports.phone_rtp(gw_slot), tone_hz=TONES[CUSTOMER],
                     workdir=run.tmp, address=GATEWAY).start()
    ph = dict(zip(AGENTS, agents))
    ph[CUSTOMER] = customer
    cti = Cti(run.ports.tlib, password=PASSWORD)
    cti.register('1001')
    browser = Browser(run.tmp)
    st = {'ph': ph, 'cti': cti, 'server': server, 'conf': conf,
          'ears': Ears(ph, TONES, MUSIC), 'shots': Shots(run)}
    try:
        print(f'     {browser.start()}', flush=True)
        url = f'http://{LOOPBACK}:{http}/'
        st['page'] = {dn: browser.page(url) for dn in AGENTS}
        steps = [
            ('sign-in refusals show the ErrorMessage; both sign in',
             step_sign_in),
            ('the customer calls 1001: call and parties shown',
             step_inbound),
            ('1001 conferences in 1002 from the desktop', step_conference),
            ('1001 disconnects the customer: both desktops show it, '
             'by ear', step_disconnect),
            ('a refused action shows the server\'s ErrorMessage',
             step_refused),
            ('1002 reconnects the customer: cleared everywhere, by ear',
             step_reconnect),
            ('delete, hold, retrieve, release from the desktops',
             step_release),
            ('Make call from the desktop', step_make_call),
            ('server restart: link down, back, signed in again',
             step_restart),
            ('the event log keeps the newest 200', step_log_cap),
            ('sign out', step_sign_out),
        ]
        for title, fn in steps:
            if not run.step(title, lambda f=fn: f(run, st) or True):
                break
    finally:
        browser.stop()
        cti.close()
        for p in (*agents, customer):
            p.stop()
    run.step('nothing left behind', nothing_left, st['server'])
    run.step('SIGTERM -> exit status 0', st['server'].stop)


if __name__ == '__main__':
    sys.exit(main('desktop', body))
