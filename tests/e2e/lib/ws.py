"""A minimal WebSocket client (RFC 6455) for tests, Python 3 stdlib only:
the handshake, masked text frames out, unmasked frames in. Enough to talk
tlib/1 at ws://HOST:PORT/tlib the way a browser desktop does."""

import base64
import hashlib
import os
import socket
import struct

from .harness import LOOPBACK, check

GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class WebSocket:
    def __init__(self, port, path='/tlib', deadline=5.0):
        self.sock = socket.create_connection((LOOPBACK, port), deadline)
        self.sock.settimeout(deadline)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f'GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}'
                           f'\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                           f'Sec-WebSocket-Key: {key}\r\n'
                           f'Sec-WebSocket-Version: 13\r\n\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(4096)
            check(chunk, 'connection closed during the WebSocket handshake')
            head += chunk
        head, self.buf = head.split(b'\r\n\r\n', 1)
        text = head.decode(errors='replace')
        check(text.startswith('HTTP/1.1 101'), f'no upgrade: {text}')
        want = base64.b64encode(hashlib.sha1(
            (key + GUID).encode()).digest()).decode()
        check(want in text, f'wrong Sec-WebSocket-Accept: {text}')

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack('!BB', 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', 0x81, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', 0x81, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + body)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            check(chunk, 'WebSocket closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message (pings and other control frames skipped)."""
        while True:
            b0, b1 = self._need(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._need(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._need(8))[0]
            payload = self._need(n)
            if b0 & 0x0f == 1:
                return payload.decode()

    def close(self):
        self.sock.close()
