#!/usr/bin/env python3
"""Private conversations benchmark: TListenDisconnect with many live
conferences.

    python3 bench/listen.py [--conferences 200] [--rounds 1] [--settle 5]
                            [--no-reconnect] [--quickack]
                            [--media-threads N] [--sender-nice 10] [--seed 1]

Starts the plain build (build/sipserver) on 127.0.0.1 (SIP 44000, tlib
44001, its RTP range 45600-47999; the bench's SIP socket is 44002, its CTI
client's port 44004, its RTP sockets 44100 upwards, one per party; so at
most 400 conferences) with call info (extended) on, rtp-timeout = 0,
log-level = warn and music-listen-disconnect = a generated 700 Hz WAV
(tests/e2e/lib/phones.music_wav), then:

1. Sets up N conferences through sipserver's SIP and CTI interfaces: for
   conference i, DN A_i (5000+i) calls DN B_i (6000+i) with a SIP INVITE,
   and one CTI client registered on every A DN sends TSingleStepConference
   (ThisDN A_i, OtherDN X_i = 7000+i), which makes the server call X_i's
   registered phone. All SIP is one multiplexed user agent on one socket
   (a thread; B and X DNs are REGISTERed with its Contact); every party has
   its own RTP socket. A forked child sends 20 ms PCMU on all 3N sockets,
   paced on the clock (niced, --sender-nice: the load generator yields to
   sipserver and to the timing): A_i a 440 Hz tone, B_i 1000 Hz, X_i
   1300 Hz, so every mix is real and every listener's audio says whom it
   hears. Every party's ear is checked once all are up and again at the
   end (A hears 1000+1300, B 440+1300, X 440+1000, nobody itself or music).
2. Samples sipserver's CPU and RSS over --settle seconds with all
   conferences live and nothing asked.
3. For each conference in turn, the others live: TListenDisconnect
   (ThisDN A_i, ConnID, OtherDN X_i, X's alias as the LCTParty event
   lists it), sent after a random wait of 0..20 ms (otherwise every
   request would fall at the same phase of the server's 20 ms frame
   clock, just after the baseline's last packet), and measures
   (a) request sent -> EventListenDisconnected with its ReferenceID read
       from the CTI socket (blocking reads in a process whose other
       thread, the SIP UA, is idle by then, as bench/cti.py does); also
       request -> the LCTParty EventUserEvent the server sends right
       after it (X ListenDisconnectedHeld);
   (b) request sent -> the first RTP packet at X_i's socket with music in
       it, and the first that is all music, by the kernel's receive
       timestamp of the packet (SO_TIMESTAMPNS, CLOCK_REALTIME, compared
       with the request's send time on the same clock), so Python's own
       reading delay is not counted.
   Then TListenReconnect (unless --no-reconnect) 40 ms plus another
   random 0-20 ms after the disconnect (past the frame whose music packet
   sipserver sent at once, which a reconnect cannot take back: see
   docs/media.md), and (c) request sent -> EventListenReconnected, and
   -> the first packet at X that is the A+B mix again.
4. Prints the figures, sipserver's CPU and RSS, and its frames= / late=
   counters (SIGUSR1 status line) before and after the measurements; VM
   steal time and any other process that used more than 2 % of a core
   (the figures are only worth something on an otherwise quiet machine).
   Every sample is in samples.csv in the run's temp dir, with the phase of
   the request in X's 20 ms packet clock (0 = just after a packet to X).

Music detection (per packet, the 160 decoded samples of its PCMU payload):
  P(f) = Goertzel power at f over the packet; ratio(f) = P(f) over the
  packet's total power (1.0 for a pure tone at f, as goertzel_ratio of
  tests/e2e/lib/rtpua.py). 700 Hz is exactly bin 14 of a 160-sample
  window, 1000 Hz bin 20, 440 Hz falls between bins 8 and 9.
  - baseline: the packets X_i receives just before the request (at least
    3 fresh ones; a silent one is skipped and counted) must be the A+B
    mix: ratio(440) + ratio(1000) >= 0.8 and ratio(700) < 0.05;
    B0 = the largest P(700) among them (what the mix leaks into the
    700 Hz bin).
  - "contains music": P(700) >= 100 x B0 (20 dB over the leak) and
    ratio(700) >= 0.05. A whole music packet is 33 dB over the leak
    (printed), so a packet is caught once about its last 4.5 ms (36
    samples: (36/160)^2 = -13 dB) are music.
  - "all music": ratio(700) >= 0.9.
  A packet is 20 ms of audio: the delay to the first packet that contains
  music is the figure; the bench also reports the delay to the first
  packet that is all music (the same packet when sipserver switches
  sources on a packet boundary, which its worker does, per 20 ms frame)
  and how many packets of the old mix came after the request. The timing
  resolution is the kernel timestamp's (1 us); the figure itself is
  bounded by the server's 20 ms frame clock: a change takes effect at the
  next frame of the worker that mixes the call.

Every process it starts (sipserver, the RTP sender child) is killed by
PID at the end and on error. Figures go to docs/performance.md with the
command, machine and date.
"""

import argparse
import ctypes
import json
import math
import os
import random
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'tests', 'e2e'))
SERVER = os.environ.get('SIPSERVER', os.path.join(TOP, 'build', 'sipserver'))

from lib.harness import Response  # noqa: E402
from lib.phones import music_wav  # noqa: E402
from lib.rtpua import (ULAW, Request, sdp_offer, sdp_remote,  # noqa: E402
                       tone_frames)

HOST = '127.0.0.1'
SIP, TLIB, UA_SIP, PROBE = 44000, 44001, 44002, 44003
CTI_LOCAL = range(44004, 44010)  # the CTI client's local port
RTP_BASE = 44100               # the bench's RTP sockets: 44100 .. 45599
RTP_MIN, RTP_MAX = 45600, 47999  # sipserver's (RTP + RTCP per leg)
MAX_CONF = min((RTP_MIN - RTP_BASE) // 3, (RTP_MAX - RTP_MIN + 1) // 6)
DN_A, DN_B, DN_X = 5000, 6000, 7000
HZ_A, HZ_B, HZ_X, HZ_MUSIC = 440, 1000, 1300, 700
ROLES = 'ABX'
TONES = (HZ_A, HZ_B, HZ_X)
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)  # Linux
CLK_TCK = os.sysconf('SC_CLK_TCK')
FRAME = 160

