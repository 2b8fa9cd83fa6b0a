"""Headless baresip 1.0.0 phones for by-ear tests (Python 3 stdlib only).

Every phone sends its own tone (an aufile WAV) and records what it receives
(the sndfile module's `-dec.wav`); tools/tonecheck then says who hears whom.

    with Phone('a', '1001', sip_port=B + 2, rtp_ports=(B + 10, B + 13),
               tone_hz=440, workdir=run.tmp) as a:
        a.start()
        a.dial('sip:b@127.0.0.1:%d' % b.sip_port)
        a.wait_call_established(5)
        a.hold(); a.resume(); a.hangup()
        rec = a.recording()

Runtime control: the ctrl_tcp module (netstring JSON over TCP), which runs
the same commands as the menu (`dial`, `hangup`, `hold`, `resume`,
`audio_debug`, ...) and pushes every UA event (CALL_ESTABLISHED,
CALL_CLOSED, ...) to the connected client. It listens on 127.0.0.1:0 and the
port is found in /proc, so it takes no port from the test's block.
Registration happens before that connection exists, so it is read from the
log instead.

baresip 1.0.0 facts this module works around or exposes (libre-notes 6.2):
- `sip_listen` port + 1 is bound too (TCP); give phones 2 ports each.
- The tone WAV must be S16LE mono at the codec rate (8 kHz), and when
  aufile reaches its end baresip hangs the call up: the tone is long
  (tone_seconds, default 120 s).
- A re-INVITE whose SDP is not sendrecv (hold, on either side) drops the
  decode filter chain for the rest of the call (audio_decoder_set flushes
  rx->filtl, aufilt_setup does not rebuild it while tx->filtl is set): the
  `-dec.wav` stops growing at the first hold and does not resume. So the
  recording is the ear only up to the first hold of a call.
- kill (SIGTERM) un-REGISTERs, which takes 1-2 s; stop() waits for exit.
Nothing here sleeps a fixed time to wait for something: waits poll.
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading

from .harness import LOOPBACK, TestFailure, _track, check, poll

BARESIP = os.environ.get('BARESIP', 'baresip')
SOX = os.environ.get('SOX', 'sox')
MODULE_PATH = '/usr/lib/baresip/modules'
RATE = 8000          # G.711: the WAV the sndfile module writes is 8 kHz mono
WAV_HEADER = 44
START_DEADLINE = 5.0
STOP_DEADLINE = 5.0
CMD_DEADLINE = 3.0


def tone_wav(path, hz, seconds):
    """An 8 kHz S16LE mono WAV of a sine at -6 dBFS (G.711 does not clip
    it); made once per path."""
    if not os.path.exists(path):
        subprocess.run([SOX, '-n', '-r', str(RATE), '-c', '1', '-b', '16',
                        '-e', 'signed-integer', path, 'synth', str(seconds),
                        'sine', str(hz), 'vol', '0.5'],
                       check=True, capture_output=True)
    return path


def wav_seconds(path):
    """Seconds of audio in a WAV that may still be being written (its
    header is not trusted: the size is)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return 0.0
    return max(0, size - WAV_HEADER) / (2.0 * RATE)


def tonecheck_binary():
    path = os.environ.get('TONECHECK')
    check(path and os.access(path, os.X_OK),
          f'TONECHECK={path!r} is not an executable (tools/tonecheck)')
    return path


def tonecheck(wav, *args):
    """Runs `tonecheck WAV ARGS...` (getopt takes options after the file);
    returns (exit status, stdout+stderr)."""
    res = subprocess.run([tonecheck_binary(), wav, *args],
                         capture_output=True, text=True)
    return res.returncode, res.stdout + res.stderr


def assert_hears(wav, spec, *args, who='phone'):
    """Fails unless tonecheck --expect SPEC holds for wav, e.g. spec
    '1000,!440': 1000 Hz heard, 440 Hz not."""
    rc, out = tonecheck(wav, '--expect', spec, *args)
    check(rc == 0, f'{who} did not hear {spec} in {wav} (tonecheck exit '
          f'{rc}):\n{out}')
    return out


def _listening_ports(pid):
    """TCP ports in LISTEN state owned by process pid (from /proc)."""
    inodes = set()
    fd_dir = f'/proc/{pid}/fd'
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.match(r'socket:\[(\d+)\]', link)
        if m:
            inodes.add(m.group(1))
    ports = set()
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[3] == '0A' and cols[9] in inodes:  # 0A = LISTEN
                ports.add(int(cols[1].split(':')[1], 16))
    return ports


