#!/usr/bin/env python3
"""End-to-end: RTP rules of the media anchor, packet by packet.

    python3 tests/e2e/test_rtp_rules.py

Why: sipserver terminates RTP. It must take audio only from the address
and port the phone's SDP gave (so a stray or hostile sender cannot inject
audio into a call), and relay RFC 4733 telephone-events (DTMF, which IVRs
and agents depend on) into the other leg's own stream. Neither is visible
to SIPp or baresip, so a tiny Python UA (lib/rtpua.py) with real RTP
sockets places the calls. Checks:
- (a) 1001 calls 1002. 1001 sends a 440 Hz tone from its SDP's address
  while an intruder sends 1000 Hz from another port to the same server
  port. 1002 gets the server's stream from the port of its SDP, decodes
  it (u-law) and a Goertzel filter finds 440 Hz and no 1000 Hz; the
  status line's rx_foreign grew by exactly the intruder's packets;
- (b) 1001 sends event 5 (3 updates and 3 end packets, PT 101): 1002
  gets PT 101 packets of event 5 with the end bit, under the SSRC of the
  server's audio stream to it and in its sequence (no gap, no repeat);
- (c) the same with a caller whose telephone-event PT is 96: 1002 still
  gets them as PT 101, the PT it negotiated;
- (d) a PCMA caller and a PCMU callee each get packets of their own law
  only, and each hears the other's tone (the server transcodes);
- (e) a caller sending 10 ms and 30 ms packets is heard without gaps by a
  callee that gets 20 ms packets;
- (f) a re-INVITE that moves the caller's stream to a new port: audio
  from the new port is heard, the old port is now foreign;
- BYE relayed; nothing left (SIGUSR1); SIGTERM -> exit status 0.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    Server, check, config_text, main, nothing_left, poll, server_status,
    write_file)
from lib.rtpua import (  # noqa: E402
    PT_EVENT, PT_PCMA, PT_PCMU, RtpSocket, Ua, decode, goertzel_ratio,
    rms_dbfs, tone_frames)

TONE, INTRUDER_TONE = 440, 1000
SECONDS = 1.5
WINDOW = 800                 # samples: 100 ms windows for the ear


def call(run, caller_event_pt=PT_EVENT, caller_codec=PT_PCMU):
    p = run.ports
    a = Ua(p, '1001', p.base + 20, p.base + 28, event_pt=caller_event_pt,
           codec=caller_codec)
    b = Ua(p, '1002', p.base + 22, p.base + 32)
    b.register()
    a.invite('1002')
    b.answer()
    a.wait_answered()
    check(a.remote_rtp[0] == '127.0.0.1' and
          p.rtp_min <= a.remote_rtp[1] <= p.rtp_max, f'caller told to send '
          f'RTP to {a.remote_rtp}, not to the server\'s RTP range')
    return a, b


def hang_up(a, b):
    try:
        a.bye()
        b.wait_bye()
    finally:
        a.close()
        b.close()


def windows_of(packets):
    pcm = decode(packets)
    return [pcm[i:i + WINDOW] for i in range(0, len(pcm) - WINDOW + 1,
                                             WINDOW)]


def foreign_not_heard(run, server):
    a, b = call(run)
    intruder = RtpSocket(run.ports.base + 30)
    try:
        foreign_before = server_status(server)['rx_foreign']
        frames = tone_frames(TONE, SECONDS)
        noise = tone_frames(INTRUDER_TONE, SECONDS)
        t0 = time.monotonic()
        side = threading.Thread(target=intruder.send_frames,
                                args=(a.remote_rtp, noise))
        side.start()
        a.rtp.send_frames(a.remote_rtp, frames)
        side.join()
        t_end = time.monotonic()

        # what 1002 got while the tone played (the first 300 ms: the
        # server's playout buffer filling)
        got = [pkt for pkt in b.rtp.packets(pt=PT_PCMU)
               if t0 + 0.3 <= pkt.when <= t_end]
        check(len(got) >= 0.8 * (t_end - t0 - 0.3) / 0.02,
              f'1002 got {len(got)} PCMU packets in '
              f'{t_end - t0 - 0.3:.2f} s, expected one per 20 ms')
        sources = {pkt.src for pkt in got}
        check(sources == {b.remote_rtp}, f'1002 got RTP from {sources}, '
              f'expected only from {b.remote_rtp} (its SDP)')
        wins = windows_of(got)
        heard = [goertzel_ratio(w, TONE) for w in wins]
        foreign = [goertzel_ratio(w, INTRUDER_TONE) for w in wins]
        check(sum(r > 0.5 for r in heard) >= 0.8 * len(wins),
              f'1002 does not hear 1001\'s {TONE} Hz: power share per '
              f'100 ms {[round(r, 2) for r in heard]}, levels '
              f'{[round(rms_dbfs(w)) for w in wins]} dBFS')
        check(max(foreign, default=0) < 0.05, f'1002 hears the intruder\'s '
              f'{INTRUDER_TONE} Hz: share per 100 ms '
              f'{[round(r, 2) for r in foreign]}')

        sent = intruder.sent
        delta = {}

        def counted():
            delta['n'] = server_status(server)['rx_foreign'] - foreign_before
            return delta['n'] >= sent
        poll(counted, 3, 0.1)
        check(delta['n'] == sent, f'rx_foreign grew by {delta["n"]}, '
              f'expected {sent} (the intruder\'s packets)')
    finally:
        intruder.close()
        hang_up(a, b)


def events_relayed(run, caller_event_pt):
    a, b = call(run, caller_event_pt)
    try:
        # audio first, so the server's stream to 1002 is running
        a.rtp.send_frames(a.remote_rtp, tone_frames(TONE, 0.4))
        t0 = time.monotonic()
        a.rtp.send_event(a.remote_rtp, 5, pt=caller_event_pt)
        a.rtp.send_frames(a.remote_rtp, tone_frames(TONE, 0.2))

        def ended():
            return [p for p in b.rtp.packets(pt=PT_EVENT, since=t0)
                    if p.event()[1]]
        poll(ended, 2)
        events = b.rtp.packets(pt=PT_EVENT, since=t0)
        check(events, f'1002 got no PT {PT_EVENT} packet; PTs it got: '
              f'{sorted({p.pt for p in b.rtp.packets(since=t0)})}')
        digits = {p.event()[0] for p in events}
        check(digits == {5}, f'1002 got events {digits}, expected {{5}}')
        check(any(p.event()[1] for p in events),
              'no telephone-event packet with the end bit reached 1002')
        check(events[0].marker, 'the first relayed event packet has no '
              'marker bit')
        check(len({p.ts for p in events}) == 1, f'event packets of one '
              f'event carry timestamps {sorted({p.ts for p in events})}')

        audio = b.rtp.packets(pt=PT_PCMU)
        ssrcs = {p.ssrc for p in audio}
        check(len(ssrcs) == 1, f'the server\'s audio to 1002 has SSRCs '
              f'{ssrcs}')
        check({p.ssrc for p in events} == ssrcs, f'events under SSRC '
              f'{ {p.ssrc for p in events} }, audio under {ssrcs}')
        stream = [p for p in b.rtp.packets(since=t0 - 0.2)
                  if p.src == b.remote_rtp][:40]
        steps = [(q.seq - p.seq) & 0xFFFF for p, q in zip(stream, stream[1:])]
        check(all(s == 1 for s in steps), f'sequence numbers of the '
              f'server\'s stream to 1002 around the events step by {steps} '
              f'(PTs {[p.pt for p in stream]})')
    finally:
        hang_up(a, b)


def hears(packets, hz, who):
    wins = windows_of(packets)
    share = [goertzel_ratio(w, hz) for w in wins]
    check(wins and sum(r > 0.5 for r in share) >= 0.8 * len(wins),
          f'{who} does not hear {hz} Hz: power share per 100 ms '
          f'{[round(r, 2) for r in share]}, levels '
          f'{[round(rms_dbfs(w)) for w in wins]} dBFS')


def transcoded(run):
    """PCMA caller, PCMU callee: each gets its own law, the tone intact."""
    a, b = call(run, caller_codec=PT_PCMA)
    try:
        check(a.remote_pts.get('pcma') == PT_PCMA and
              'pcmu' not in a.remote_pts, f'the PCMA caller\'s answer '
              f'names {a.remote_pts}')
        t0 = time.monotonic()
        side = threading.Thread(target=b.rtp.send_frames, args=(
            b.remote_rtp, tone_frames(INTRUDER_TONE, SECONDS)))
        side.start()
        a.rtp.send_frames(a.remote_rtp, tone_frames(TONE, SECONDS,
                                                    pt=PT_PCMA), pt=PT_PCMA)
        side.join()
        t_end = time.monotonic()
        at_a = [q for q in a.rtp.packets(since=t0 + 0.3) if q.when <= t_end]
        at_b = [q for q in b.rtp.packets(since=t0 + 0.3) if q.when <= t_end]
        check({q.pt for q in at_a} == {PT_PCMA}, f'the PCMA caller got PTs '
              f'{ {q.pt for q in at_a} }, expected only {PT_PCMA}')
        check({q.pt for q in at_b} == {PT_PCMU}, f'the PCMU callee got PTs '
              f'{ {q.pt for q in at_b} }, expected only {PT_PCMU}')
        hears(at_b, TONE, '1002 (PCMU) from 1001 (PCMA)')
        hears(at_a, INTRUDER_TONE, '1001 (PCMA) from 1002 (PCMU)')
    finally:
        hang_up(a, b)


def heard_share(packets, hz):
    """The share of 100 ms windows in which hz dominates."""
    wins = windows_of(packets)
    return sum(goertzel_ratio(w, hz) > 0.5 for w in wins) / max(len(wins), 1)


def tone_heard(b, t0, t_end, hz=TONE):
    got = [pkt for pkt in b.rtp.packets(pt=PT_PCMU)
           if t0 + 0.3 <= pkt.when <= t_end]
    share = heard_share(got, hz)
    check(share >= 0.8, f'1002 hears {hz} Hz in only {share:.0%} of the '
          f'100 ms windows')


def packet_times(run):
    a, b = call(run)
    try:
        for ms in (10, 30):
            frames = tone_frames(TONE, SECONDS, frame=8 * ms)
            t0 = time.monotonic()
            a.rtp.send_frames(a.remote_rtp, frames)
            tone_heard(b, t0, time.monotonic())
    finally:
        hang_up(a, b)


def stream_moved(run, server):
    a, b = call(run)
    old = a.rtp
    try:
        a.rtp.send_frames(a.remote_rtp, tone_frames(TONE, 0.5))
        a.reinvite(RtpSocket(run.ports.base + 36))
        t0 = time.monotonic()
        a.rtp.send_frames(a.remote_rtp, tone_frames(TONE, SECONDS))
        tone_heard(b, t0, time.monotonic())
        # counted from here: the new port's first packet may beat the
        # new address to the worker (it applies it at the next frame)
        foreign_before = server_status(server)['rx_foreign']
        sent_before = old.sent
        old.send_frames(a.remote_rtp, tone_frames(TONE, 0.2))
        burst = old.sent - sent_before

        def delta():
            return server_status(server)['rx_foreign'] - foreign_before
        poll(lambda: delta() >= burst, 3, 0.1)
        check(delta() == burst, f'after the move rx_foreign grew by '
              f'{delta()}, expected {burst} (the old port\'s packets)')

    finally:
        old.close()
        hang_up(a, b)


def body(run):
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, {'1001': {}, '1002': {}}))
    server = Server(run, conf).start()
    run.step('(a) RTP from the SDP address is heard, a foreign source is '
             'counted and dropped', foreign_not_heard, run, server)
    run.step('  nothing left behind', nothing_left, server)
    run.step('(b) telephone-event 5 (PT 101) reaches the callee in its '
             'stream', events_relayed, run, PT_EVENT)
    run.step('  nothing left behind', nothing_left, server)
    run.step('(c) caller PT 96 -> callee PT 101', events_relayed, run, 96)
    run.step('  nothing left behind', nothing_left, server)
    run.step('(d) PCMA caller <-> PCMU callee: each its own law, both hear '
             'the other', transcoded, run)
    run.step('  nothing left behind', nothing_left, server)
    run.step('(e) 10 ms and 30 ms packets are heard whole', packet_times,
             run)
    run.step('  nothing left behind', nothing_left, server)
    run.step('(f) a re-INVITE moves the stream to a new port', stream_moved,
             run, server)
    run.step('  nothing left behind', nothing_left, server)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('rtp-rules', body))
