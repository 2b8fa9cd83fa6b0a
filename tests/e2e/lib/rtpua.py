"""A tiny SIP user agent with a real RTP socket (Python 3 stdlib only).

For tests that must see RTP packet by packet, which SIPp and baresip do
not show: what address a packet came from, its payload type, SSRC and
sequence number, and what the audio in it sounds like.

    a = Ua(ports, '1001', sip_port=B + 20, rtp_port=B + 28)
    b = Ua(ports, '1002', sip_port=B + 22, rtp_port=B + 32)
    b.register()
    a.invite('1002'); b.answer(); a.wait_answered()
    a.send_tone(440, 1.0)             # paced, 20 ms PCMU packets
    b.rtp.packets(pt=0)               # what the server sent to b
    a.bye(); b.wait_bye()

A Ua offers one G.711 law (codec=0 PCMU, 8 PCMA) and telephone-event.
One dialog per Ua, UDP only, no authentication, no retransmission of
requests (loopback does not lose datagrams). A thread per socket reads
what arrives: SIP messages go to a list that `wait_sip` polls, an incoming
BYE is answered 200 at once; RTP packets are kept with their source
address and arrival time. Waits poll with deadlines.
"""

import math
import re
import socket
import struct
import threading
import time
import uuid

from .harness import LOOPBACK, Response, check, poll

RATE = 8000
FRAME = 160                 # samples per 20 ms packet
PT_PCMU, PT_PCMA, PT_EVENT = 0, 8, 101


# ------------------------------------------------------------- G.711 u-law

def ulaw_decode(byte):
    byte = ~byte & 0xFF
    exp, mant = (byte >> 4) & 7, byte & 0x0F
    value = ((mant << 3) + 0x84) << exp
    value -= 0x84
    return -value if byte & 0x80 else value