class Control:
    """A ctrl_tcp connection: commands with replies, and the event list.

    A reader thread parses netstrings; replies are matched by token."""

    def __init__(self, port):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=2)
        self.sock.settimeout(None)
        self.events = []
        self.replies = {}
        self.lock = threading.Lock()
        self.token = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        buf = b''
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while True:
                msg, buf = self._netstring(buf)
                if msg is None:
                    break
                self._dispatch(msg)

    @staticmethod
    def _netstring(buf):
        colon = buf.find(b':')
        if colon < 0:
            return None, buf
        length = int(buf[:colon])
        end = colon + 1 + length
        if len(buf) < end + 1:
            return None, buf
        return json.loads(buf[colon + 1:end]), buf[end + 1:]

    def _dispatch(self, msg):
        with self.lock:
            if msg.get('event'):
                self.events.append(msg)
            elif msg.get('response'):
                self.replies[msg.get('token')] = msg

    def command(self, cmd, params='', deadline=CMD_DEADLINE):
        """Runs a menu command; returns its reply's data, raises if the
        reply says not ok or does not come."""
        with self.lock:
            self.token += 1
            token = str(self.token)
        body = json.dumps({'command': cmd, 'params': params,
                           'token': token}).encode()
        self.sock.sendall(b'%d:%s,' % (len(body), body))
        reply = poll(lambda: self.replies.get(token), deadline)
        check(reply, f'baresip: no reply to "{cmd} {params}" in {deadline}s')
        check(reply.get('ok'), f'baresip: "{cmd} {params}" failed: {reply}')
        return reply.get('data', '')

    def count(self, event_type):
        with self.lock:
            return sum(1 for e in self.events if e.get('type') == event_type)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Phone:
    """One headless baresip: its config dir, process, control and ear."""

    def __init__(self, name, dn, sip_port, rtp_ports, registrar=None,
                 tone_hz=440, workdir=None, password=None, transport='udp',
                 codec='PCMU', tone_seconds=120, address=LOOPBACK,
                 regint=600):
        check(workdir, 'Phone needs a workdir')
        self.name = name
        self.dn = dn
        self.sip_port = sip_port
        self.rtp_ports = rtp_ports
        self.registrar = registrar
        self.tone_hz = tone_hz
        self.password = password
        self.transport = transport
        self.codec = codec
        self.address = address  # 127.0.0.2 for a gateway behind a trunk
        self.regint = regint    # [s] registration expiry it asks for
        self.dir = os.path.join(workdir, f'phone-{name}')
        self.snd_path = os.path.join(self.dir, 'rec')
        self.log_path = os.path.join(self.dir, 'baresip.log')
        self.tone = tone_wav(os.path.join(workdir, f'tone-{tone_hz}-'
                                          f'{tone_seconds}s.wav'),
                             tone_hz, tone_seconds)
        self.proc = None
        self.ctrl = None
        self._write_config()

    # ------------------------------------------------------------ config

    def _write_config(self):
        os.makedirs(self.snd_path, exist_ok=True)
        lines = [
            ('poll_method', 'epoll'),
            ('sip_listen', f'{self.address}:{self.sip_port}'),
            ('net_interface', self.address),
            ('audio_player', 'aubridge,nil'),
            ('audio_alert', 'aubridge,nil'),
            ('audio_source', f'aufile,{self.tone}'),
            ('audio_level', 'no'),
            ('rtp_ports', '%d-%d' % self.rtp_ports),
            ('statmode_default', 'off'),
            ('module_path', MODULE_PATH),
            ('module', 'g711.so'),
            ('module', 'aubridge.so'),
            ('module', 'aufile.so'),
            ('module', 'sndfile.so'),
            ('module_app', 'account.so'),
            ('module_app', 'menu.so'),
            ('module_app', 'ctrl_tcp.so'),
            ('ctrl_tcp_listen', f'{LOOPBACK}:0'),
            ('snd_path', self.snd_path),
        ]
        with open(os.path.join(self.dir, 'config'), 'w') as f:
            f.writelines(f'{k}\t\t{v}\n' for k, v in lines)
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write(self.account_line() + '\n')

    def account_line(self):
        """Without a registrar the AOR is the phone itself and regint=0
        (no REGISTER); with one, the AOR's host is the registrar."""
        host, port = self.registrar or (self.address, self.sip_port)
        params = [f'regint={self.regint if self.registrar else 0}',
                  'answermode=auto', f'audio_codecs={self.codec}']
        if self.password:
            params.insert(0, f'auth_pass={self.password}')
        return (f'<sip:{self.dn}@{host}:{port};transport={self.transport}>;'
                + ';'.join(params))

    # ------------------------------------------------------- life cycle

    def start(self, deadline=START_DEADLINE):
        """Starts baresip and connects to its ctrl_tcp port."""
        check(self.proc is None, f'phone {self.name} already started')
        log = open(self.log_path, 'w')
        self.proc = _track(subprocess.Popen(
            [BARESIP, '-f', self.dir], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT))
        log.close()
        if not poll(lambda: self._exited() or 'baresip is ready.' in
                    self.log_text(), deadline) or self._exited():
            raise TestFailure(f'phone {self.name} did not start:\n'
                              f'{self.log_text()[-2000:]}')
        port = poll(self._ctrl_port, deadline)
        check(port, f'phone {self.name}: no ctrl_tcp port found')
        self.ctrl = Control(port)
        return self

    def _exited(self):
        return self.proc.poll() is not None

    def _ctrl_port(self):
        own = {self.sip_port, self.sip_port + 1}
        ports = _listening_ports(self.proc.pid) - own
        return min(ports) if len(ports) == 1 else None

    def stop(self, deadline=STOP_DEADLINE):
        """SIGTERM (baresip hangs up, un-REGISTERs and closes its WAVs),
        then SIGKILL if it has not exited by the deadline."""
        if self.ctrl:
            self.ctrl.close()
            self.ctrl = None
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- log

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def wait_log(self, regex, deadline):
        found = poll(lambda: re.search(regex, self.log_text(), re.M),
                     deadline)
        check(found, f'phone {self.name}: no /{regex}/ in its log within '
              f'{deadline}s; last lines:\n{self.log_text()[-1500:]}')
        return found

    def wait_registered(self, deadline=5.0):
        """Waits for the registrar's 200 (the log line baresip prints:
        `1001@127.0.0.1: {0/UDP/v4} 200 OK (...) [1 binding]`); fails at
        once on a final error reply."""
        check(self.registrar, f'phone {self.name} has no registrar')
        ok = r'\{[^}]*\} 200 OK'
        bad = r'\{[^}]*\} [3-6]\d\d |reg: .*failed'
        found = poll(lambda: re.search(f'{ok}|{bad}', self.log_text()),
                     deadline)
        check(found and re.match(ok, found.group(0)),
              f'phone {self.name} not registered within {deadline}s: '
              f'{found.group(0) if found else "no reply"}; last lines:\n'
              f'{self.log_text()[-1500:]}')

    # ---------------------------------------------------------- control

    def command(self, cmd, params=''):
        check(self.ctrl, f'phone {self.name} is not started')
        return self.ctrl.command(cmd, params)

    def dial(self, uri):
        return self.command('dial', uri)

    def hangup(self):
        return self.command('hangup')

    def hold(self):
        return self.command('hold')

    def resume(self):
        return self.command('resume')

    def audio_debug(self):
        """baresip's view of the audio stream (direction, pipelines)."""
        return self.command('audio_debug')

    def wait_event(self, event_type, count=1, deadline=5.0):
        """Waits until `count` events of this type have come (counting
        from the start, so a second call waits for count=2)."""
        got = poll(lambda: self.ctrl.count(event_type) >= count, deadline)
        check(got, f'phone {self.name}: {event_type} x{count} not seen '
              f'within {deadline}s; last lines:\n{self.log_text()[-1500:]}')

    def wait_call_established(self, deadline=5.0, count=1):
        self.wait_event('CALL_ESTABLISHED', count, deadline)

    def wait_call_closed(self, deadline=5.0, count=1):
        self.wait_event('CALL_CLOSED', count, deadline)

    # -------------------------------------------------------------- ear

    def recordings(self):
        """Every `-dec.wav` (what the phone heard), oldest first."""
        try:
            names = sorted(n for n in os.listdir(self.snd_path)
                           if n.endswith('-dec.wav'))
        except OSError:
            return []
        return [os.path.join(self.snd_path, n) for n in names]

    def recording(self):
        """The newest `-dec.wav`, or None before the first call."""
        recs = self.recordings()
        return recs[-1] if recs else None

    def heard_seconds(self):
        rec = self.recording()
        return wav_seconds(rec) if rec else 0.0

    def wait_heard(self, seconds, deadline):
        """Waits until the newest recording holds `seconds` of audio."""
        got = poll(lambda: self.heard_seconds() >= seconds, deadline)
        check(got, f'phone {self.name}: recording has '
              f'{self.heard_seconds():.2f}s, wanted {seconds}s within '
              f'{deadline}s')


def music_wav(path, hz, rate=8000, seconds=3):
    """A music file of one known tone, so the ear can tell music from
    talk; rate other than 8000 also exercises the player's resampling."""
    subprocess.run([SOX, '-n', '-r', str(rate), '-c', '1', '-b', '16', path,
                    'synth', str(seconds), 'sine', str(hz), 'vol', '0.5'],
                   check=True, capture_output=True)
    return path


def registered_phones(run, specs, ports=None, tag=''):
    """Start one phone per (dn, tone_hz[, options]) in specs, phone i on
    the port block's phone slot i, each registered with the test's
    server. Returns the phones in order. ports: another server's block
    (its phones register there); tag: a prefix of the phones' names, so
    that two servers' phones do not share a folder."""
    ports = ports or run.ports
    reg = (LOOPBACK, ports.sip)
    out = []
    for i, spec in enumerate(specs):
        dn, hz = spec[0], spec[1]
        opts = spec[2] if len(spec) > 2 else {}
        p = Phone(tag + chr(ord('a') + i), dn, ports.phone_sip(i),
                  ports.phone_rtp(i), registrar=reg, tone_hz=hz,
                  workdir=run.tmp, **opts)
        p.start()
        p.wait_registered()
        out.append(p)
    return out