PROCS = []       # subprocess.Popen objects, killed at exit
CHILD_PIDS = []  # forked children, killed at exit


class BenchError(Exception):
    pass


def dn_of(i, role):
    return str((DN_A, DN_B, DN_X)[role] + i)


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------ audio

def goertzel_power(pcm, hz):
    coeff = 2 * math.cos(2 * math.pi * hz / 8000)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def analyse(payload):
    """(P(700), ratio(700), ratio(440) + ratio(1000), ratio(1300),
    total power) of one PCMU payload."""
    pcm = [ULAW[b] for b in payload]
    total = sum(x * x for x in pcm) * len(pcm) / 2
    if not total:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    p = {hz: goertzel_power(pcm, hz) for hz in (HZ_MUSIC, HZ_A, HZ_B, HZ_X)}
    return (p[HZ_MUSIC], p[HZ_MUSIC] / total,
            (p[HZ_A] + p[HZ_B]) / total, p[HZ_X] / total, total)


def ratios(payload, freqs):
    pcm = [ULAW[b] for b in payload]
    total = sum(x * x for x in pcm) * len(pcm) / 2
    if not total:
        return [0.0] * len(freqs)
    return [goertzel_power(pcm, hz) / total for hz in freqs]


# ------------------------------------------------------------ RTP sockets

def rtp_socket(port, rcvbuf=None, stamps=False):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if stamps:
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((HOST, port))
    s.setblocking(False)
    return s


def drain(sock):
    n = 0
    while True:
        try:
            sock.recv(2048)
        except BlockingIOError:
            return n
        n += 1


def recv_stamped(sock, deadline):
    """(kernel receive time in ns (CLOCK_REALTIME), payload) of the next
    RTP packet, or None once `deadline` (monotonic) has passed."""
    while True:
        try:
            data, anc, _f, _a = sock.recvmsg(2048, socket.CMSG_SPACE(16))
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            select.select([sock], [], [], left)
            continue
        if len(data) < 12:
            continue
        ns = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack('qq', cdata[:16])
                ns = sec * 1_000_000_000 + nsec
        if ns is None:
            raise BenchError('no SO_TIMESTAMPNS on an RTP packet')
        cc = data[0] & 0x0F
        return ns, data[12 + 4 * cc:]


def sender_main(socks, rfd):
    """The RTP sender (a forked child): every socket with a destination
    sends its tone, one 20 ms PCMU packet per 20 ms, paced on absolute
    times; the sockets are sent in 4 groups 5 ms apart, so that the
    server sees a spread, not one burst per frame. Destinations come over
    the pipe as "k host port" lines; the pipe's end (the parent gone)
    ends the child."""
    os.set_blocking(rfd, False)
    n = len(socks)
    frames = [tone_frames(TONES[k % 3], 1.0) for k in range(3)]
    dest = [None] * n
    seq = [(k * 7919) & 0xFFFF for k in range(n)]
    ts = [k * 160000 for k in range(n)]
    ssrc = [0x10000000 + k for k in range(n)]
    pos = [0] * n
    pending = b''
    groups = 4
    start = time.monotonic()
    tick = 0
    while True:
        try:
            data = os.read(rfd, 65536)
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b'\n')
            for line in lines:
                k, host, port = line.split()
                dest[int(k)] = (host.decode(), int(port))
        except BlockingIOError:
            pass
        base = start + tick * 0.020
        for g in range(groups):
            delay = base + g * 0.005 - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing: real time is what is sent
            for k in range(g, n, groups):
                d = dest[k]
                if d is None:
                    continue
                f = frames[k % 3]
                first = pos[k] == 0
                hdr = struct.pack('!BBHII', 0x80, 0x80 if first else 0,
                                  seq[k], ts[k], ssrc[k])
                try:
                    socks[k].sendto(hdr + f[pos[k] % len(f)], d)
                except OSError:
                    pass
                seq[k] = (seq[k] + 1) & 0xFFFF
                ts[k] = (ts[k] + FRAME) & 0xFFFFFFFF
                pos[k] += 1
        tick += 1
        # far behind (suspended): start afresh rather than burst
        if time.monotonic() - (start + tick * 0.020) > 0.2:
            start = time.monotonic()
            tick = 0


# ---------------------------------------------------------------- SIP UA

