#!/usr/bin/env python3
"""End-to-end: music-listen-disconnect and SIGHUP, by ear.

    python3 tests/e2e/test_listen_config.py

Why: the option is read at request time (shared/spec/config.md): a
reload changes the music for the next TListenDisconnect and leaves a party
already disconnected with the music it has; a reload naming a path that
does not exist is rejected as a whole; and a file that vanished after the
reload must not stop a disconnect: privacy wins over music, the party
hears silence and the log says why. Three Python UAs (1001 calls 1002,
1003 joins by TSingleStepConference); the ear is a UA's received RTP:
- THoldCall by 1001 inside the conference: 1001 hears the hold music
  (default-music, 300 Hz; the UA answers the hold re-INVITE as a phone
  does); TRetrieveCall: the music stops;
- disconnect 1003: it hears the 700 Hz music;
- reload to a 1100 Hz file: 1003 still hears 700; reconnect, disconnect
  again: 1100;
- a call of two: TListenDisconnect refused (51);
- reload with sip-enable-call-info-extended = false: both requests get 51
  naming it, and 1003 stays disconnected with its music;
- reload to a path that does not exist: rejected (logged), the running
  configuration stays: reconnect, disconnect: still 1100;
- reload to a 1500 Hz file, then delete it: reconnect, disconnect: the
  request succeeds (EventListenDisconnected), 1003 hears silence, and the
  log has a warning naming the file;
- nothing left; SIGTERM -> exit status 0.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.cti import Cti  # noqa: E402
from lib.harness import (  # noqa: E402
    Server, check, config_text, main, nothing_left, poll, write_file)
from lib.phones import music_wav  # noqa: E402
from lib.rtpua import Ua, decode, goertzel_ratio, rms_dbfs  # noqa: E402

WINDOW = 800  # 100 ms


def config(run, music, extended='true'):
    return config_text(run.ports, run.src,
                       {'1001': {}, '1002': {}, '1003': {}},
                       music_listen_disconnect=music,
                       default_music=run.path('m300.wav'),
                       sip_enable_call_info='true',
                       sip_enable_call_info_extended=extended)


def hears(ua, hz, seconds=1.0):
    """The last `seconds` the UA received: the tone hz (None: silence)."""
    def window_ok():
        pcm = decode(ua.rtp.packets(since=time.monotonic() - seconds))
        if len(pcm) < WINDOW * 5:
            return False
        wins = [pcm[i:i + WINDOW] for i in range(0, len(pcm) - WINDOW + 1,
                                                 WINDOW)]
        if hz is None:
            return all(rms_dbfs(w) < -50 for w in wins)
        return all(goertzel_ratio(w, hz) > 0.5 for w in wins)
    check(poll(window_ok, 5), f'{ua.dn} did not hear '
          f'{hz or "silence"} for {seconds} s')


class Call:
    def __init__(self, run):
        p = run.ports
        self.run = run
        self.a = Ua(p, '1001', p.base + 20, p.base + 28)
        self.b = Ua(p, '1002', p.base + 22, p.base + 32)
        self.c = Ua(p, '1003', p.base + 24, p.base + 36)
        for u in (self.a, self.b, self.c):
            u.register()
        self.cti = Cti(p.tlib)
        self.cti.register('1001')
        self.a.invite('1002')
        self.b.answer()
        self.a.wait_answered()
        self.connid = self.cti.wait('EventEstablished',
                                    ThisDN='1001')['ConnID']
        # a call of two is not a conference: refused, nothing changes
        ref = self.cti.request('TListenDisconnect', ThisDN='1001',
                               ConnID=self.connid, OtherDN='1002')
        ev = self.cti.wait('EventError', ReferenceID=ref)
        check(ev['ErrorCode'] == 51, f'two parties: {ev}')
        ref = self.cti.request('TSingleStepConference', ThisDN='1001',
                               ConnID=self.connid, OtherDN='1003')
        self.c.answer()
        self.cti.wait('EventPartyAdded', ReferenceID=ref)

    def listen(self, disconnect):
        name = 'TListenDisconnect' if disconnect else 'TListenReconnect'
        ref = self.cti.request(name, ThisDN='1001', ConnID=self.connid,
                               OtherDN='1003')
        ev = self.cti.wait('EventListenDisconnected' if disconnect
                           else 'EventListenReconnected', ReferenceID=ref)
        return ev

    def close(self):
        """1001 leaves: the collapse rule makes 1002 and the disconnected
        1003 a plain call; 1002 hangs up, 1003 gets the BYE."""
        self.a.bye()
        self.cti.wait('EventReleased', ThisDN='1001')
        self.b.bye()
        self.c.wait_bye()
        self.cti.close()
        for u in (self.a, self.b, self.c):
            u.close()


def reload(run, server, conf, music, ok=True, extended='true'):
    since = len(server.log_text().encode())
    write_file(conf, config(run, music, extended))
    server.reload()
    server.wait_log(r'reloaded ' if ok else r'reload of .* rejected',
                    since=since)


def body(run):
    music_wav(run.path('m300.wav'), 300)  # default-music: holds
    m700 = music_wav(run.path('m700.wav'), 700)
    m1100 = music_wav(run.path('m1100.wav'), 1100)
    m1500 = music_wav(run.path('m1500.wav'), 1500)
    conf = write_file(run.path('sipserver.conf'), config(run, m700))
    server = Server(run, conf).start()
    call = run.step('a conference of 1001, 1002, 1003', Call, run)
    if call:
        def held():
            """THoldCall inside the conference: the holder hears the
            hold music (300 Hz here); the others go on (1003 still hears
            1002 and 1001's silence: what the UAs send is silence, so the
            check is the holder's ear and the events)."""
            ref = call.cti.request('THoldCall', ThisDN='1001',
                                   ConnID=call.connid)
            call.cti.wait('EventHeld', ReferenceID=ref)
            hears(call.a, 300)
            ref = call.cti.request('TRetrieveCall', ThisDN='1001',
                                   ConnID=call.connid)
            call.cti.wait('EventRetrieved', ReferenceID=ref)
            hears(call.a, None)

        def first():
            call.listen(True)
            hears(call.c, 700)

        def reloaded():
            reload(run, server, conf, m1100)
            hears(call.c, 700)
            call.listen(False)
            call.listen(True)
            hears(call.c, 1100)

        def feature_off():
            reload(run, server, conf, m1100, extended='false')
            for name in ('TListenReconnect', 'TListenDisconnect'):
                ref = call.cti.request(name, ThisDN='1001',
                                       ConnID=call.connid, OtherDN='1003')
                ev = call.cti.wait('EventError', ReferenceID=ref)
                check(ev['ErrorCode'] == 51 and 'sip-enable-call-info-'
                      'extended' in ev['ErrorMessage'], f'{name}: {ev}')
            hears(call.c, 1100)  # still disconnected, as it was
            reload(run, server, conf, m1100)

        def rejected():
            reload(run, server, conf, run.path('nowhere.wav'), ok=False)
            call.listen(False)
            call.listen(True)
            hears(call.c, 1100)

        def vanished():
            reload(run, server, conf, m1500)
            os.unlink(m1500)
            since = len(server.log_text().encode())
            call.listen(False)
            ev = call.listen(True)
            check(ev['CallState'] == 'Held', f'{ev}')
            hears(call.c, None)
            server.wait_log(r'hears silence.*m1500', since=since)

        run.step('THoldCall inside the conference: the holder hears the '
                 'music', held)
        run.step('disconnect: the configured music', first)
        run.step('SIGHUP: the next disconnect has the new music, the '
                 'disconnected party keeps its own', reloaded)
        run.step('SIGHUP turning -extended off: both requests refused '
                 '(51), the party stays as it is', feature_off)
        run.step('SIGHUP with a path that does not exist: rejected',
                 rejected)
        run.step('the file vanished: silence, a warning, no refusal',
                 vanished)
        run.step('hang up', call.close)
    run.step('nothing left behind', nothing_left, server)
    run.step('SIGTERM -> exit status 0', server.stop)


if __name__ == '__main__':
    sys.exit(main('listen-config', body))
