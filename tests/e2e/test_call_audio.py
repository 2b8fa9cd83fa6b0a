#!/usr/bin/env python3
"""End-to-end two-party call through sipserver, checked by ear.

    python3 tests/e2e/test_call_audio.py

Why: media is anchored in sipserver's own engine, so "1001 hears 1002" is
only true if RTP really goes phone -> sipserver -> mixer -> phone, in both
directions, and never echoes a phone's own voice back. Hold must bring the
music to the party left alone, and resume must bring the talk back.
Two baresip phones register with the server; 1001 (440 Hz, with a digest
password: its REGISTER gets 401 and its INVITE 407 first) dials 1002
(1000 Hz, auto-answer). Checks, by tonecheck on what each phone recorded:
- before the hold: 1001 hears 1000 Hz and not 440; 1002 hears 440, not 1000;
- 1001 holds: 1002 hears the music (a 700 Hz test file), not 440;
- 1001 resumes: 1002 hears 440 again and no music;
- after the hangup: the status line shows no call, party, leg or RTP leg
  left; SIGTERM -> exit status 0.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, config_text, main, nothing_left, write_file)
from lib.phones import (  # noqa: E402
    assert_hears, music_wav, registered_phones)

TONE_A, TONE_B, TONE_MUSIC = 440, 1000, 700
PASSWORD = 'agent1001'
SEGMENT = 2.0     # seconds of each phase the ear gets
MARGIN = 0.4      # seconds left out around each switch


def phones(run):
    return registered_phones(run, [('1001', TONE_A, {'password': PASSWORD}),
                                   ('1002', TONE_B)])


def call(run, a, b):
    a.dial(f'sip:1002@{LOOPBACK}:{run.ports.sip}')
    b.wait_call_established(5)
    a.wait_call_established(5)
    a.wait_heard(SEGMENT + MARGIN, deadline=8)
    b.wait_heard(SEGMENT + MARGIN, deadline=8)


def hold_resume(a, b, marks):
    marks['hold'] = b.heard_seconds()
    a.hold()
    b.wait_heard(marks['hold'] + SEGMENT + MARGIN, deadline=8)
    marks['resume'] = b.heard_seconds()
    a.resume()
    b.wait_heard(marks['resume'] + SEGMENT + MARGIN, deadline=8)


def hangup(a, b):
    a.hangup()
    a.wait_call_closed(5)
    b.wait_call_closed(5)


def ears(a, b, marks):
    t_hold, t_resume = marks['hold'], marks['resume']
    assert_hears(a.recording(), f'{TONE_B},!{TONE_A}', '--from', '0.5',
                 '--to', f'{t_hold - 0.2:.2f}', who='1001 before hold')
    assert_hears(b.recording(), f'{TONE_A},!{TONE_B}', '--from', '0.5',
                 '--to', f'{t_hold - 0.2:.2f}', who='1002 before hold')
    assert_hears(b.recording(), f'{TONE_MUSIC},!{TONE_A},!{TONE_B}',
                 '--from', f'{t_hold + MARGIN:.2f}',
                 '--to', f'{t_resume - 0.2:.2f}', who='1002 while held')
    assert_hears(b.recording(), f'{TONE_A},!{TONE_MUSIC},!{TONE_B}',
                 '--from', f'{t_resume + MARGIN:.2f}',
                 '--to', f'{t_resume + SEGMENT:.2f}', who='1002 resumed')


def body(run):
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {'password': PASSWORD}, '1002': {}},
        default_music=music_wav(run.path('music-700.wav'), TONE_MUSIC,
                                rate=16000)))
    server = Server(run, conf).start()
    a, b = phones(run)
    marks = {}
    run.step('1001 calls 1002, both connected', call, run, a, b)
    run.step('1001 holds, then resumes', hold_resume, a, b, marks)
    run.step('hang up', hangup, a, b)
    run.step('by ear: talk, music on hold, talk again', ears, a, b, marks)
    run.step('nothing left behind', nothing_left, server)
    for p in (a, b):
        p.stop()
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('call-audio', body))