class Ua:
    """Every party's SIP on one UDP socket: REGISTERs B_i and X_i (all on
    this socket's Contact), places A_i's INVITEs, answers the server's
    INVITEs to B_i and X_i with the party's RTP socket in the SDP, answers
    BYE and any other in-dialog request with 200. A reader thread; waits
    poll threading.Events. Learnt RTP destinations go to the sender
    child."""

    def __init__(self, n, wfd):
        self.n, self.wfd = n, wfd
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((HOST, UA_SIP))
        self.server = (HOST, SIP)
        self.lock = threading.Lock()
        self.waits = {}      # Call-ID -> [Event, final response]
        self.dialogs = {}    # Call-ID -> dict
        self.remote = {}     # party index k -> (host, port)
        self.answered = {}   # party index k -> Event (ACK got)
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def contact(self, dn):
        return f'<sip:{dn}@{HOST}:{UA_SIP}>'

    def _via(self):
        return (f'Via: SIP/2.0/UDP {HOST}:{UA_SIP};branch=z9hG4bK'
                f'{uuid.uuid4().hex[:16]};rport')

    def _send(self, text):
        self.sock.sendto(text.encode(), self.server)

    def _request(self, method, uri, from_, to, call_id, cseq, contact,
                 extra=(), body=''):
        lines = [f'{method} {uri} SIP/2.0', self._via(), 'Max-Forwards: 70',
                 f'From: {from_}', f'To: {to}', f'Call-ID: {call_id}',
                 f'CSeq: {cseq} {method}', f'Contact: {contact}', *extra]
        if body:
            lines.append('Content-Type: application/sdp')
        lines.append(f'Content-Length: {len(body.encode())}')
        self._send('\r\n'.join(lines) + '\r\n\r\n' + body)

    def _reply(self, req, code, reason, contact, tag=None, body=''):
        to = req.header('to')
        if tag and ';tag=' not in to:
            to += f';tag={tag}'
        lines = [f'SIP/2.0 {code} {reason}']
        lines += [f'Via: {v}' for v in req.all('via')]
        lines += [f'From: {req.header("from")}', f'To: {to}',
                  f'Call-ID: {req.header("call-id")}',
                  f'CSeq: {req.header("cseq")}', f'Contact: {contact}']
        if body:
            lines.append('Content-Type: application/sdp')
        lines.append(f'Content-Length: {len(body.encode())}')
        text = '\r\n'.join(lines) + '\r\n\r\n' + body
        self._send(text)
        return text

    def _learn(self, k, body):
        (host, port), _names = sdp_remote(body)
        with self.lock:
            if self.remote.get(k) == (host, port):
                return
            self.remote[k] = (host, port)
        os.write(self.wfd, f'{k} {host} {port}\n'.encode())

    # --- the reader thread
    def _run(self):
        while True:
            try:
                data, _src = self.sock.recvfrom(65535)
            except OSError:
                return
            if data == b'QUIT':
                return
            try:
                self._handle(data.decode(errors='replace'))
            except Exception as e:  # noqa: BLE001 - reported at the end
                self.errors.append(f'{type(e).__name__}: {e}')

    def _handle(self, text):
        if text.startswith('SIP/2.0'):
            return self._response(Response(text))
        req = Request(text)
        call_id = req.header('call-id')
        if req.method == 'INVITE':
            return self._invite(req, call_id)
        if req.method == 'ACK':
            d = self.dialogs.get(call_id)
            if d and 'acked' in d:
                d['acked'].set()
            return None
        d = self.dialogs.get(call_id)
        contact = self.contact(d['dn'] if d else 'bench')
        self._reply(req, 200, 'OK', contact)  # BYE, INFO, NOTIFY, ...
        if req.method == 'BYE' and d:
            d['bye'] = True
        return None

    def _invite(self, req, call_id):
        d = self.dialogs.get(call_id)
        cseq = req.header('cseq')
        if d and d.get('cseq') == cseq and d.get('last'):
            self._send(d['last'])  # a retransmission: the same answer
            return
        if d and d['role'] != 'uas':
            self._learn(d['k'], req.body)  # re-INVITE to a caller
            body = sdp_offer(RTP_BASE + d['k'], session=3)
            self._reply(req, 200, 'OK', self.contact(d['dn']), body=body)
            return
        m = re.match(r'sip:(\d+)@', req.uri)
        dn = int(m.group(1)) if m else -1
        if DN_B <= dn < DN_B + self.n:
            k = 3 * (dn - DN_B) + 1
        elif DN_X <= dn < DN_X + self.n:
            k = 3 * (dn - DN_X) + 2
        else:
            self._reply(req, 404, 'Not Found', self.contact('bench'))
            return
        if d:  # a re-INVITE in an answered dialog
            self._learn(k, req.body)
            d['cseq'] = cseq
            d['last'] = self._reply(req, 200, 'OK', self.contact(dn),
                                    d['tag'],
                                    sdp_offer(RTP_BASE + k, session=3))
            return
        tag = uuid.uuid4().hex[:8]
        d = {'role': 'uas', 'k': k, 'dn': dn, 'tag': tag, 'cseq': cseq,
             'acked': self.answered.setdefault(k, threading.Event())}
        self.dialogs[call_id] = d
        self._learn(k, req.body)
        self._reply(req, 180, 'Ringing', self.contact(dn), tag)
        d['last'] = self._reply(req, 200, 'OK', self.contact(dn), tag,
                                sdp_offer(RTP_BASE + k, session=2))

    def _response(self, resp):
        call_id = resp.header('call-id')
        method = resp.header('cseq').split()[-1]
        d = self.dialogs.get(call_id)
        if method == 'INVITE' and d and resp.status >= 200:
            if resp.status < 300:
                self._ack(d, resp)
                if resp.body:
                    self._learn(d['k'], resp.body)
            if 'ok' in d:
                d['resp'] = resp
                d['ok'].set()
            return
        w = self.waits.get(call_id)
        if w and resp.status >= 200:
            w[1] = resp
            w[0].set()

    def _ack(self, d, resp):
        contacts = resp.contacts()
        uri = contacts[0][0] if contacts else d['uri']
        self._request('ACK', uri, d['from'], resp.header('to'), d['call_id'],
                      d['cseq_n'], self.contact(d['dn']))

    # --- called by the main thread
    def register(self, dns, window=50):
        """REGISTER every DN, `window` at a time; all must get 200."""
        dns = list(dns)
        for first in range(0, len(dns), window):
            waits = []
            for dn in dns[first:first + window]:
                call_id = uuid.uuid4().hex + '@bench'
                w = [threading.Event(), None]
                self.waits[call_id] = w
                aor = f'<sip:{dn}@{HOST}>'
                self._request('REGISTER', f'sip:{HOST}:{SIP}',
                              f'{aor};tag={uuid.uuid4().hex[:8]}', aor,
                              call_id, 1, self.contact(dn),
                              ['Expires: 3600'])
                waits.append((dn, w))
            for dn, w in waits:
                if not w[0].wait(5) or w[1].status != 200:
                    raise BenchError(f'REGISTER {dn}: '
                                     f'{w[1].status if w[1] else "no"} '
                                     f'answer')

    def invite(self, i):
        """A_i calls B_i; returns the dialog, whose 'ok' Event is set at
        the final response (ACKed by the reader)."""
        a, b, k = dn_of(i, 0), dn_of(i, 1), 3 * i
        call_id = uuid.uuid4().hex + '@bench'
        d = {'role': 'uac', 'k': k, 'dn': a, 'call_id': call_id,
             'uri': f'sip:{b}@{HOST}:{SIP}', 'cseq_n': 1,
             'from': f'<sip:{a}@{HOST}>;tag={uuid.uuid4().hex[:8]}',
             'ok': threading.Event()}
        self.dialogs[call_id] = d
        self._request('INVITE', d['uri'], d['from'], f'<sip:{b}@{HOST}>',
                      call_id, 1, self.contact(a),
                      body=sdp_offer(RTP_BASE + k, session=1))
        return d

    def close(self):
        try:
            self.sock.sendto(b'QUIT', (HOST, UA_SIP))
        except OSError:
            pass
        self.thread.join(2)
        self.sock.close()


