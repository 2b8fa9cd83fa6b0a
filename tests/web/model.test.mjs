// The desktop's model (web/model.js) under node's own test runner: the
// event sequences sipserver sends (docs/protocol.md, docs/private-
// conversations.md) and which buttons each state enables, with the reason
// a disabled one gives. No browser, no server: the model is pure.
//
//   node --test tests/web/model.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  newDesk, apply, lctParties, callActions, partyActions, makeCallAction,
  DISCONNECTED,
} from '../../web/model.js';

const C1 = '006b06d371002963';
const C2 = '006b06d371002964';
let seq = 0;

function ev(event, attrs) {
  return { event, EventSequenceNumber: ++seq, Time: '2026-11-25T10:00:00Z',
    ...attrs };
}

function lct(dn, connid, parties) {
  const ext = { LCTPartiesLength: parties.length };
  parties.forEach(([alias, state], i) => {
    ext[`LCTParty${i}`] = alias;
    ext[`LCTParty${i}_location`] = 'Home';
    if (state) ext[`LCTParty${i}_state`] = state;
  });
  return ev('EventUserEvent', { ThisDN: dn, ConnID: connid, Extensions: ext });
}

function act(list, action) {
  const a = list.find((x) => x.action === action);
  assert.ok(a, `no action ${action}`);
  return a;
}

function inbound(dn = '1001') {
  const d = newDesk(dn);
  const base = { ThisDN: dn, ConnID: C1, CallType: 'Inbound',
    ANI: '5551234', DNIS: dn, OtherDN: '5551234' };
  apply(d, ev('EventRinging', base));
  apply(d, ev('EventEstablished', base));
  apply(d, lct(dn, C1, [['5551234'], [dn]]));
  return d;
}

// 1001 consults 1002 and completes: the desk's view after each step
function conference() {
  const d = inbound();
  apply(d, ev('EventHeld', { ThisDN: '1001', ConnID: C1 }));
  apply(d, ev('EventDialing', { ThisDN: '1001', ConnID: C2,
    CallType: 'Consult', OtherDN: '1002' }));
  return d;
}

test('an inbound call: state, ConnID, CallType, ANI/DNIS, parties', () => {
  const d = inbound();
  const c = d.calls.get(C1);
  assert.equal(c.state, 'Established');
  assert.equal(c.type, 'Inbound');
  assert.equal(c.ani, '5551234');
  assert.equal(c.dnis, '1001');
  assert.deepEqual(c.parties.map((p) => p.alias), ['5551234', '1001']);
  assert.equal(c.partiesFrom, 'LCTParty');
});

test('events of other DNs change nothing', () => {
  const d = inbound();
  assert.equal(apply(d, ev('EventReleased', { ThisDN: '1002',
    ConnID: C1 })), false);
  assert.equal(d.calls.size, 1);
  assert.equal(apply(d, null), false);
  assert.equal(apply(d, { event: 5 }), false);
});

test('ringing: answer and release only', () => {
  const d = newDesk('1002');
  apply(d, ev('EventRinging', { ThisDN: '1002', ConnID: C1,
    CallType: 'Internal', OtherDN: '1001' }));
  const a = callActions(d, d.calls.get(C1), '');
  assert.equal(act(a, 'answer').enabled, true);
  assert.deepEqual(act(a, 'answer').request,
    ['TAnswerCall', { ThisDN: '1002', ConnID: C1 }]);
  assert.equal(act(a, 'release').enabled, true);
  assert.equal(act(a, 'hold').enabled, false);
  assert.match(act(a, 'hold').why, /not connected \(Ringing\)/);
  assert.equal(act(a, 'retrieve').enabled, false);
  assert.equal(act(a, 'single-step').enabled, false);
});

