"""Headless Chromium driven over the DevTools protocol (Python 3 stdlib only).

    with Browser(run.tmp) as b:
        page = b.page('http://127.0.0.1:8080/')
        page.wait('document.readyState === "complete"', 5, 'page loaded')
        page.type('#dn', '1001'); page.click('#signin-button')
        page.wait_text('#link', 'linked', 5)
        page.screenshot(run.path('step.png'))

Why the pipe and not a port: `--remote-debugging-pipe` takes commands on
fd 3 and answers on fd 4 (JSON, each message ended by a NUL byte), so no
port of the test's block is used and no other process can drive this
browser. One browser context per page keeps each page's storage apart
(two desktops in one browser are two agents). Clicks are real mouse
events at the element's centre (a disabled button ignores them, as it
does for a person); typing is Input.insertText into the focused field.
Chromium runs in its own process group and is killed by PID at the end;
every wait polls with a deadline.
"""

import base64
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading

from .harness import TestFailure, _track, check, poll

CHROMIUM = os.environ.get('CHROMIUM') or shutil.which('chromium') or \
    'chromium'
CALL_DEADLINE = 15.0
STOP_DEADLINE = 5.0


class Browser:
    def __init__(self, workdir, width=1100, height=860):
        self.dir = os.path.join(workdir, 'chromium')
        self.width, self.height = width, height
        self.proc = None
        self.lock = threading.Lock()
        self.next_id = 0
        self.replies = {}
        self.events = []
        self.closed = False

    # ------------------------------------------------------- life cycle

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cmd_r, cmd_w = os.pipe()
        resp_r, resp_w = os.pipe()
        # above 3 and 4, so that putting them there never closes the other
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)
        os.close(cmd_r)
        os.close(resp_w)

        def pipes_at_3_and_4():
            # in the child before exec (dup2 is async-signal-safe); the
            # copies are not inheritable and go at exec
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)
        args = [CHROMIUM, '--headless=new', '--remote-debugging-pipe',
                '--no-sandbox', f'--user-data-dir={self.dir}',
                '--no-first-run', '--no-default-browser-check',
                '--disable-gpu', '--disable-extensions', '--disable-sync',
                '--disable-background-networking',
                '--disable-component-update', '--disable-default-apps',
                '--disable-background-timer-throttling',
                '--disable-renderer-backgrounding',
                '--disable-backgrounding-occluded-windows',
                '--disable-dev-shm-usage', '--mute-audio',
                '--hide-scrollbars', '--force-device-scale-factor=1',
                f'--window-size={self.width},{self.height}', 'about:blank']
        log = open(os.path.join(self.dir, 'chromium.log'), 'w')
        try:
            self.proc = _track(subprocess.Popen(
                args, pass_fds=(3, 4), preexec_fn=pipes_at_3_and_4,
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
        finally:
            log.close()
            os.close(hi_r)
            os.close(hi_w)
        self.out = os.fdopen(cmd_w, 'wb', buffering=0)
        self.inp = resp_r
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        version = self.call('Browser.getVersion')
        return version.get('product', '')

    def stop(self):
        """Browser.close, then the process group is killed if it is still
        there after the deadline."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self._send({'id': self._id(), 'method': 'Browser.close'})
            except OSError:
                pass
            try:
                self.proc.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.out.close()
        except OSError:
            pass
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --------------------------------------------------------- protocol

    def _id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def _send(self, msg):
        self.out.write(json.dumps(msg).encode() + b'\0')

    def _read(self):
        buf = b''
        while True:
            try:
                data = os.read(self.inp, 1 << 20)
            except OSError:
                data = b''
            if not data:
                with self.lock:
                    self.closed = True
                os.close(self.inp)
                return
            buf += data
            while b'\0' in buf:
                raw, buf = buf.split(b'\0', 1)
                msg = json.loads(raw)
                with self.lock:
                    if 'id' in msg:
                        self.replies[msg['id']] = msg
                    else:
                        self.events.append(msg)
                        del self.events[:-500]

    def call(self, method, params=None, session=None,
             deadline=CALL_DEADLINE):
        """One command; its result, or TestFailure with its error."""
        check(self.proc is not None and self.proc.poll() is None,
              f'chromium is not running (see {self.dir}/chromium.log)')
        msg = {'id': self._id(), 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        self._send(msg)

        def reply():
            with self.lock:
                return self.replies.pop(msg['id'], None) or (
                    {'error': {'message': 'browser closed'}}
                    if self.closed else None)
        got = poll(reply, deadline, interval=0.01)
        check(got, f'chromium: no answer to {method} within {deadline:g} s')
        if 'error' in got:
            raise TestFailure(f'chromium: {method}: {got["error"]}')
        return got.get('result', {})

    def page(self, url):
        """A new page in a browser context of its own, loaded."""
        ctx = self.call('Target.createBrowserContext')['browserContextId']
        target = self.call('Target.createTarget', {
            'url': 'about:blank', 'browserContextId': ctx,
            'width': self.width, 'height': self.height})['targetId']
        session = self.call('Target.attachToTarget', {
            'targetId': target, 'flatten': True})['sessionId']
        page = Page(self, session, self.width, self.height)
        page.open(url)
        return page


class Page:
    def __init__(self, browser, session, width, height):
        self.b, self.session = browser, session
        self.width = width
        self.call('Page.enable')
        self.call('Runtime.enable')
        self.call('Emulation.setDeviceMetricsOverride', {
            'width': width, 'height': height, 'deviceScaleFactor': 1,
            'mobile': False})

    def call(self, method, params=None, deadline=CALL_DEADLINE):
        return self.b.call(method, params, self.session, deadline)

    def open(self, url, deadline=10.0):
        self.call('Page.navigate', {'url': url})
        ok = poll(lambda: self.evaluate(
            'document.readyState === "complete" && location.href'), deadline)
        check(ok == url, f'page {url} not loaded within {deadline:g} s '
              f'(at {ok!r})')

    def evaluate(self, expr):
        """The value of a JavaScript expression (promises awaited)."""
        res = self.call('Runtime.evaluate', {
            'expression': expr, 'awaitPromise': True,
            'returnByValue': True})
        if 'exceptionDetails' in res:
            raise TestFailure(f'JavaScript {expr!r}: '
                              f'{res["exceptionDetails"]}')
        return res.get('result', {}).get('value')

    def wait(self, expr, deadline, what):
        """Polls a JavaScript expression until it is truthy; its value."""
        value = poll(lambda: self.evaluate(expr), deadline, interval=0.05)
        check(value, f'{what}: not within {deadline:g} s ({expr})')
        return value

    def text(self, selector):
        return self.evaluate(
            f'(e => e ? e.textContent : null)'
            f'(document.querySelector({json.dumps(selector)}))')

    def wait_text(self, selector, want, deadline=5.0):
        """Waits for the element's text to contain want; returns it."""
        got = poll(lambda: (lambda t: t if t and want in t else None)(
            self.text(selector)), deadline)
        check(got, f'{selector}: text {want!r} not within {deadline:g} s; '
              f'it is {self.text(selector)!r}')
        return got

    def element(self, selector):
        """{disabled, title, x, y} of the element (scrolled into view)."""
        return self.evaluate(
            f'(e => {{ if (!e) return null; e.scrollIntoView('
            f'{{block: "center"}}); const r = e.getBoundingClientRect(); '
            f'return {{disabled: !!e.disabled, title: e.title, '
            f'text: e.textContent, x: r.x + r.width / 2, '
            f'y: r.y + r.height / 2}}; }})'
            f'(document.querySelector({json.dumps(selector)}))')

    def wait_element(self, selector, deadline=5.0):
        el = poll(lambda: self.element(selector), deadline)
        check(el, f'no element {selector} within {deadline:g} s')
        return el

    def click(self, selector, deadline=5.0):
        """A person's click: waits for the element to exist and be
        enabled, then presses and releases the mouse at its centre."""
        el = poll(lambda: (lambda e: e if e and not e.get('disabled')
                           else None)(self.element(selector)), deadline)
        check(el, f'{selector}: no enabled element within {deadline:g} s '
              f'({self.element(selector)})')
        for kind in ('mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', {
                'type': kind, 'x': el['x'], 'y': el['y'],
                'button': 'left', 'clickCount': 1})

    def type(self, selector, text):
        """Replaces the field's text as typing would (input events)."""
        self.evaluate(f'(e => {{ e.focus(); e.select(); }})'
                      f'(document.querySelector({json.dumps(selector)}))')
        self.call('Input.dispatchKeyEvent', {'type': 'keyDown',
                                             'key': 'Backspace',
                                             'code': 'Backspace',
                                             'windowsVirtualKeyCode': 8})
        self.call('Input.dispatchKeyEvent', {'type': 'keyUp',
                                             'key': 'Backspace',
                                             'code': 'Backspace',
                                             'windowsVirtualKeyCode': 8})
        if text:
            self.call('Input.insertText', {'text': text})

    def screenshot(self, path, height=None):
        """A PNG of the page; height: only its top (a smaller file)."""
        params = {'format': 'png'}
        if height:
            params['clip'] = {'x': 0, 'y': 0, 'width': self.width,
                              'height': height, 'scale': 1}
        data = self.call('Page.captureScreenshot', params)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data['data']))
        return path

