// model.js: one DN's calls and their parties, built from tlib/1 events,
// and which requests can succeed on them (with the reason when not).
//
// Pure: no DOM, no socket, no clock; events in, state out. That keeps the
// rules an agent relies on ("why is this button grey?") in one place that
// tests/web/model.test.mjs runs under node without a browser. The rules
// mirror the server's checks (docs/protocol.md, docs/private-
// conversations.md); the server stays the judge, and a refusal it sends
// anyway is shown as it came.

// Party state keys of the LCTParty snapshot (call-model.md)
export const DISCONNECTED = 'ListenDisconnectedHeld';
export const HELD = 'Held';

export function newDesk(dn) {
  return { dn, calls: new Map() };
}

function callOf(desk, connid) {
  let c = desk.calls.get(connid);
  if (!c) {
    c = {
      connid, type: '', ani: '', dnis: '', other: '', uuid: '',
      state: '', callState: '', parties: null, partiesFrom: '',
      consultOf: '', heldAt: 0,
    };
    desk.calls.set(connid, c);
  }
  return c;
}

function drop(desk, connid) {
  desk.calls.delete(connid);
  for (const c of desk.calls.values()) {
    if (c.consultOf === connid) c.consultOf = '';
  }
}

// The LCTParty<n> keys of an EventUserEvent, in order
export function lctParties(ext) {
  const n = Number(ext.LCTPartiesLength);
  if (!Number.isInteger(n) || n < 0) return null;
  const parties = [];
  for (let i = 0; i < n; i++) {
    parties.push({
      alias: String(ext[`LCTParty${i}`] ?? ''),
      location: String(ext[`LCTParty${i}_location`] ?? ''),
      state: String(ext[`LCTParty${i}_state`] ?? ''),
    });
  }
  return parties;
}

// EventPartyInfo (TQueryCall) as a snapshot: joined parties only, the
// states named as LCTParty names them
const QUERY_STATE = {
  Established: '', Held: HELD, ListenDisconnected: DISCONNECTED,
};

function queryParties(list) {
  return (Array.isArray(list) ? list : [])
    .filter((p) => p && p.PartyState in QUERY_STATE)
    .map((p) => ({
      alias: String(p.DN ?? ''),
      location: String(p.Location ?? ''),
      state: QUERY_STATE[p.PartyState],
    }));
}

// The held call a consultation was started from: the one of this DN held
// last (TInitiateConference holds it just before dialling)
function mainOf(desk, consult) {
  let best = null;
  for (const c of desk.calls.values()) {
    if (c !== consult && c.type !== 'Consult' && c.state === 'Held' &&
        (!best || c.heldAt > best.heldAt)) best = c;
  }
  return best ? best.connid : '';
}

const MY_STATE = {
  EventDialing: 'Dialing',
  EventRinging: 'Ringing',
  EventEstablished: 'Established',
  EventHeld: 'Held',
  EventRetrieved: 'Established',
};

/**
 * Applies one event to the desk (in place) and returns whether it changed
 * something the calls view shows. Events of other DNs are ignored.
 */