test('hold and retrieve', () => {
  const d = inbound();
  let a = callActions(d, d.calls.get(C1), '');
  assert.equal(act(a, 'hold').enabled, true);
  assert.equal(act(a, 'retrieve').enabled, false);
  apply(d, ev('EventHeld', { ThisDN: '1001', ConnID: C1 }));
  a = callActions(d, d.calls.get(C1), '');
  assert.equal(act(a, 'hold').enabled, false);
  assert.equal(act(a, 'hold').why, 'the call is already on hold');
  assert.equal(act(a, 'retrieve').enabled, true);
  assert.equal(act(a, 'answer').enabled, false);
  apply(d, ev('EventRetrieved', { ThisDN: '1001', ConnID: C1 }));
  assert.equal(d.calls.get(C1).state, 'Established');
});

test('the number field: needed, not own DN, not a party already', () => {
  const d = inbound();
  const c = d.calls.get(C1);
  assert.match(act(callActions(d, c, ''), 'initiate').why, /Number field/);
  assert.match(act(callActions(d, c, '1001'), 'single-step').why,
    /your own DN/);
  assert.match(act(callActions(d, c, '5551234'), 'initiate').why,
    /already in this call/);
  const ss = act(callActions(d, c, '1003'), 'single-step');
  assert.equal(ss.enabled, true);
  assert.deepEqual(ss.request, ['TSingleStepConference',
    { ThisDN: '1001', ConnID: C1, OtherDN: '1003' }]);
  assert.equal(makeCallAction(d, '').enabled, false);
  assert.deepEqual(makeCallAction(d, '1002').request,
    ['TMakeCall', { ThisDN: '1001', OtherDN: '1002' }]);
});

test('consultation: complete only once answered, cancel any time', () => {
  const d = conference();
  const consult = d.calls.get(C2);
  assert.equal(consult.consultOf, C1);
  let a = callActions(d, consult, '');
  assert.equal(act(a, 'complete').enabled, false);
  assert.match(act(a, 'complete').why, /1002 has not answered yet/);
  assert.equal(act(a, 'reconnect-call').enabled, true);
  assert.deepEqual(act(a, 'reconnect-call').request, ['TReconnectCall',
    { ThisDN: '1001', ConnID: C1, ConsultConnID: C2 }]);
  // no second consultation, from the main call or any other
  const main = act(callActions(d, d.calls.get(C1), '1003'), 'initiate');
  assert.equal(main.enabled, false);
  assert.match(main.why, /consultation/);

  apply(d, ev('EventEstablished', { ThisDN: '1001', ConnID: C2,
    CallType: 'Consult', OtherDN: '1002' }));
  a = callActions(d, d.calls.get(C2), '');
  assert.equal(act(a, 'complete').enabled, true);
  assert.deepEqual(act(a, 'complete').request, ['TCompleteConference',
    { ThisDN: '1001', ConnID: C1, ConsultConnID: C2 }]);
});

test('complete: the consult call goes, the main call is a conference', () => {
  const d = conference();
  apply(d, ev('EventEstablished', { ThisDN: '1001', ConnID: C2,
    CallType: 'Consult' }));
  apply(d, ev('EventReleased', { ThisDN: '1001', ConnID: C2 }));
  apply(d, ev('EventPartyAdded', { ThisDN: '1001', ConnID: C1,
    OtherDN: '1002', ThirdPartyDN: '1001', ThirdPartyDNRole: 'AddedBy',
    CallState: 'Conferenced' }));
  apply(d, lct('1001', C1, [['5551234'], ['1001'], ['1002']]));
  assert.equal(d.calls.size, 1);
  const c = d.calls.get(C1);
  assert.equal(c.callState, 'Conferenced');
  assert.equal(c.state, 'Established', 'no EventRetrieved comes');
  assert.equal(c.parties.length, 3);
  assert.equal(c.ani, '5551234', 'ANI kept from the first events');
});