# ------------------------------------------------------------------- CTI

class Wire:
    """The CTI connection as seen on the loopback interface: an AF_PACKET
    socket (root) with a classic BPF filter for TCP to or from the tlib
    port, keeping each segment the kernel transmits (PACKET_OUTGOING) with
    its kernel timestamp. Request -> answer measured here is the server's
    own latency (its wake-up, work and write), without the bench client's
    wake-up to read the answer."""

    ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4
    REF = re.compile(rb'"ReferenceID":\s*(\d+)')

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(self.ETH_P_ALL))
        # tcpdump -dd 'ip and tcp port PORT', jumps worked out by hand
        prog = [(0x28, 0, 0, 12), (0x15, 0, 10, 0x0800),
                (0x30, 0, 0, 23), (0x15, 0, 8, 6),
                (0x28, 0, 0, 20), (0x45, 6, 0, 0x1fff),
                (0xb1, 0, 0, 14), (0x48, 0, 0, 14), (0x15, 2, 0, port),
                (0x48, 0, 0, 16), (0x15, 0, 1, port),
                (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)]
        code = b''.join(struct.pack('HBBI', *i) for i in prog)
        buf = ctypes.create_string_buffer(code)
        fprog = struct.pack('HL', len(prog), ctypes.addressof(buf))
        self._keep = buf
        self.sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # ATTACH_FILTER
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.bind(('lo', 0))
        self.port = port
        self.sent = {}    # ReferenceID -> ns the request left the client
        self.answer = {}  # (ReferenceID, event) -> ns the event left sipserver
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                data, anc, _f, addr = self.sock.recvmsg(65536, 64)
            except socket.timeout:
                continue
            if addr[2] != self.PACKET_OUTGOING:
                continue
            ns = next((struct.unpack('qq', d[:16]) for lv, ty, d in anc
                       if lv == socket.SOL_SOCKET and ty == SO_TIMESTAMPNS),
                      None)
            if ns is None:
                continue
            self._segment(data, ns[0] * 10**9 + ns[1])

    def _segment(self, data, ns):
        ihl = (data[14] & 0x0f) * 4
        tcp = 14 + ihl
        sport, dport = struct.unpack('!HH', data[tcp:tcp + 4])
        body = data[tcp + (data[tcp + 12] >> 4) * 4:]
        for line in body.split(b'\n'):
            m = self.REF.search(line)
            if not m:
                continue
            ref = int(m.group(1))
            if dport == self.port and b'"request"' in line:
                self.sent.setdefault(ref, ns)
            elif sport == self.port:
                ev = re.search(rb'"event":\s*"(\w+)"', line)
                if ev:
                    self.answer.setdefault((ref, ev.group(1).decode()), ns)

    def latency(self, ref, event, deadline=1.0):
        """ms from the request on the wire to its answer on the wire"""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            t0, t1 = self.sent.get(ref), self.answer.get((ref, event))
            if t0 is not None and t1 is not None:
                return (t1 - t0) / 1e6
            time.sleep(0.001)
        raise BenchError(f'request {ref}: {event} not seen on the wire')

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class Cti:
    """A tlib/1 client without a thread: the caller reads, so that the
    timing of an answer is taken by the thread that waits for it."""

    def __init__(self, port, quickack=False):
        self.sock = None
        for local in CTI_LOCAL:  # a local port in the bench's range too
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((HOST, local))
                s.settimeout(5)
                s.connect((HOST, port))
            except OSError:
                s.close()
                continue
            self.sock = s
            break
        if not self.sock:
            raise BenchError(f'no CTI connection from ports {CTI_LOCAL}')
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.quickack = quickack
        self.buf = b''
        self.events = []
        self.ref = 0
        self.arrived = None
        self.wait(lambda e: e.get('event') == 'EventLinkConnected')
        ref = self.request('TOpenServer', ApplicationName='bench-listen')
        self.wait(lambda e: e.get('ReferenceID') == ref, 'TOpenServer')

    def request(self, name, **attrs):
        self.ref += 1
        self.send(name, self.ref, **attrs)
        return self.ref

    def send(self, name, ref, **attrs):
        self.sock.sendall(json.dumps({'request': name, 'ReferenceID': ref,
                                      **attrs}).encode() + b'\n')

    def _fill(self, timeout):
        """Read once (waiting up to timeout); the lines go to events.
        Returns the time the data arrived (perf_counter), or None."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except (socket.timeout, BlockingIOError):
            return None
        now = time.perf_counter()
        if not data:
            raise BenchError('the server closed the CTI connection')
        if self.quickack:  # ACK at once: the server's Nagle never waits
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        self.buf += data
        *lines, self.buf = self.buf.split(b'\n')
        self.events += [json.loads(x) for x in lines if x.strip()]
        return now

    def wait(self, pred, what='event', deadline=10.0):
        """The first event (kept or new) for which pred holds; it is
        removed, the others stay. An EventError answering `what` fails."""
        end = time.monotonic() + deadline
        while True:
            for j, ev in enumerate(self.events):
                if pred(ev):
                    del self.events[j]
                    return ev
            left = end - time.monotonic()
            if left <= 0:
                raise BenchError(f'no {what} within {deadline} s')
            self._fill(left)

    def answer(self, ref, name, deadline=5.0):
        """(event, seconds from `sent` to its arrival): the event `name`
        with ReferenceID ref; an EventError for ref fails. The caller has
        emptied self.events before sending."""
        end = time.monotonic() + deadline
        while True:
            for j, ev in enumerate(self.events):
                if ev.get('ReferenceID') != ref:
                    continue
                if ev.get('event') == name:
                    del self.events[j]
                    return ev, self.arrived
                if ev.get('event') == 'EventError':
                    raise BenchError(f'request {ref}: {ev}')
            left = end - time.monotonic()
            if left <= 0:
                raise BenchError(f'no {name} for ReferenceID {ref} '
                                 f'within {deadline} s')
            t = self._fill(left)
            if t is not None:
                self.arrived = t

    def next_event(self, pred, deadline=2.0):
        """(event, its arrival time) of the first event for which pred
        holds, read after what answer() consumed."""
        end = time.monotonic() + deadline
        while True:
            for j, ev in enumerate(self.events):
                if pred(ev):
                    del self.events[j]
                    return ev, self.arrived
            left = end - time.monotonic()
            if left <= 0:
                raise BenchError(f'no such event within {deadline} s')
            t = self._fill(left)
            if t is not None:
                self.arrived = t

    def discard(self):
        """Drop what has come so far (read without waiting)."""
        self.arrived = None
        while self._fill(0.0) is not None:
            pass
        self.events.clear()

    def close(self):
        # a reset, not a FIN: no TIME_WAIT left on the bench's port
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack('ii', 1, 0))
        self.sock.close()


# ---------------------------------------------------------------- server

def write_config(tmp, n, music, media_threads=None):
    path = os.path.join(tmp, 'listen.conf')
    lines = ['[TServer]', 'location = Home', f'sip-address = {HOST}',
             f'sip-port = {SIP}', f'tlib-port = {TLIB}', 'http-port = 0',
             f'rtp-port-min = {RTP_MIN}', f'rtp-port-max = {RTP_MAX}',
             'rtp-timeout = 0',
             f'default-music = {os.path.join(TOP, "music", "on_hold")}',
             f'music-listen-disconnect = {music}',
             'sip-enable-call-info = true',
             'sip-enable-call-info-extended = true',
             'log-level = warn']
    if media_threads:
        lines.append(f'media-threads = {media_threads}')
    for role in range(3):
        for i in range(n):
            lines += ['', f'[dn:{dn_of(i, role)}]']
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


class Server:
    def __init__(self, tmp, conf):
        self.log_path = os.path.join(tmp, 'server.log')
        log_file = open(self.log_path, 'w')
        self.proc = subprocess.Popen([SERVER, '-c', conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=log_file, stderr=log_file)
        log_file.close()
        PROCS.append(self.proc)
        end = time.monotonic() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise BenchError(f'sipserver did not start; log:\n'
                                 f'{self.log_tail()}')
            time.sleep(0.05)

    @staticmethod
    def answers():
        """An OPTIONS gets 200: the server is up."""
        msg = (f'OPTIONS sip:{HOST}:{SIP} SIP/2.0\r\n'
               f'Via: SIP/2.0/UDP {HOST}:{PROBE};branch=z9hG4bKb'
               f'{time.monotonic_ns()}\r\nFrom: <sip:b@{HOST}>;tag=1\r\n'
               f'To: <sip:b@{HOST}>\r\nCall-ID: {time.monotonic_ns()}\r\n'
               f'CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n')
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST, PROBE))
            s.settimeout(0.2)
            s.sendto(msg.encode(), (HOST, SIP))
            try:
                return s.recv(2000).startswith(b'SIP/2.0 200')
            except OSError:
                return False

    def log_tail(self, n=20):
        with open(self.log_path, errors='replace') as f:
            return ''.join(f.readlines()[-n:])

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError(f'sipserver exited with status '
                             f'{self.proc.returncode}; log:\n'
                             f'{self.log_tail()}')

    def cpu(self):
        return proc_cpu(self.proc.pid)

    def mem(self):
        text = open(f'/proc/{self.proc.pid}/status').read()
        return {k: int(re.search(rf'{k}:\s+(\d+)', text).group(1))
                for k in ('VmRSS', 'VmHWM')}

    def status(self):
        self.alive()
        size = os.path.getsize(self.log_path)
        self.proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            with open(self.log_path, errors='replace') as f:
                f.seek(size)
                m = re.search(r'status: (calls=.*)', f.read())
            if m:
                return {k: int(v) for k, v in
                        re.findall(r'(\w+)=(\d+)', m.group(1))}
            time.sleep(0.02)
        raise BenchError('no status line after SIGUSR1')

    def stop(self):
        """SIGTERM (it hangs up every call); its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return 'killed after 15 s'
        return self.proc.returncode