export function apply(desk, ev) {
  if (!ev || typeof ev.event !== 'string') return false;
  if (ev.event === 'EventAddressInfo') return resync(desk, ev);
  if (ev.ThisDN !== desk.dn || typeof ev.ConnID !== 'string') return false;

  const name = ev.event;
  if (name === 'EventReleased') {
    drop(desk, ev.ConnID);
    return true;
  }
  if (name === 'EventPartyInfo') {
    if (!desk.calls.has(ev.ConnID)) return false;
    const c = desk.calls.get(ev.ConnID);
    c.parties = queryParties(ev.Parties);
    c.partiesFrom = 'query';
    return true;
  }
  if (name === 'EventError') return false;

  if (name === 'EventPartyChanged' && ev.PreviousConnID) {
    const old = desk.calls.get(ev.PreviousConnID);
    drop(desk, ev.PreviousConnID);
    const c = callOf(desk, ev.ConnID);
    if (old) {
      c.ani = c.ani || old.ani;
      c.dnis = c.dnis || old.dnis;
    }
    c.state = 'Established';
  }

  const c = callOf(desk, ev.ConnID);
  if (ev.CallType) c.type = ev.CallType;
  if (ev.CallUUID) c.uuid = ev.CallUUID;
  if (ev.ANI) c.ani = ev.ANI;
  if (ev.DNIS) c.dnis = ev.DNIS;

  if (name in MY_STATE) {
    c.state = MY_STATE[name];
    if (ev.OtherDN && name !== 'EventHeld' && name !== 'EventRetrieved')
      c.other = ev.OtherDN;
    if (name === 'EventHeld') c.heldAt = ev.EventSequenceNumber || 0;
    if (name === 'EventDialing' && c.type === 'Consult' && !c.consultOf)
      c.consultOf = mainOf(desk, c);
  }

  switch (name) {
    case 'EventPartyAdded':
      // TCompleteConference takes the requester's held call back without
      // an EventRetrieved (docs/protocol.md): its EventPartyAdded, with
      // itself as the adder, is the sign
      if (ev.ThirdPartyDN === desk.dn && c.state === 'Held')
        c.state = 'Established';
      if (ev.CallState) c.callState = ev.CallState;
      break;
    case 'EventPartyChanged':
    case 'EventPartyDeleted':
      if (ev.CallState) c.callState = ev.CallState;
      if (name === 'EventPartyDeleted' && c.parties &&
          c.partiesFrom === 'query')
        c.parties = c.parties.filter((p) => p.alias !== ev.OtherDN);
      break;
    case 'EventListenDisconnected':
    case 'EventListenReconnected': {
      const off = name === 'EventListenDisconnected';
      if (ev.OtherDN === desk.dn) c.state = off ? 'ListenDisconnected'
        : 'Established';
      if (!off && ev.CallState) c.callState = ev.CallState;
      // without LCTParty snapshots, keep a queried list right
      if (c.parties && c.partiesFrom === 'query') {
        for (const p of c.parties)
          if (p.alias === ev.OtherDN) p.state = off ? DISCONNECTED : '';
      }
      break;
    }
    case 'EventUserEvent': {
      const parties = ev.Extensions && lctParties(ev.Extensions);
      if (parties) {
        c.parties = parties;
        c.partiesFrom = 'LCTParty';
      }
      break;
    }
    default:
      break;
  }
  return true;
}

// EventAddressInfo: the calls the server has for this DN now (after a
// sign-in or a reconnect); calls it no longer has are gone
const ADDRESS_STATE = {
  Dialing: 'Dialing', Ringing: 'Ringing', Established: 'Established',
  Held: 'Held', ListenDisconnected: 'ListenDisconnected',
};

function resync(desk, ev) {
  if (ev.ThisDN !== undefined && ev.ThisDN !== desk.dn) return false;
  const now = new Set();
  for (const info of Array.isArray(ev.Calls) ? ev.Calls : []) {
    if (!info || typeof info.ConnID !== 'string') continue;
    now.add(info.ConnID);
    const c = callOf(desk, info.ConnID);
    c.state = ADDRESS_STATE[info.PartyState] || c.state;
    if (info.CallType) c.type = info.CallType;
  }
  for (const connid of [...desk.calls.keys()])
    if (!now.has(connid)) drop(desk, connid);
  return true;
}

// --- what can be done -------------------------------------------------

const ok = { enabled: true, why: '' };
const no = (why) => ({ enabled: false, why });

function consultOfCall(desk, connid) {
  for (const c of desk.calls.values())
    if (c.consultOf === connid) return c;
  return null;
}

function consulting(desk) {
  for (const c of desk.calls.values())
    if (c.type === 'Consult') return c;
  return null;
}

function numberCheck(desk, call, number) {
  if (!number) return no('type a number in the Number field first');
  if (number === desk.dn) return no(`${number} is your own DN`);
  if (call && call.parties && call.parties.some((p) => p.alias === number))
    return no(`${number} is already in this call`);
  return ok;
}