test('the joining party: EventPartyChanged moves the call', () => {
  const d = newDesk('1002');
  apply(d, ev('EventRinging', { ThisDN: '1002', ConnID: C2,
    CallType: 'Consult', ANI: '1001', DNIS: '1002' }));
  apply(d, ev('EventEstablished', { ThisDN: '1002', ConnID: C2,
    CallType: 'Consult' }));
  apply(d, ev('EventPartyChanged', { ThisDN: '1002', ConnID: C1,
    PreviousConnID: C2, CallState: 'Conferenced', CallType: 'Inbound' }));
  assert.deepEqual([...d.calls.keys()], [C1]);
  const c = d.calls.get(C1);
  assert.equal(c.state, 'Established');
  assert.equal(c.type, 'Inbound');
  assert.equal(c.callState, 'Conferenced');
  assert.equal(c.ani, '1001');
});

function inConference(dn = '1001') {
  const d = inbound(dn);
  apply(d, lct(dn, C1, [['5551234'], ['1001'], ['1002']]));
  return d;
}

test('per party: disconnect, reconnect, delete and why not', () => {
  const d = inConference();
  const c = d.calls.get(C1);
  const [cust, me, other] = c.parties;

  let a = partyActions(d, c, cust);
  assert.equal(act(a, 'disconnect').enabled, true);
  assert.deepEqual(act(a, 'disconnect').request, ['TListenDisconnect',
    { ThisDN: '1001', ConnID: C1, OtherDN: '5551234' }]);
  assert.equal(act(a, 'reconnect').enabled, false);
  assert.equal(act(a, 'reconnect').why, '5551234 is not disconnected');
  assert.equal(act(a, 'delete').enabled, true);

  a = partyActions(d, c, me);
  for (const x of a) assert.equal(x.enabled, false);
  assert.match(act(a, 'delete').why, /you: use Release/);

  assert.equal(act(partyActions(d, c, other), 'disconnect').enabled, true);
});

test('disconnected customer: state shown, only reconnect for it, and no ' +
  'second disconnect that would leave one active party', () => {
  const d = inConference('1002');
  apply(d, ev('EventListenDisconnected', { ThisDN: '1002', ConnID: C1,
    OtherDN: '5551234', ThirdPartyDN: '1001', CallState: 'Held' }));
  apply(d, lct('1002', C1, [['5551234', DISCONNECTED], ['1001'], ['1002']]));
  const c = d.calls.get(C1);
  assert.equal(c.parties[0].state, DISCONNECTED);
  assert.equal(c.state, 'Established', 'not our own state');

  let a = partyActions(d, c, c.parties[0]);
  assert.equal(act(a, 'disconnect').enabled, false);
  assert.equal(act(a, 'disconnect').why, '5551234 is already disconnected');
  assert.equal(act(a, 'reconnect').enabled, true);
  assert.deepEqual(act(a, 'reconnect').request, ['TListenReconnect',
    { ThisDN: '1002', ConnID: C1, OtherDN: '5551234' }]);

  a = partyActions(d, c, c.parties[1]);
  assert.equal(act(a, 'disconnect').enabled, false);
  assert.equal(act(a, 'disconnect').why,
    'disconnecting 1001 would leave fewer than two active parties');

  apply(d, ev('EventListenReconnected', { ThisDN: '1002', ConnID: C1,
    OtherDN: '5551234', CallState: 'Conferenced' }));
  apply(d, lct('1002', C1, [['5551234'], ['1001'], ['1002']]));
  assert.equal(c.parties[0].state, '');
  assert.equal(act(partyActions(d, c, c.parties[1]), 'disconnect').enabled,
    true);
});

test('a party added by someone else leaves our held call held', () => {
  const d = inbound();
  apply(d, ev('EventHeld', { ThisDN: '1001', ConnID: C1 }));
  apply(d, ev('EventPartyAdded', { ThisDN: '1001', ConnID: C1,
    OtherDN: '1003', ThirdPartyDN: '1002', CallState: 'Conferenced' }));
  assert.equal(d.calls.get(C1).state, 'Held');
});

