#!/usr/bin/env python3
"""tools/tonecheck, the tests' ear, against WAVs whose content is known.

    TONECHECK=build/tonecheck python3 tests/e2e/test_tonecheck.py

Why: every by-ear test trusts its verdicts, so it must say yes to what is
there, no to what is not, fail (exit 1) on a wrong expectation and refuse
(exit 2) bad input. WAVs are made with sox: one tone, two mixed tones,
digital silence, tone then silence, 48 kHz stereo.
No server and no ports.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import check, main  # noqa: E402
from lib.phones import SOX, tonecheck  # noqa: E402

MONO8K = ['-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer']


def sox(*args):
    subprocess.run([SOX, *args], check=True, capture_output=True)


def make_wavs(run):
    w = {name: run.path(name + '.wav') for name in
         ('a440', 'a1000', 'mix', 'silence', 'tone_then_silence',
          'stereo48k', 'quiet440')}
    sox('-n', *MONO8K, w['a440'], 'synth', '3', 'sine', '440')
    sox('-n', *MONO8K, w['a1000'], 'synth', '3', 'sine', '1000')
    sox('-m', w['a440'], w['a1000'], w['mix'])
    sox('-n', *MONO8K, w['silence'], 'trim', '0', '3')
    sox(w['a440'], w['silence'], w['tone_then_silence'])
    sox('-n', '-r', '48000', '-c', '2', '-b', '16', '-e', 'signed-integer',
        w['stereo48k'], 'synth', '3', 'sine', '440')
    # -60 dBFS: a tone, but below the default floor of -45 dBFS.
    sox('-n', *MONO8K, w['quiet440'], 'synth', '3', 'sine', '440',
        'vol', '0.001')
    return w


def expect_rc(want, wav, *args):
    rc, out = tonecheck(wav, *args)
    check(rc == want, f'tonecheck {" ".join(args)} {wav}: exit {rc}, '
          f'wanted {want}:\n{out}')
    return out


def windows(wav, *args):
    """The per-window lines as [(t, {freq: bool}, rms)]."""
    out = expect_rc(0, wav, *args)
    rows = []
    for line in out.splitlines():
        m = re.fullmatch(r't=(\d+\.\d{3})((?: \d+:(?:yes|no))*) '
                         r'rms=(-?\d+\.\d)dB', line)
        check(m, f'unparseable line {line!r}')
        tones = dict(kv.split(':') for kv in m.group(2).split())
        rows.append((float(m.group(1)),
                     {int(k): v == 'yes' for k, v in tones.items()},
                     float(m.group(3))))
    return rows


def per_window(w):
    rows = windows(w['a440'], '440', '1000')
    check(len(rows) == 30, f'3 s in 100 ms windows: {len(rows)} lines')
    check(all(r[1] == {440: True, 1000: False} for r in rows),
          f'440-only file: {rows}')
    rows = windows(w['mix'], '440', '1000', '--window', '50')
    check(len(rows) == 60, f'3 s in 50 ms windows: {len(rows)} lines')
    check(all(r[1] == {440: True, 1000: True} for r in rows),
          f'mix: {rows}')


def time_range(w):
    rows = windows(w['tone_then_silence'], '440', '--from', '2.5',
                   '--to', '3.5')
    check([r[0] for r in rows] == [2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2,
                                   3.3, 3.4], f'range 2.5..3.5: {rows}')
    check(all(r[1][440] == (r[0] < 3.0) for r in rows),
          f'tone until 3.0 then silence: {rows}')
    check(all(r[2] < -45 for r in rows if r[0] >= 3.0),
          f'silence must be below -45 dBFS: {rows}')


def expectations(w):
    expect_rc(0, w['a440'], '--expect', '440,!1000')
    expect_rc(0, w['a1000'], '--expect', '1000,!440')
    expect_rc(0, w['mix'], '--expect', '440,1000')
    expect_rc(0, w['stereo48k'], '--expect', '440,!1000')
    expect_rc(0, w['silence'], '--silent')
    expect_rc(0, w['silence'], '--expect', '!440,!1000')
    expect_rc(0, w['quiet440'], '--silent')
    expect_rc(0, w['quiet440'], '--expect', '440', '--floor', '-70')
    expect_rc(0, w['tone_then_silence'], '--silent', '--from', '3')
    expect_rc(0, w['tone_then_silence'], '--expect', '440', '--to', '3')


def failures(w):
    out = expect_rc(1, w['a440'], '--expect', '1000')
    check('1000 Hz present in 0.00' in out, f'names the failure:\n{out}')
    out = expect_rc(1, w['mix'], '--expect', '440,!1000')
    check('1000 Hz present in 1.00' in out, f'names the failure:\n{out}')
    expect_rc(1, w['a440'], '--silent')
    expect_rc(1, w['quiet440'], '--expect', '440')  # below the floor
    # half tone, half silence: neither reaches 0.8 of the windows
    expect_rc(1, w['tone_then_silence'], '--expect', '440')
    expect_rc(1, w['tone_then_silence'], '--silent')
    expect_rc(0, w['tone_then_silence'], '--expect', '440',
              '--min-fraction', '0.5')
    expect_rc(1, w['a440'], '--expect', '440', '--from', '5')  # no windows


def usage_errors(w, run):
    expect_rc(2, run.path('missing.wav'), '440')
    not_wav = run.path('not.wav')
    with open(not_wav, 'w') as f:
        f.write('not a wav file\n')
    expect_rc(2, not_wav, '440')
    expect_rc(2, w['a440'])                      # no frequency
    expect_rc(2, w['a440'], 'x440')
    expect_rc(2, w['a440'], '5000')              # above Nyquist at 8 kHz
    expect_rc(2, w['a440'], '--window', '0', '440')
    expect_rc(2, w['a440'], '--expect', '440,!')
    expect_rc(2, w['a440'], '--ratio', '2', '440')
    expect_rc(2, w['a440'], '--bogus', '440')


def body(run):
    w = run.step('make WAVs with sox', make_wavs, run)
    check(w, 'no WAVs, nothing to check')
    run.step('per-window lines: 440 alone, 440+1000 mixed', per_window, w)
    run.step('--from/--to; tone then silence', time_range, w)
    run.step('--expect/--silent hold -> exit 0', expectations, w)
    run.step('wrong expectations -> exit 1, naming the tone', failures, w)
    run.step('usage errors, unreadable files -> exit 2', usage_errors, w,
             run)


if __name__ == '__main__':
    sys.exit(main('tonecheck', body))
