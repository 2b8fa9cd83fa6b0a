"""Helpers of the conference and private-conversation tests: tlibctl as a
subprocess, ears over several phones' recordings, LCTParty snapshots."""

import json
import os
import subprocess

from .harness import check
from .phones import assert_hears

SEGMENT, MARGIN = 2.0, 0.5
DEADLINE_MS = 15000


def tlibctl(run, line, register, wait, port=None):
    """port: the server's tlib port when it is not the run's."""
    binary = os.environ.get('TLIBCTL') or os.path.join(
        os.path.dirname(os.environ['SIPSERVER']), 'tlibctl')
    args = [binary, '--port', str(port or run.ports.tlib), '--timeout',
            str(DEADLINE_MS), '--wait', wait]
    for dn in register:
        args += ['--register', dn]
    proc = subprocess.run(args, input=line + '\n', capture_output=True,
                          text=True, timeout=DEADLINE_MS / 1000 + 5)
    events = [json.loads(x) for x in proc.stdout.splitlines() if x]
    check(proc.returncode == 0, f'{line}: tlibctl exit {proc.returncode}: '
          f'{proc.stderr} {events}')
    return events


class Ears:
    """Marks on each phone's recording, and what it must hear between.
    tones: DN -> its phone's tone; music: the music's tone."""

    def __init__(self, phones, tones, music):
        self.phones, self.tones, self.music = phones, tones, music
        self.marks = {}

    def mark(self, name):
        self.marks[name] = {dn: p.heard_seconds()
                            for dn, p in self.phones.items()}

    def listen(self, name, who):
        """Wait for a segment after mark `name` on the phones in `who`."""
        for dn in who:
            p = self.phones[dn]
            p.wait_heard(self.marks[name][dn] + SEGMENT + MARGIN, 10)

    def check(self, name, dn, hears, not_hears):
        spec = ','.join([str(h) for h in hears] +
                        [f'!{h}' for h in not_hears])
        t0 = self.marks[name][dn] + MARGIN
        assert_hears(self.phones[dn].recording(), spec, '--from',
                     f'{t0:.2f}', '--to', f'{t0 + SEGMENT - 0.1:.2f}',
                     who=f'{dn} at {name}')

    def talk(self, name, dns, extra_not=()):
        """Each of dns hears all the others of dns, never itself."""
        self.listen(name, dns)
        for dn in dns:
            others = [self.tones[o] for o in dns if o != dn]
            self.check(name, dn, others,
                       [self.tones[dn], self.music,
                        *[self.tones[x] for x in extra_not]])


def lct(cti, dn, connid, want, location='Home'):
    """The next LCTParty snapshot for dn equals want [(alias, state)]
    (earlier snapshots, of steps on the way, are skipped)."""
    seen = []
    while True:
        ev = cti.wait('EventUserEvent', ThisDN=dn, ConnID=connid)
        ext = ev.get('Extensions', {})
        got = [(ext.get(f'LCTParty{i}'), ext.get(f'LCTParty{i}_state'))
               for i in range(ext.get('LCTPartiesLength', 0))]
        if got == want:
            break
        seen.append(got)
        check(len(seen) < 10, f'{dn}: no LCTParty snapshot {want}; got '
              f'{seen}')
    for i in range(len(want)):
        loc = location(want[i][0]) if callable(location) else location
        check(ext.get(f'LCTParty{i}_location') == loc,
              f'{dn}: LCTParty{i}_location: {ext}, expected {loc}')


