"""A minimal tlib/1 client for tests (Python 3 stdlib only): JSON lines
over TCP, events collected by a reader thread, waits that poll with a
deadline. tools/tlibctl is the project's own client; this one lets a test
look at every event and its order without a subprocess per step."""

import json
import socket
import threading

from .harness import LOOPBACK, check, poll


class Cti:
    def __init__(self, port, app='e2e', password=None):
        self.sock = socket.create_connection((LOOPBACK, port), 5)
        # the reader blocks: a client that hears nothing for a while
        # (a DN in no call) must not lose its reader to a timeout
        self.sock.settimeout(None)
        self.events = []
        self.seen = []  # every event ever received, none consumed
        self.lock = threading.Lock()
        self.ref = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        link = self.wait('EventLinkConnected')
        check(link.get('ProtocolVersion') == 'tlib/1',
              f'EventLinkConnected: {link}')
        self.request('TOpenServer', ApplicationName=app,
                     **({'Password': password} if password else {}))
        self.wait('EventServerConnected')

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
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                with self.lock:
                    self.events.append(json.loads(line))
                    self.seen.append(line.decode(errors='replace'))

    def send_line(self, line):
        self.sock.sendall(line.encode() + b'\n')

    def request(self, name, **attrs):
        """Send a request with the next ReferenceID; returns that id."""
        self.ref += 1
        self.send_line(json.dumps({'request': name, 'ReferenceID': self.ref,
                                   **attrs}))
        return self.ref

    def register(self, dn):
        ref = self.request('TRegisterAddress', ThisDN=dn)
        ev = self.wait('EventRegistered', ReferenceID=ref)
        return ev

    def wait(self, name, deadline=5.0, **attrs):
        """The first event (since the last one waited for) named `name`
        whose attributes match; it and the events before it are consumed."""
        def find():
            with self.lock:
                for i, ev in enumerate(self.events):
                    if ev.get('event') == name and all(
                            ev.get(k) == v for k, v in attrs.items()):
                        del self.events[:i + 1]
                        return ev
            return None
        ev = poll(find, deadline)
        check(ev, f'no {name} {attrs or ""} within {deadline:g} s; events '
              f'waiting: {self.pending()}')
        return ev

    def pending(self):
        with self.lock:
            return list(self.events)

    def close(self):
        self.sock.close()
