#!/usr/bin/env python3
"""The phone harness on its own: two baresip phones call each other
directly, without sipserver, and the ear says who heard whom.

    python3 tests/e2e/test_phones_direct.py

Why: by-ear tests of the server trust lib/phones.py and tools/tonecheck;
this proves them where the answer is known. Phone A (440 Hz) dials phone B
(1000 Hz) at B's own address; A must hear 1000 and not 440, B 440 and not
1000. Then A holds and resumes through ctrl_tcp: both sides must show the
new SDP direction, and B's recording must stop growing at the hold (see
phones.py: baresip 1.0.0 drops its recorder at the first non-sendrecv
re-INVITE, so the ear cannot hear the resume).

Port block (E2E_PORT_BASE = B): A SIP B+2 (and B+3), B SIP B+4 (and B+5),
A RTP B+10..B+13, B RTP B+14..B+17. ctrl_tcp ports are ephemeral.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import check, main, poll  # noqa: E402
from lib.phones import Phone, assert_hears, wav_seconds  # noqa: E402

TONE_A, TONE_B = 440, 1000
HEARD = 2.0          # seconds each recording must hold before hang-up
CALL_DEADLINE = 5.0


def phones(run):
    base = run.ports.base
    a = Phone('a', 'a', base + 2, (base + 10, base + 13), tone_hz=TONE_A,
              workdir=run.tmp)
    b = Phone('b', 'b', base + 4, (base + 14, base + 17), tone_hz=TONE_B,
              workdir=run.tmp)
    return a, b


def call(a, b):
    a.dial(f'sip:b@127.0.0.1:{b.sip_port}')
    a.wait_call_established(CALL_DEADLINE)
    b.wait_call_established(CALL_DEADLINE)
    a.wait_heard(HEARD, CALL_DEADLINE + HEARD)
    b.wait_heard(HEARD, CALL_DEADLINE + HEARD)


def direction(phone):
    m = re.search(r'audio dir=(\w+)', phone.audio_debug())
    return m.group(1) if m else None


def wait_direction(phone, want):
    got = poll(lambda: direction(phone) == want, CALL_DEADLINE, 0.1)
    check(got, f'phone {phone.name}: audio dir {direction(phone)}, '
          f'wanted {want}')


def stalled(path, other, span=0.6):
    """True if `path` does not grow for `span` seconds while `other` (the
    phone's own -enc.wav, which always grows) does: a deadline-bounded
    observation, not a wait for an event."""
    before, other_before = wav_seconds(path), wav_seconds(other)
    poll(lambda: wav_seconds(other) >= other_before + span, span * 5)
    return (wav_seconds(path) == before
            and wav_seconds(other) >= other_before + span)


def hold_resume(a, b):
    a.hold()
    wait_direction(a, 'sendonly')
    wait_direction(b, 'recvonly')
    rec = b.recording()
    enc = rec.replace('-dec.wav', '-enc.wav')
    check(poll(lambda: stalled(rec, enc), CALL_DEADLINE),
          f'B\'s recording still grows while held ({wav_seconds(rec):.2f}s)')
    a.resume()
    wait_direction(a, 'sendrecv')
    wait_direction(b, 'sendrecv')


def hangup(a, b):
    a.hangup()
    a.wait_call_closed(CALL_DEADLINE)
    b.wait_call_closed(CALL_DEADLINE)


def ears(a, b):
    check(a.recording() and b.recording(), 'a phone made no recording')
    assert_hears(a.recording(), f'{TONE_B},!{TONE_A}', who='A')
    assert_hears(b.recording(), f'{TONE_A},!{TONE_B}', who='B')


def body(run):
    t0 = time.monotonic()
    a, b = phones(run)
    with a, b:
        run.step('start A and B', lambda: (a.start(), b.start()))
        t1 = time.monotonic()
        run.step('A calls B directly; both hear >= 2 s', call, a, b)
        t2 = time.monotonic()
        run.step('A holds, then resumes (ctrl_tcp)', hold_resume, a, b)
        run.step('A hangs up', hangup, a, b)
        run.step('A hears 1000 not 440; B hears 440 not 1000', ears, a, b)
    t3 = time.monotonic()
    print(f'timings: start {t1 - t0:.2f}s, call until 2 s heard '
          f'{t2 - t1:.2f}s, total with hold and stop {t3 - t0:.2f}s',
          flush=True)


if __name__ == '__main__':
    sys.exit(main('phones-direct', body))