/**
 * The call's buttons: [{action, label, enabled, why, request}] where
 * request is [name, attributes] of the tlib/1 request it sends.
 */
export function callActions(desk, call, number) {
  const me = { ThisDN: desk.dn, ConnID: call.connid };
  const st = call.state;
  const out = [];
  const add = (action, label, check, name, attrs) =>
    out.push({ action, label, ...check, request: [name, attrs] });
  const connected = st === 'Established';

  add('answer', 'Answer',
    st === 'Ringing' ? ok : no(`the call is not ringing here (${st})`),
    'TAnswerCall', me);
  add('release', 'Release', ok, 'TReleaseCall', me);
  add('hold', 'Hold',
    connected ? ok : st === 'Held' ? no('the call is already on hold')
      : no(`you are not connected (${st})`),
    'THoldCall', me);
  add('retrieve', 'Retrieve',
    st === 'Held' ? ok : no('the call is not on hold'), 'TRetrieveCall', me);

  if (call.type === 'Consult' && call.consultOf) {
    const main = { ...me, ConnID: call.consultOf,
      ConsultConnID: call.connid };
    add('complete', 'Complete conference',
      connected ? ok : no(`${call.other || 'the consulted party'} has ` +
        'not answered yet'),
      'TCompleteConference', main);
    add('reconnect-call', 'Cancel consultation', ok, 'TReconnectCall',
      main);
  } else {
    let init = numberCheck(desk, call, number);
    if (!connected && st !== 'Held')
      init = no(`you are not connected (${st})`);
    else if (consulting(desk))
      init = no('you are already consulting: complete or cancel it first');
    add('initiate', 'Initiate conference', init, 'TInitiateConference',
      { ...me, OtherDN: number });
    const single = connected ? numberCheck(desk, call, number)
      : no(`you are not connected (${st})`);
    add('single-step', 'Single-step conference', single,
      'TSingleStepConference', { ...me, OtherDN: number });
  }
  if (consultOfCall(desk, call.connid))
    for (const a of out)
      if (a.action === 'initiate')
        Object.assign(a, no('a consultation of this call is in progress'));
  return out;
}

/** A party's buttons (delete, disconnect, reconnect), as callActions */
export function partyActions(desk, call, party) {
  const req = { ThisDN: desk.dn, ConnID: call.connid, OtherDN: party.alias };
  const parties = call.parties || [];
  const conference = parties.length >= 3;
  const active = parties.filter((p) => p.state !== DISCONNECTED).length;
  const you = party.alias === desk.dn;
  const out = [];
  const add = (action, label, check, name) =>
    out.push({ action, label, ...check, request: [name, req] });

  const base = you ? no('this is you') : !conference
    ? no('not a conference of three or more') : ok;
  add('delete', 'Delete', you ? no('this is you: use Release') : !conference
    ? no('not a conference: Release ends a call of two') : ok,
  'TDeleteFromConference');

  let off = base;
  if (off.enabled) {
    if (party.state === DISCONNECTED)
      off = no(`${party.alias} is already disconnected`);
    else if (party.state === HELD)
      off = no(`${party.alias} is on hold`);
    else if (active - 1 < 2)
      off = no(`disconnecting ${party.alias} would leave fewer than two ` +
        'active parties');
  }
  add('disconnect', 'Disconnect', off, 'TListenDisconnect');

  let on = base;
  if (on.enabled && party.state !== DISCONNECTED)
    on = no(`${party.alias} is not disconnected`);
  add('reconnect', 'Reconnect', on, 'TListenReconnect');
  return out;
}

/** Make call from the Number field (no call needed) */
export function makeCallAction(desk, number) {
  const check = numberCheck(desk, null, number);
  return { action: 'make', label: 'Make call', ...check,
    request: ['TMakeCall', { ThisDN: desk.dn, OtherDN: number }] };
}
