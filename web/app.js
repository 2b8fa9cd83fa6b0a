// app.js: the desktop page: sign-in, the session, the model and the view.
//
// One Session (tlib.js) per sign-in; every event goes to the log, to the
// model (model.js) and, when it changed the calls, to a redraw (ui.js).
// Clicks are read from data-action buttons: the request they send is the
// one the model attached to them, so what is shown and what is sent cannot
// drift apart.

import { Session, wsUrl } from './tlib.js';
import { newDesk, apply, callActions, partyActions, makeCallAction }
  from './model.js';
import { renderCalls, renderMakeCall, logEvent } from './ui.js';

const $ = (id) => document.getElementById(id);
let session = null;
let desk = null;

function linkUp() {
  return session && session.state === 'up';
}

function redraw() {
  if (!desk) return;
  const number = $('number').value.trim();
  renderCalls($('calls'), desk, number, linkUp());
  renderMakeCall($('make'), desk, number, linkUp());
}

const LINK_TEXT = {
  connecting: 'connecting', 'signing-in': 'signing in', up: 'linked',
  down: 'link down', refused: 'refused', closed: 'signed out',
};

function onLink(state, detail) {
  const l = $('link');
  l.className = `link link-${state}`;
  l.dataset.state = state;
  l.textContent = LINK_TEXT[state] + (detail ? ` (${detail})` : '');
  redraw();
}

function notice(text) {
  $('notice').textContent = text;
}

function showSignin(message) {
  $('desk').hidden = true;
  $('signout').hidden = true;
  $('signin').hidden = false;
  $('who').textContent = '';
  $('signin-error').textContent = message || '';
  $('signin-button').disabled = false;
}

function signIn(dn, password) {
  if (session) session.stop();
  desk = newDesk(dn);
  $('events').replaceChildren();
  notice('');
  $('signin-error').textContent = '';
  $('signin-button').disabled = true;
  session = new Session({
    url: wsUrl(window.location), dn, password, app: `desktop-${dn}`,
    onLink,
    onEvent(ev) {
      logEvent($('events'), ev);
      if (ev.event === 'EventRegistered' && ev.ThisDN === dn) {
        $('signin').hidden = true;
        $('desk').hidden = false;
        $('signout').hidden = false;
        $('who').textContent = `DN ${dn}`;
        localStorage.setItem('sipserver.dn', dn);
      }
      if (apply(desk, ev)) redraw();
    },
    onRefused(ev, req) {
      showSignin(`${req || 'sign-in'} refused: ${ev.ErrorMessage} ` +
        `(ErrorCode ${ev.ErrorCode})`);
    },
    onError(ev, req) {
      notice(`${req || 'request'} refused: ${ev.ErrorMessage} ` +
        `(ErrorCode ${ev.ErrorCode})`);
    },
  });
  session.start();
}

// The request a button stands for, found again from the model
function actionOf(btn) {
  const action = btn.dataset.action;
  const number = $('number').value.trim();
  if (action === 'make') return makeCallAction(desk, number);
  const card = btn.closest('[data-connid]');
  const call = card && desk.calls.get(card.dataset.connid);
  if (!call) return null;
  const list = btn.dataset.party !== undefined
    ? partyActions(desk, call, (call.parties || [])
      .find((p) => p.alias === btn.dataset.party) || {})
    : callActions(desk, call, number);
  return list.find((a) => a.action === action) || null;
}

function onClick(e) {
  const btn = e.target.closest('button[data-action]');
  if (!btn || !session || !desk) return;
  const a = actionOf(btn);
  if (!a || !a.enabled) return;
  notice('');
  if (!session.send(...a.request)) notice('the link to the server is down');
}

window.addEventListener('DOMContentLoaded', () => {
  $('dn').value = localStorage.getItem('sipserver.dn') || '';
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const dn = $('dn').value.trim();
    if (dn) signIn(dn, $('password').value);
  });
  $('signout').addEventListener('click', () => {
    if (session) session.stop();
    session = null;
    desk = null;
    $('calls').replaceChildren();
    showSignin('');
  });
  $('number').addEventListener('input', redraw);
  $('desk').addEventListener('click', onClick);
});