def steal_s():
    """Steal time of the whole VM (all cores) in s, /proc/stat: time the
    hypervisor ran something else while this VM wanted to run."""
    return int(open('/proc/stat').readline().split()[8]) / CLK_TCK


def procs_cpu():
    """{pid: (name, CPU seconds)} of every process (threads included)."""
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            text = open(f'/proc/{pid}/stat').read()
        except OSError:
            continue
        name = text[text.index('(') + 1:text.rindex(')')]
        f = text.rsplit(')', 1)[1].split()
        out[int(pid)] = (name, (int(f[11]) + int(f[12])) / CLK_TCK)
    return out


def others_busy(p0, wall, ours):
    """The other processes that used more than 2 % of a core since p0,
    as 'name pid NN %' strings, busiest first: the figures are only
    worth something on an otherwise quiet machine."""
    p1 = procs_cpu()
    rows = []
    for pid, (name, cpu) in p1.items():
        if pid in ours:
            continue
        pct_ = 100 * (cpu - p0.get(pid, (name, 0.0))[1]) / wall
        if pct_ > 2:
            rows.append((pct_, f'{name} {pid} {pct_:.0f} %'))
    return [r for _p, r in sorted(rows, reverse=True)] or ['none']


def proc_cpu(pid):
    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ----------------------------------------------------------------- bench

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def summary(name, xs, unit='ms'):
    if not xs:
        return f'{name}: no samples'
    return (f'{name}: n={len(xs)} p50 {pct(xs, 0.5):.3f} {unit}, p99 '
            f'{pct(xs, 0.99):.3f} {unit}, max {max(xs):.3f} {unit}'
            f' (min {min(xs):.3f}; largest: '
            f'{", ".join(f"{x:.2f}" for x in sorted(xs)[-3:][::-1])})')