def ulaw_encode(sample):
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), 32635) + 0x84
    exp = max(0, sample.bit_length() - 8)
    mant = (sample >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def alaw_decode(byte):
    byte ^= 0x55
    exp, mant = (byte >> 4) & 7, byte & 0x0F
    value = (mant << 4) + 8 if exp == 0 else ((mant << 4) + 0x108) << (exp - 1)
    return value if byte & 0x80 else -value


def alaw_encode(sample):
    sign = 0x80 if sample >= 0 else 0
    sample = min(abs(sample), 32767) >> 3
    if sample < 32:
        code = sample >> 1
    else:
        exp = sample.bit_length() - 5
        code = (exp << 4) | ((sample >> exp) & 0x0F)
    return (sign | code) ^ 0x55


ULAW = [ulaw_decode(b) for b in range(256)]
ALAW = [alaw_decode(b) for b in range(256)]
DECODE = {PT_PCMU: ULAW, PT_PCMA: ALAW}
ENCODE = {PT_PCMU: ulaw_encode, PT_PCMA: alaw_encode}
NAME = {PT_PCMU: 'PCMU', PT_PCMA: 'PCMA'}


def tone_frames(hz, seconds, amplitude=8000, pt=PT_PCMU, frame=FRAME):
    """G.711 (pt 0 u-law, 8 A-law) payloads of `frame` samples each (160:
    20 ms) of a sine."""
    n = int(seconds * RATE)
    enc = ENCODE[pt]
    pcm = [int(amplitude * math.sin(2 * math.pi * hz * i / RATE))
           for i in range(n)]
    return [bytes(enc(s) for s in pcm[i:i + frame])
            for i in range(0, n - frame + 1, frame)]


def decode(packets):
    """The samples of G.711 packets (each by its own PT)."""
    return [DECODE[p.pt][x] for p in packets for x in p.payload]


def goertzel_ratio(pcm, hz):
    """Share of the power of pcm (a list of samples) at hz, 0..1."""
    if not pcm:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in pcm:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    total = sum(x * x for x in pcm) * len(pcm) / 2
    return power / total if total else 0.0


def rms_dbfs(pcm):
    if not pcm:
        return -120.0
    rms = math.sqrt(sum(x * x for x in pcm) / len(pcm))
    return 20 * math.log10(max(rms, 1e-3) / 32768)


# --------------------------------------------------------------------- RTP

class Packet:
    """One RTP packet as it arrived."""

    def __init__(self, data, src, when):
        b0, b1, self.seq, self.ts, self.ssrc = struct.unpack(
            '!BBHII', data[:12])
        self.marker = bool(b1 & 0x80)
        self.pt = b1 & 0x7F
        self.payload = data[12 + 4 * (b0 & 0x0F):]
        self.src, self.when = src, when

    def event(self):
        """RFC 4733: (event, end bit, volume, duration)."""
        ev, flags, duration = struct.unpack('!BBH', self.payload[:4])
        return ev, bool(flags & 0x80), flags & 0x3F, duration


def rtp_packet(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack('!BBHII', 0x80, (0x80 if marker else 0) | pt,
                       seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


class RtpSocket:
    """A UDP socket on 127.0.0.1:port that keeps every packet it gets, and
    sends a stream of its own (SSRC, sequence and timestamp run on)."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, port))
        self.sock.settimeout(0.1)
        self.received = []
        self.lock = threading.Lock()
        self.ssrc = uuid.uuid4().int & 0xFFFFFFFF
        self.seq = uuid.uuid4().int & 0x7FFF
        self.ts = uuid.uuid4().int & 0x7FFFFFFF
        self.sent = 0
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.running:
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) >= 12:
                with self.lock:
                    self.received.append(Packet(data, src, time.monotonic()))

    def packets(self, pt=None, since=0.0):
        with self.lock:
            return [p for p in self.received
                    if (pt is None or p.pt == pt) and p.when >= since]

    def send(self, dest, pt, payload, marker=False, ts=None, advance=True):
        ts = self.ts if ts is None else ts
        self.sock.sendto(rtp_packet(pt, self.seq, ts, self.ssrc, payload,
                                    marker), dest)
        self.seq += 1
        self.sent += 1
        if advance:
            self.ts += len(payload) if pt in (PT_PCMU, PT_PCMA) else FRAME

    def send_frames(self, dest, frames, pt=PT_PCMU):
        """Send payloads one per packet time (a G.711 payload of n bytes
        lasts n / 8 ms), paced on the clock: real time is what the
        server's playout expects."""
        start = time.monotonic()
        due = 0.0
        for i, payload in enumerate(frames):
            delay = start + due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing is the thing sent, not a wait
            self.send(dest, pt, payload, marker=(i == 0))
            due += len(payload) / RATE

    def send_event(self, dest, event, pt=PT_EVENT, packets=3, ends=3):
        """An RFC 4733 telephone-event: `packets` updates (the first with
        the marker), then `ends` copies of the end packet, 20 ms apart,
        all with the event's start timestamp."""
        start_ts = self.ts
        for i in range(packets + ends):
            end = i >= packets
            duration = FRAME * (min(i, packets - 1) + 1)
            payload = struct.pack('!BBH', event, (0x80 if end else 0) | 10,
                                  duration)
            self.send(dest, pt, payload, marker=(i == 0), ts=start_ts,
                      advance=False)
            time.sleep(0.020)
        self.ts = start_ts + FRAME * packets

    def close(self):
        self.running = False
        self.sock.close()
        self.thread.join(1)


# --------------------------------------------------------------------- SIP

def sdp_offer(rtp_port, event_pt=PT_EVENT, session=1, codec=PT_PCMU):
    return ('v=0\r\n'
            f'o=- {session} 1 IN IP4 {LOOPBACK}\r\n'
            's=-\r\n'
            f'c=IN IP4 {LOOPBACK}\r\n'
            't=0 0\r\n'
            f'm=audio {rtp_port} RTP/AVP {codec} {event_pt}\r\n'
            f'a=rtpmap:{codec} {NAME[codec]}/8000\r\n'
            f'a=rtpmap:{event_pt} telephone-event/8000\r\n'
            f'a=fmtp:{event_pt} 0-15\r\n'
            'a=sendrecv\r\n')


def sdp_remote(body):
    """(address, port, {name: pt}) from an SDP body."""
    c = re.search(r'(?m)^c=IN IP4 (\S+)', body)
    m = re.search(r'(?m)^m=audio (\d+) ', body)
    check(c and m, f'no c=/m=audio in SDP:\n{body}')
    names = {name.lower(): int(pt) for pt, name in
             re.findall(r'(?m)^a=rtpmap:(\d+) ([\w-]+)/', body)}
    return (c.group(1), int(m.group(1))), names


class Request:
    """A parsed SIP request (headers like Response)."""

    def __init__(self, text):
        first, _, rest = text.partition('\r\n')
        self.method, self.uri = first.split(' ')[:2]
        fake = Response('SIP/2.0 200 X\r\n' + rest)
        self.headers, self.body, self.text = fake.headers, fake.body, text
        self.header = fake.header
        self.all = fake.all


class Ua:
    """One phone: a SIP socket and an RTP socket, one dialog at a time."""

    def __init__(self, ports, dn, sip_port, rtp_port, event_pt=PT_EVENT,
                 codec=PT_PCMU):
        self.ports, self.dn = ports, dn
        self.sip_port, self.event_pt = sip_port, event_pt
        self.codec = codec       # the one G.711 law this phone offers
        self.server = (LOOPBACK, ports.sip)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, sip_port))
        self.sock.settimeout(0.1)
        self.rtp = RtpSocket(rtp_port)
        self.inbox = []          # (time, Request or Response)
        self.lock = threading.Lock()
        self.running = True
        self.tag = uuid.uuid4().hex[:8]
        self.cseq = 1
        self.dialog = None       # call_id, local/remote From-To, target
        self.remote_rtp = None   # where to send RTP: the server's port
        self.remote_pts = {}
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    # --- transport
    def _read(self):
        while self.running:
            try:
                data, _src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode(errors='replace')
            msg = Response(text) if text.startswith('SIP/2.0') \
                else Request(text)
            if isinstance(msg, Request) and msg.method in ('BYE', 'INFO'):
                self._reply(msg, 200, 'OK')
            elif isinstance(msg, Request) and msg.method == 'INVITE' and \
                    ';tag=' in msg.header('to'):
                self._reinvited(msg)
            with self.lock:
                self.inbox.append((time.monotonic(), msg))

    def _send(self, text):
        self.sock.sendto(text.encode(), self.server)

    def _via(self):
        return (f'Via: SIP/2.0/UDP {LOOPBACK}:{self.sip_port};'
                f'branch=z9hG4bK{uuid.uuid4().hex[:16]};rport')

    def contact(self):
        return f'<sip:{self.dn}@{LOOPBACK}:{self.sip_port}>'

    def _request(self, method, uri, from_, to, call_id, cseq, extra=(),
                 body='', ctype='application/sdp'):
        lines = [f'{method} {uri} SIP/2.0', self._via(), 'Max-Forwards: 70',
                 f'From: {from_}', f'To: {to}', f'Call-ID: {call_id}',
                 f'CSeq: {cseq} {method}', f'Contact: {self.contact()}',
                 *extra]
        if body:
            lines.append(f'Content-Type: {ctype}')
        lines.append(f'Content-Length: {len(body.encode())}')
        self._send('\r\n'.join(lines) + '\r\n\r\n' + body)

    def _reply(self, req, code, reason, body='', to_tag=None):
        to = req.header('to')
        if to_tag and ';tag=' not in to:
            to += f';tag={to_tag}'
        lines = [f'SIP/2.0 {code} {reason}']
        lines += [f'Via: {v}' for v in req.all('via')]
        lines += [f'From: {req.header("from")}', f'To: {to}',
                  f'Call-ID: {req.header("call-id")}',
                  f'CSeq: {req.header("cseq")}',
                  f'Contact: {self.contact()}']
        if body:
            lines.append('Content-Type: application/sdp')
        lines.append(f'Content-Length: {len(body.encode())}')
        self._send('\r\n'.join(lines) + '\r\n\r\n' + body)

    def _reinvited(self, req):
        """A re-INVITE from the server (hold, retrieve): answered at once
        with our stream, in the direction that fits its offer, as a phone
        does; the server's address may change."""
        offer = req.body
        direction = 'recvonly' if 'a=sendonly' in offer else \
            'inactive' if 'a=inactive' in offer else 'sendrecv'
        body = sdp_offer(self.rtp.port, self.event_pt, 4, self.codec)
        body = body.replace('a=sendrecv', f'a={direction}')
        self._reply(req, 200, 'OK', body=body)
        self.remote_rtp, self.remote_pts = sdp_remote(offer)

    def wait_sip(self, pred, what, deadline=5.0):
        """The first message (since the last wait) for which pred holds."""
        def find():
            with self.lock:
                for i, (_t, msg) in enumerate(self.inbox):
                    if pred(msg):
                        del self.inbox[:i + 1]
                        return msg
            return None
        msg = poll(find, deadline)
        check(msg, f'{self.dn}: no {what} within {deadline:g} s')
        return msg

    def wait_response(self, method, deadline=5.0, final=True):
        def match(m):
            return (isinstance(m, Response) and
                    m.header('cseq').endswith(method) and
                    (m.status >= 200 or not final))
        return self.wait_sip(match, f'final response to {method}', deadline)

    # --- dialogs
    def register(self):
        call_id = uuid.uuid4().hex
        aor = f'<sip:{self.dn}@{LOOPBACK}>'
        self._request('REGISTER', f'sip:{LOOPBACK}:{self.ports.sip}',
                      f'{aor};tag={self.tag}', aor, call_id, 1,
                      ['Expires: 300'])
        resp = self.wait_response('REGISTER')
        check(resp.status == 200, f'REGISTER {self.dn}: {resp.status}')

    def invite(self, number, extra=()):
        """Send the INVITE (offer: PCMU + telephone-event); extra: more
        header lines."""
        call_id = uuid.uuid4().hex + '@rtpua'
        uri = f'sip:{number}@{LOOPBACK}:{self.ports.sip}'
        self.dialog = {'call_id': call_id, 'uri': uri,
                       'from': f'<sip:{self.dn}@{LOOPBACK}>;tag={self.tag}',
                       'to': f'<sip:{number}@{LOOPBACK}>'}
        self._request('INVITE', uri, self.dialog['from'], self.dialog['to'],
                      call_id, self.cseq, extra,
                      body=sdp_offer(self.rtp.port, self.event_pt,
                                     codec=self.codec))

    def wait_answered(self, deadline=5.0):
        """Wait for the 200, take the server's SDP, ACK."""
        resp = self.wait_response('INVITE', deadline)
        check(resp.status == 200, f'{self.dn}: INVITE answered '
              f'{resp.status} {resp.reason}, expected 200')
        self.remote_rtp, self.remote_pts = sdp_remote(resp.body)
        target = resp.contacts()[0][0] if resp.contacts() \
            else self.dialog['uri']
        self.dialog.update(to=resp.header('to'), uri=target)
        self._request('ACK', target, self.dialog['from'], self.dialog['to'],
                      self.dialog['call_id'], self.cseq)
        return resp

    def answer(self, deadline=5.0, on_talk=False):
        """Wait for an INVITE, 180, 200 with our SDP, wait for the ACK.
        on_talk: ring until a NOTIFY with Event: talk comes (a phone that
        answers when its agent's desktop says so), then answer. Returns
        the INVITE (and sets self.talk to the NOTIFY)."""
        req = self.wait_sip(lambda m: isinstance(m, Request) and
                            m.method == 'INVITE', 'INVITE', deadline)
        self.remote_rtp, self.remote_pts = sdp_remote(req.body)
        self._reply(req, 180, 'Ringing', to_tag=self.tag)
        if on_talk:
            self.talk = self.wait_sip(
                lambda m: isinstance(m, Request) and m.method == 'NOTIFY',
                'NOTIFY', deadline)
            self._reply(self.talk, 200, 'OK')
        self._reply(req, 200, 'OK', to_tag=self.tag,
                    body=sdp_offer(self.rtp.port, self.event_pt, 2,
                                     self.codec))
        contact = Response('SIP/2.0 200 X\r\nContact: ' +
                           req.header('contact') + '\r\n\r\n').contacts()
        self.dialog = {'call_id': req.header('call-id'),
                       'uri': contact[0][0],
                       'from': f'{req.header("to")};tag={self.tag}',
                       'to': req.header('from')}
        self.wait_sip(lambda m: isinstance(m, Request) and
                      m.method == 'ACK', 'ACK', deadline)
        return req

    def reinvite(self, rtp, deadline=5.0):
        """Offer a new RTP socket in the dialog (the phone moved its
        stream); ACK the 200. Returns the 200."""
        self.cseq += 1
        d = self.dialog
        self._request('INVITE', d['uri'], d['from'], d['to'], d['call_id'],
                      self.cseq, body=sdp_offer(rtp.port, self.event_pt,
                                                3, self.codec))
        resp = self.wait_response('INVITE', deadline)
        check(resp.status == 200, f'{self.dn}: re-INVITE answered '
              f'{resp.status} {resp.reason}')
        self._request('ACK', d['uri'], d['from'], d['to'], d['call_id'],
                      self.cseq)
        self.rtp = rtp
        return resp

    def info(self, ctype, body, deadline=5.0):
        """An INFO in the dialog; returns its final response."""
        self.cseq += 1
        d = self.dialog
        self._request('INFO', d['uri'], d['from'], d['to'], d['call_id'],
                      self.cseq, body=body, ctype=ctype)
        return self.wait_response('INFO', deadline)

    def bye(self, deadline=5.0):
        self.cseq += 1
        d = self.dialog
        self._request('BYE', d['uri'], d['from'], d['to'], d['call_id'],
                      self.cseq)
        resp = self.wait_response('BYE', deadline)
        check(resp.status == 200, f'{self.dn}: BYE answered {resp.status}')

    def wait_bye(self, deadline=5.0):
        return self.wait_sip(lambda m: isinstance(m, Request) and
                             m.method == 'BYE', 'BYE', deadline)

    def close(self):
        self.running = False
        self.sock.close()
        self.thread.join(1)
        self.rtp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
