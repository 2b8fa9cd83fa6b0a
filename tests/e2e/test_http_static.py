#!/usr/bin/env python3
"""End-to-end: the desktop's files on the HTTP port (src/http/static.c).

    python3 tests/e2e/test_http_static.py

Why: the HTTP port serves a folder to every agent's browser, and the
configuration file beside that folder holds the client password. Checked
over raw TCP (a client library would clean the paths up first):
- GET / is index.html, GET/HEAD of each file with its Content-Type, the
  same length for HEAD and no body, the security headers;
- every way out of web-root is refused and reads nothing: `..`, its escaped
  forms (upper and lower case, double escaping), backslashes, absolute
  and absolute-form targets, empty and dot-led segments, NUL; a link in
  web-root to a file outside is not followed; a folder, a missing file and
  a file over 1 MiB are not served; methods other than GET/HEAD get 405;
- /tlib still upgrades (a plain GET is 400), and the server goes on;
- a web-root that is not a folder: a warning at start, 404 for every file,
  the CTI WebSocket still there.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.harness import (  # noqa: E402
    LOOPBACK, Server, check, config_text, main, write_file)

SECRET = 'do-not-serve-4711'


def http(port, request, deadline=3.0):
    """Sends raw request bytes, returns (status, headers, body)."""
    with socket.create_connection((LOOPBACK, port), deadline) as s:
        s.sendall(request)
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = s.recv(65536)
            check(chunk, f'connection closed before a reply to {request!r}')
            data += chunk
        head, body = data.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in
                   (ln.split(':', 1) for ln in lines[1:])}
        want = int(headers.get('content-length', '0'))
        if not request.startswith(b'HEAD'):
            while len(body) < want:
                chunk = s.recv(65536)
                check(chunk, 'connection closed inside a body')
                body += chunk
        return status, headers, body


def get(port, path, method='GET'):
    return http(port, f'{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n'
                .encode('latin-1'))


def make_root(run):
    root = run.path('web')
    os.makedirs(os.path.join(root, 'sub'))
    files = {'index.html': '<!DOCTYPE html><title>t</title>\n',
             'app.js': 'export const x = 1;\n',
             'style.css': 'body { color: red; }\n',
             'sub/index.html': 'sub index\n',
             'sub/a-b_c.1.json': '{"a": 1}\n',
             '.hidden': SECRET}
    for name, text in files.items():
        write_file(os.path.join(root, name), text)
    with open(os.path.join(root, 'big.js'), 'wb') as f:
        f.write(b'/' * (1024 * 1024 + 1))
    write_file(run.path('secret.txt'), SECRET)
    os.symlink(run.path('secret.txt'), os.path.join(root, 'link.js'))
    os.symlink(run.path('.'), os.path.join(root, 'up'))
    return root, files


def check_files(port, files):
    types = {'html': 'text/html; charset=utf-8',
             'js': 'text/javascript; charset=utf-8',
             'css': 'text/css; charset=utf-8', 'json': 'application/json'}
    for path, name in (('/', 'index.html'), ('/index.html', 'index.html'),
                       ('/app.js', 'app.js'), ('/style.css', 'style.css'),
                       ('/sub/', 'sub/index.html'),
                       ('/sub/a-b_c.1.json', 'sub/a-b_c.1.json'),
                       ('/app.js?v=2', 'app.js'),
                       ('/%61pp.js', 'app.js')):
        st, hd, body = get(port, path)
        check(st == 200 and body.decode() == files[name],
              f'GET {path}: {st} {body[:80]!r}')
        ctype = types[name.rsplit('.', 1)[1]]
        check(hd.get('content-type') == ctype, f'{path}: {hd}')
        check(hd.get('x-content-type-options') == 'nosniff' and
              'content-security-policy' in hd and
              hd.get('cache-control') == 'no-cache', f'{path}: {hd}')
        st, hd2, body = get(port, path, 'HEAD')
        check(st == 200 and body == b'' and hd2.get('content-length') ==
              str(len(files[name])), f'HEAD {path}: {st} {hd2} {body!r}')


TRAVERSALS = [
    '/../secret.txt', '/..', '/../', '/sub/../../secret.txt',
    '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt',
    '/%2e./secret.txt', '/%2e%2e%2fsecret.txt', '/sub/%2e%2e/%2e%2e/secret.txt',
    '/%252e%252e/secret.txt', '/..%5csecret.txt', '/..\\secret.txt',
    '//etc/passwd', '/%2fetc/passwd', '/sub//index.html', '/.hidden',
    '/%2ehidden', '/./index.html', '/index.html%00.js', '/%c0%ae%c0%ae/x',
    'http://127.0.0.1/secret.txt', '*', 'secret.txt', '/a%20b',
]


def check_traversal(port):
    for path in TRAVERSALS:
        st, _, body = get(port, path)
        check(st == 400 and SECRET.encode() not in body,
              f'GET {path}: {st} {body[:80]!r}, expected 400')
    for path in ('/link.js', '/up/secret.txt', '/sub', '/nothing.js',
                 '/big.js', '/index.html/'):
        st, _, body = get(port, path)
        check(st in (404, 500) and SECRET.encode() not in body and
              len(body) < 200, f'GET {path}: {st} {body[:80]!r}')
        check(st == 404 or path == '/big.js', f'GET {path}: {st}')
    st, hd, _ = get(port, '/', 'POST')
    check(st == 405 and hd.get('allow') == 'GET, HEAD', f'POST: {st} {hd}')
    for method in ('PUT', 'DELETE', 'OPTIONS', 'TRACE'):
        st, _, _ = get(port, '/index.html', method)
        check(st == 405, f'{method}: {st}')


def check_tlib(port):
    st, _, _ = get(port, '/tlib')
    check(st == 400, f'GET /tlib without upgrade: {st}')
    key = 'dGhlIHNhbXBsZSBub25jZQ=='
    st, hd, _ = http(port, (
        'GET /tlib HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
        'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
        f'Sec-WebSocket-Key: {key}\r\n\r\n').encode())
    check(st == 101, f'WebSocket upgrade at /tlib: {st} {hd}')
    # a page of this server may open it, a page of another site may not
    for origin, want in ((f'http://127.0.0.1:{port}', 101),
                         (f'HTTP://127.0.0.1:{port}', 101),
                         ('http://evil.example', 403),
                         (f'http://127.0.0.1:{port}.evil.example', 403),
                         (f'http://127.0.0.1:{port}/x', 403),
                         ('null', 403)):
        st, hd, _ = http(port, (
            f'GET /tlib HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
            f'Origin: {origin}\r\nUpgrade: websocket\r\n'
            'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
            f'Sec-WebSocket-Key: {key}\r\n\r\n').encode())
        check(st == want, f'Origin {origin}: {st}, expected {want}')


def body(run):
    root, files = make_root(run)
    port = run.ports.client(7)
    conf = write_file(run.path('sipserver.conf'), config_text(
        run.ports, run.src, http_port=port, web_root=root,
        client_password=SECRET))
    server = Server(run, conf).start()
    run.step('files with their Content-Type, HEAD', check_files, port, files)
    run.step('no way out of web-root', check_traversal, port)
    run.step('/tlib upgrades as before', check_tlib, port)
    run.step('the server still serves', check_files, port, files)
    run.step('SIGTERM -> exit status 0', server.stop)

    conf = write_file(run.path('missing.conf'), config_text(
        run.ports, run.src, http_port=port, web_root=run.path('nowhere')))
    server = Server(run, conf).start()

    def missing():
        server.wait_log(r'web-root .*nowhere is not a folder')
        st, _, body = get(port, '/')
        check(st == 404, f'GET / without web-root: {st} {body!r}')
        check_tlib(port)
    run.step('web-root missing: warning, 404, CTI still there', missing)
    run.step('SIGTERM -> exit status 0 (missing web-root)', server.stop)


if __name__ == '__main__':
    sys.exit(main('http.static', body))