class Bench:
    def __init__(self, args):
        self.args = args
        self.n = args.conferences
        self.tmp = tempfile.mkdtemp(prefix='sipserver-bench-listen-')
        self.socks = []
        self.ua = self.cti = self.server = self.wire = None
        self.child = None
        self.connid = {}
        self.alias = {}
        self.rng = random.Random(args.seed)

    # --- set-up
    def start(self):
        n = self.n
        for k in range(3 * n):
            x = k % 3 == 2
            # A and B are never read after the set-up check: small buffers
            self.socks.append(rtp_socket(RTP_BASE + k,
                                         None if x else 32768, stamps=x))
        rfd, wfd = os.pipe()
        pid = os.fork()  # before any thread exists
        if pid == 0:
            code = 0
            try:
                os.close(wfd)
                os.nice(self.args.sender_nice)
                sender_main(self.socks, rfd)
            except BaseException:  # noqa: BLE001 - the child just ends
                code = 1
            finally:
                os._exit(code)
        CHILD_PIDS.append(pid)
        self.child = pid
        os.close(rfd)
        music = music_wav(os.path.join(self.tmp, 'm700.wav'), HZ_MUSIC)
        conf = write_config(self.tmp, n, music, self.args.media_threads)
        self.server = Server(self.tmp, conf)
        self.ua = Ua(n, wfd)
        self.cti = Cti(TLIB, self.args.quickack)
        try:
            self.wire = Wire(TLIB)
        except PermissionError:
            log('bench: not root, the on-the-wire figures are left out')

    def setup(self):
        n, ua, cti = self.n, self.ua, self.cti
        t0 = time.monotonic()
        ua.register([dn_of(i, r) for r in (1, 2) for i in range(n)])
        refs = {cti.request('TRegisterAddress', ThisDN=dn_of(i, 0)): i
                for i in range(n)}
        for ref in refs:
            cti.wait(lambda e, r=ref: e.get('ReferenceID') == r and
                     e.get('event') == 'EventRegistered', 'EventRegistered')
        for i in range(n):
            self.server.alive()
            a, x = dn_of(i, 0), dn_of(i, 2)
            d = ua.invite(i)
            if not d['ok'].wait(5) or d['resp'].status != 200:
                got = d['resp'].status if d.get('resp') else 'nothing'
                raise BenchError(f'conference {i}: {a} -> {dn_of(i, 1)} '
                                 f'answered {got}')
            ev = cti.wait(lambda e: e.get('event') == 'EventEstablished' and
                          e.get('ThisDN') == a, f'EventEstablished {a}')
            connid = ev['ConnID']
            ref = cti.request('TSingleStepConference', ThisDN=a,
                              ConnID=connid, OtherDN=x)
            ev = cti.wait(lambda e: e.get('ReferenceID') == ref and
                          e.get('event') in ('EventPartyAdded',
                                             'EventError'),
                          f'EventPartyAdded {a}')
            if ev['event'] == 'EventError':
                raise BenchError(f'TSingleStepConference {a} {x}: {ev}')
            self.connid[i] = connid
        # X's alias as the LCTParty list says; the latest list of each call
        lct = {}
        deadline = time.monotonic() + 5
        while len(lct) < n or any(v.get('LCTPartiesLength') != 3
                                  for v in lct.values()):
            if time.monotonic() > deadline:
                three = sum(1 for v in lct.values()
                            if v.get('LCTPartiesLength') == 3)
                raise BenchError(f'LCTParty lists of 3 parties: {three} '
                                 f'of {n}')
            for ev in cti.events:
                if ev.get('event') == 'EventUserEvent':
                    lct[ev['ConnID']] = ev.get('Extensions', {})
            cti.events.clear()
            cti._fill(0.2)
        by_connid = {c: i for i, c in self.connid.items()}
        for connid, ext in lct.items():
            i = by_connid[connid]
            names = [ext[f'LCTParty{j}'] for j in range(3)]
            x = dn_of(i, 2)
            if x not in names:
                raise BenchError(f'conference {i}: {x} not in {names}')
            self.alias[i] = x
        for i in range(n):
            if not ua.answered[3 * i + 2].wait(5):
                raise BenchError(f'{dn_of(i, 2)}: no ACK')
        if ua.errors:
            raise BenchError(f'SIP UA: {ua.errors[:3]}')
        return time.monotonic() - t0

    def ears(self):
        """Every party hears the other two (its socket's fresh packets)."""
        want = {0: (HZ_B, HZ_X), 1: (HZ_A, HZ_X), 2: (HZ_A, HZ_B)}
        for s in self.socks:
            drain(s)
        time.sleep(0.3)
        bad = []
        for k, s in enumerate(self.socks):
            last = None
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                last = data
            if last is None:
                bad.append(f'{k}: nothing received')
                continue
            payload = last[12 + 4 * (last[0] & 0x0F):]
            r = ratios(payload, want[k % 3] + (TONES[k % 3], HZ_MUSIC))
            if r[0] < 0.2 or r[1] < 0.2 or r[2] > 0.05 or r[3] > 0.05:
                bad.append(f'{ROLES[k % 3]}{k // 3}: ' +
                           ' '.join(f'{v:.2f}' for v in r))
        return bad

    def check_ears(self):
        """ears(), tried 3 times a second apart (a stall of the sender,
        which runs niced, leaves a gap in some playout buffers)."""
        for _ in range(3):
            p0, t0 = procs_cpu(), time.monotonic()
            bad = self.ears()
            if not bad:
                return
            time.sleep(1)
        ours = {os.getpid(), self.child, self.server.proc.pid}
        busy = others_busy(p0, time.monotonic() - t0, ours)
        raise BenchError(f'{len(bad)} parties do not hear the other two '
                         f'(party: ratios of the two others, its own, '
                         f'700 Hz): {bad[:5]}; other processes over 2 %: '
                         f'{", ".join(busy)}')

    # --- measurement
    def baseline(self, sock, res):
        """Drain, then at least 3 fresh packets that must be the A+B mix
        (a silent one, both A and B short of audio at that frame, is
        counted and skipped); returns B0, the largest 700 Hz power among
        them."""
        drain(sock)
        b0, got = 0.0, 0
        end = time.monotonic() + 1.0
        while got < 3:
            pkt = recv_stamped(sock, end)
            if pkt is None:
                raise BenchError('X receives nothing')
            self.last_ns = pkt[0]
            p700, r700, rmix, _rx, tot = analyse(pkt[1])
            if not tot:
                res['silent'] += 1
                continue
            if r700 >= 0.05 or rmix < 0.8:
                raise BenchError(f'X does not hear the A+B mix before the '
                                 f'request: ratio(700) {r700:.3f}, '
                                 f'ratio(440)+ratio(1000) {rmix:.3f}')
            b0 = max(b0, p700)
            got += 1
        return b0

    def one(self, i, res):
        sock = self.socks[3 * i + 2]
        a, connid, x = dn_of(i, 0), self.connid[i], self.alias[i]
        b0 = self.baseline(sock, res)
        cti = self.cti
        cti.discard()
        # the baseline ends just after a packet, i.e. just after the
        # worker's frame: without a random wait every request would come
        # at the same phase of the 20 ms frame clock
        time.sleep(self.rng.uniform(0, 0.020))
        cti.ref += 1
        ref = cti.ref
        t_real = time.time_ns()
        t0 = time.perf_counter()
        cti.send('TListenDisconnect', ref, ThisDN=a, ConnID=connid,
                 OtherDN=x)
        ev, t1 = cti.answer(ref, 'EventListenDisconnected')
        res['cti'].append((t1 - t0) * 1000)
        if self.wire:
            res['wire'].append(self.wire.latency(ref,
                                                 'EventListenDisconnected'))
        # where in X's 20 ms packet clock the request fell (0: just after
        # a packet to X left the worker)
        row = [i, ((t_real - self.last_ns) / 1e6) % 20]
        if ev.get('OtherDN') != x:
            raise BenchError(f'EventListenDisconnected names {ev}')
        # the LCTParty list the server sends right after it (X now
        # ListenDisconnectedHeld): a second event written back to back
        lct, t2 = cti.next_event(
            lambda e: e.get('event') == 'EventUserEvent' and
            e.get('ConnID') == connid and
            'ListenDisconnectedHeld' in e.get('Extensions', {}).values())
        res['lct'].append((t2 - t0) * 1000)
        first_any = first_all = None
        old = early = 0
        end = time.monotonic() + 1.0
        while first_all is None:
            pkt = recv_stamped(sock, end)
            if pkt is None:
                raise BenchError(f'conference {i}: no music at X within 1 s'
                                 f' of TListenDisconnect')
            ns, payload = pkt
            p700, r700, rmix, _rx, _tot = analyse(payload)
            contains = p700 >= 100 * b0 and r700 >= 0.05
            if ns < t_real:
                early += contains  # music before the request: a bug
                continue
            dt = (ns - t_real) / 1e6
            if contains and first_any is None:
                first_any = dt
                res['music_p700'].append(p700)
            if r700 >= 0.9:
                first_all = dt
            if first_any is None:
                old += 1
        res['any'].append(first_any)
        res['all'].append(first_all)
        row += [res['cti'][-1], res['lct'][-1], first_any, first_all, old]
        res['rows'].append(row)
        res['old'][old] = res['old'].get(old, 0) + 1
        res['early'] += early
        res['b0'].append(b0)
        if self.args.no_reconnect:
            return
        cti.discard()
        # past the frame of the music packet sent ahead, at a random phase
        wait = t_real / 1e9 + 0.040 - time.time()
        time.sleep(max(0.0, wait) + self.rng.uniform(0, 0.020))
        cti.ref += 1
        ref = cti.ref
        t_real = time.time_ns()
        t0 = time.perf_counter()
        cti.send('TListenReconnect', ref, ThisDN=a, ConnID=connid,
                 OtherDN=x)
        cti.answer(ref, 'EventListenReconnected')
        res['cti_re'].append((cti.arrived - t0) * 1000)
        if self.wire:
            res['wire_re'].append(self.wire.latency(ref,
                                                    'EventListenReconnected'))
        row.append(res['cti_re'][-1])
        end = time.monotonic() + 1.0
        while True:
            pkt = recv_stamped(sock, end)
            if pkt is None:
                raise BenchError(f'conference {i}: X did not hear the mix '
                                 f'again within 1 s of TListenReconnect')
            ns, payload = pkt
            _p700, r700, rmix, _rx, _tot = analyse(payload)
            if ns >= t_real and r700 < 0.05 and rmix >= 0.8:
                res['back'].append((ns - t_real) / 1e6)
                row.append(res['back'][-1])
                break

    def measure(self):
        res = {'cti': [], 'lct': [], 'any': [], 'all': [], 'old': {},
               'early': 0, 'rows': [],
               'silent': 0,
               'b0': [], 'music_p700': [], 'cti_re': [], 'back': [],
               'wire': [], 'wire_re': []}
        for r in range(self.args.rounds):
            for i in range(self.n):
                self.one(i, res)
            self.server.alive()
        return res

    def run(self):
        a = self.args
        self.start()
        s_idle = self.server.status()
        wall = self.setup()
        time.sleep(0.5)  # every stream under way
        self.check_ears()
        st = self.server.status()
        if st['calls'] != self.n or st['rtp_legs'] != 3 * self.n:
            raise BenchError(f'expected {self.n} calls and {3 * self.n} '
                             f'RTP legs, status says {st}')
        log(f'set-up: {self.n} conferences, {st["parties"]} parties, '
            f'{st["rtp_legs"]} RTP legs, {st["mixes"]} mixes in {wall:.1f} s;'
            f' every party hears the other two')

        c0, w0, k0 = self.server.cpu(), time.monotonic(), proc_cpu(self.child)
        st0 = steal_s()
        ours = {os.getpid(), self.child, self.server.proc.pid}
        p0 = procs_cpu()
        s0 = self.server.status()
        time.sleep(a.settle)
        s1 = self.server.status()
        wall = time.monotonic() - w0
        cpu_idle = 100 * (self.server.cpu() - c0) / wall
        snd_cpu = 100 * (proc_cpu(self.child) - k0) / wall
        busy_idle = others_busy(p0, wall, ours)
        steal_idle = 100 * (steal_s() - st0) / wall
        mem_idle = self.server.mem()
        rx = (s1['rx'] - s0['rx']) / wall
        tx = (s1['tx'] - s0['tx']) / wall

        before = self.server.status()
        c0, w0 = self.server.cpu(), time.monotonic()
        k0, m0 = proc_cpu(self.child), time.process_time()
        st0, p0 = steal_s(), procs_cpu()
        res = self.measure()
        wall = time.monotonic() - w0
        cpu_run = 100 * (self.server.cpu() - c0) / wall
        snd_run = 100 * (proc_cpu(self.child) - k0) / wall
        main_run = 100 * (time.process_time() - m0) / wall
        # what else ran on the machine meanwhile (kernel softirq work
        # done for our own packets lands here too, a few %)
        steal_run = 100 * (steal_s() - st0) / wall
        busy_run = others_busy(p0, wall, ours)
        after = self.server.status()
        mem_run = self.server.mem()
        csv = os.path.join(self.tmp, 'samples.csv')
        with open(csv, 'w') as f:
            f.write('conference,phase_ms,a_ms,lct_ms,b_contains_ms,b_all_ms,'
                    'old_mix_packets,c_ms,back_ms\n')
            for row in res['rows']:
                f.write(','.join(f'{v:.3f}' if isinstance(v, float)
                                 else str(v) for v in row) + '\n')
        self.check_ears()  # still every party hears the other two

        n = self.n
        log(f'conferences {n}, parties {3 * n} (each sends 20 ms PCMU), '
            f'{a.rounds} round(s): {len(res["cti"])} TListenDisconnect')
        log(f'steady state, {a.settle:g} s, nothing asked: sipserver cpu '
            f'{cpu_idle:.1f} %, RSS {mem_idle["VmRSS"]} KiB; RTP in '
            f'{rx:.0f}/s out {tx:.0f}/s; late frames '
            f'{s1["late"] - s0["late"]}; RTP sender child {snd_cpu:.1f} %; '
            f'VM steal {steal_idle:.1f} %; other processes over 2 %: '
            f'{", ".join(busy_idle)}')
        log(f'measuring, {wall:.1f} s: sipserver cpu {cpu_run:.1f} %, RSS '
            f'{mem_run["VmRSS"]} KiB (peak {mem_run["VmHWM"]} KiB); '
            f'sender {snd_run:.1f} %, bench main {main_run:.1f} %; VM '
            f'steal {steal_run:.1f} %; other processes over 2 %: '
            f'{", ".join(busy_run)}')
        log(summary('(a) TListenDisconnect -> EventListenDisconnected',
                    res['cti']))
        if res['wire']:
            log(summary('    the same on the wire (lo), request segment -> '
                        'event segment', res['wire']))
        log(summary('    TListenDisconnect -> the EventUserEvent (LCTParty) '
                    'after it', res['lct']))
        log(summary('(b) request -> first packet containing music at X',
                    res['any']))
        log(summary('    request -> first packet all music at X',
                    res['all']))
        same = sum(1 for x, y in zip(res['any'], res['all']) if x == y)
        log(f'    first music packet all music: {same} of '
            f'{len(res["any"])}; packets of the old mix after the request:'
            f' {dict(sorted(res["old"].items()))}; music before the '
            f'request: {res["early"]}; silent baseline packets skipped: '
            f'{res["silent"]}')
        if res['b0']:
            leak, music = max(res['b0']), min(res['music_p700'])
            log(f'    700 Hz power: mix leak B0 max {leak:.3g}, first '
                f'music packet min {music:.3g} '
                f'({10 * math.log10(music / max(leak, 1)):.0f} dB over)')
        if res['cti_re']:
            log(summary('(c) TListenReconnect -> EventListenReconnected',
                        res['cti_re']))
            if res['wire_re']:
                log(summary('    the same on the wire (lo)', res['wire_re']))
            log(summary('    request -> first packet of the mix again at X',
                        res['back']))
        log(f'sipserver frames/late: before {before["frames"]}/'
            f'{before["late"]}, after {after["frames"]}/{after["late"]} '
            f'(at start {s_idle["frames"]}/{s_idle["late"]}); late during '
            f'the measurements: {after["late"] - before["late"]} of '
            f'{after["frames"] - before["frames"]} frames')

    def close(self):
        for x in (self.cti, self.ua, self.wire):
            if x:
                try:
                    x.close()
                except OSError:
                    pass
        if self.child:
            kill_pid(self.child)
        if self.server:
            code = self.server.stop()
            log(f'sipserver stopped: exit status {code}; logs {self.tmp}')


def kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def kill_all():
    for pid in CHILD_PIDS:
        kill_pid(pid)
    for proc in PROCS:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--conferences', type=int, default=200)
    ap.add_argument('--rounds', type=int, default=1,
                    help='measure every conference this many times')
    ap.add_argument('--settle', type=float, default=5.0,
                    help='seconds of steady state sampled before')
    ap.add_argument('--no-reconnect', action='store_true')
    ap.add_argument('--quickack', action='store_true',
                    help='the CTI client ACKs every read at once '
                    '(TCP_QUICKACK): shows what the server\'s Nagle '
                    'costs')
    ap.add_argument('--sender-nice', type=int, default=10,
                    help='nice value of the RTP sender child (the load '
                    'generator yields to sipserver and to the timing)')
    ap.add_argument('--media-threads', type=int,
                    help='sipserver\'s media-threads (default: its own, '
                    'one per core)')
    ap.add_argument('--seed', type=int, default=1,
                    help='of the random phase of each request')
    args = ap.parse_args()
    if not 1 <= args.conferences <= MAX_CONF:
        sys.exit(f'bench: --conferences 1..{MAX_CONF} (the port ranges)')
    if args.no_reconnect and args.rounds > 1:
        sys.exit('bench: --no-reconnect measures one round only')
    if not os.access(SERVER, os.X_OK):
        sys.exit(f'bench: build the server first ({SERVER})')
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    bench = Bench(args)
    try:
        bench.run()
    except BenchError as e:
        sys.exit(f'bench: {e}')
    finally:
        try:
            bench.close()
        finally:
            kill_all()


if __name__ == '__main__':
    main()