test('a held party cannot be disconnected; two parties: no conference ' +
  'requests', () => {
  const d = inbound();
  apply(d, lct('1001', C1, [['5551234', 'Held'], ['1001'], ['1002']]));
  let c = d.calls.get(C1);
  assert.equal(act(partyActions(d, c, c.parties[0]), 'disconnect').why,
    '5551234 is on hold');
  apply(d, lct('1001', C1, [['5551234'], ['1001']]));
  c = d.calls.get(C1);
  const a = partyActions(d, c, c.parties[0]);
  assert.match(act(a, 'disconnect').why, /not a conference of three/);
  assert.match(act(a, 'delete').why, /not a conference/);
});

test('our own party disconnected by another agent', () => {
  const d = inConference('1002');
  apply(d, ev('EventListenDisconnected', { ThisDN: '1002', ConnID: C1,
    OtherDN: '1002', ThirdPartyDN: '1001', CallState: 'Held' }));
  assert.equal(d.calls.get(C1).state, 'ListenDisconnected');
  apply(d, ev('EventListenReconnected', { ThisDN: '1002', ConnID: C1,
    OtherDN: '1002', CallState: 'Ok',
    Extensions: { ReconnectReason: 'ConferenceReleased' } }));
  assert.equal(d.calls.get(C1).state, 'Established');
  assert.equal(d.calls.get(C1).callState, 'Ok');
});

test('without LCTParty: TQueryCall\'s list, kept right by events', () => {
  const d = newDesk('1001');
  apply(d, ev('EventEstablished', { ThisDN: '1001', ConnID: C1 }));
  apply(d, ev('EventPartyInfo', { ConnID: C1, ThisDN: '1001', Parties: [
    { DN: '5551234', Location: 'Home', PartyState: 'Established' },
    { DN: '1001', Location: 'Home', PartyState: 'Established' },
    { DN: '1002', Location: 'Home', PartyState: 'Held' },
    { DN: '1003', Location: 'Home', PartyState: 'Ringing' }] }));
  const c = d.calls.get(C1);
  assert.deepEqual(c.parties.map((p) => [p.alias, p.state]),
    [['5551234', ''], ['1001', ''], ['1002', 'Held']]);
  apply(d, ev('EventListenDisconnected', { ThisDN: '1001', ConnID: C1,
    OtherDN: '5551234' }));
  assert.equal(c.parties[0].state, DISCONNECTED);
  apply(d, ev('EventPartyDeleted', { ThisDN: '1001', ConnID: C1,
    OtherDN: '1002', CallState: 'Ok' }));
  assert.deepEqual(c.parties.map((p) => p.alias), ['5551234', '1001']);
});

test('EventAddressInfo after a reconnect: calls the server lost go', () => {
  const d = conference();
  apply(d, ev('EventAddressInfo', { ThisDN: '1001', AddressState:
    'Registered', Calls: [{ ConnID: C1, DN: '1001', PartyState: 'Held',
    CallType: 'Inbound' }] }));
  assert.deepEqual([...d.calls.keys()], [C1]);
  assert.equal(d.calls.get(C1).state, 'Held');
  apply(d, ev('EventAddressInfo', { ThisDN: '1001', Calls: [] }));
  assert.equal(d.calls.size, 0);
});

test('released: the call goes, and a consultation loses its main call',
  () => {
    const d = conference();
    apply(d, ev('EventReleased', { ThisDN: '1001', ConnID: C1 }));
    assert.equal(d.calls.get(C2).consultOf, '');
    assert.equal(act(callActions(d, d.calls.get(C2), '1003'), 'initiate')
      .enabled, false);
  });

test('lctParties: a snapshot is read whole, a bad length is no snapshot',
  () => {
    assert.equal(lctParties({}), null);
    assert.equal(lctParties({ LCTPartiesLength: 'x' }), null);
    assert.deepEqual(lctParties({ LCTPartiesLength: 1, LCTParty0: 'a' }),
      [{ alias: 'a', location: '', state: '' }]);
  });
