// tlib.js: a tlib/1 session over the WebSocket /tlib, for one DN.
//
// Owns the link and the sign-in sequence (TOpenServer, TRegisterAddress,
// then TQueryAddress and TQueryCall so the desk starts from what the
// server has), ReferenceIDs, and coming back after the link drops (a
// server restart): it retries with a growing delay and signs in again by
// itself. A refusal during sign-in is final: retrying a wrong password or
// an unknown DN would only repeat it, so the person is told instead.
// Knows nothing of the DOM; the app gives it callbacks.

export const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export function wsUrl(loc) {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/tlib`;
}

export class Session {
  /**
   * opts: url, dn, password, app (ApplicationName), and callbacks
   * onEvent(ev), onLink(state, detail), onRefused(ev, request name),
   * onError(ev, request name) for an EventError of a later request.
   * Link states: connecting, signing-in, up, down (retrying), refused,
   * closed.
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.ref = 0;
    this.sent = new Map(); // ReferenceID -> request name
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.signedIn = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  link(state, detail = '') {
    this.state = state;
    this.opts.onLink(state, detail);
  }

  connect() {
    this.timer = null;
    this.signedIn = false;
    this.link('connecting', this.attempt ? `attempt ${this.attempt + 1}`
      : '');
    let ws;
    try {
      ws = new WebSocket(this.opts.url);
    } catch (e) {
      this.link('refused', String(e));
      return;
    }
    this.ws = ws;
    ws.onmessage = (m) => this.message(m.data);
    ws.onclose = () => this.closed(ws);
  }

  closed(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    if (this.stopped) return;
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    this.link('down', `retrying in ${delay / 1000} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Ends the session: unregisters when it can, no retry */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      if (this.signedIn) this.send('TUnregisterAddress',
        { ThisDN: this.opts.dn });
      this.ws.close();
      this.ws = null;
    }
    this.link('closed');
  }

  /** Sends a request; returns its ReferenceID (0: the link is not up) */
  send(name, attrs = {}) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return 0;
    const ref = ++this.ref;
    this.sent.set(ref, name);
    if (this.sent.size > 1000) this.sent.delete(this.sent.keys().next().value);
    this.ws.send(JSON.stringify({ request: name, ReferenceID: ref,
      ...attrs }));
    return ref;
  }

  requestName(ev) {
    return this.sent.get(ev.ReferenceID) || '';
  }

  message(text) {
    let ev;
    try {
      ev = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!ev || typeof ev.event !== 'string') return;
    this.opts.onEvent(ev);

    const o = this.opts;
    switch (ev.event) {
      case 'EventLinkConnected':
        this.link('signing-in', ev.Location || '');
        this.send('TOpenServer', { ApplicationName: o.app,
          ...(o.password ? { Password: o.password } : {}) });
        break;
      case 'EventServerConnected':
        this.send('TRegisterAddress', { ThisDN: o.dn });
        break;
      case 'EventRegistered':
        if (ev.ThisDN !== o.dn) break;
        this.signedIn = true;
        this.attempt = 0;
        this.link('up', ev.RegisterMode || '');
        this.send('TQueryAddress', { ThisDN: o.dn });
        break;
      case 'EventAddressInfo':
        for (const c of Array.isArray(ev.Calls) ? ev.Calls : [])
          if (c && c.ConnID)
            this.send('TQueryCall', { ThisDN: o.dn, ConnID: c.ConnID });
        break;
      case 'EventError': {
        const req = this.requestName(ev);
        if (req === 'TOpenServer' || req === 'TRegisterAddress' ||
            (!this.signedIn && ev.ErrorCode === 41)) {
          this.stopped = true;
          if (this.ws) this.ws.close();
          this.link('refused', ev.ErrorMessage || '');
          o.onRefused(ev, req);
        } else if (req !== 'TQueryCall') {
          o.onError(ev, req);
        }
        break;
      }
      default:
        break;
    }
  }
}
