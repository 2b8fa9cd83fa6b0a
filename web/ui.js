// ui.js: the desk drawn from the model, and the event log.
//
// Everything shown from the server goes through textContent, never HTML:
// an ANI or a party alias comes from a SIP From header that anyone can
// write. Buttons carry data-action (and data-party) so that the app has one
// click handler and the browser test finds them by what they do.

import { callActions, partyActions, makeCallAction } from './model.js';

export const LOG_MAX = 200;

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

function button(a, extra = {}) {
  return el('button', {
    type: 'button', text: a.label, disabled: !a.enabled,
    title: a.enabled ? `${a.request[0]}` : a.why,
    'data-action': a.action, class: `act act-${a.action}`, ...extra,
  });
}

function field(label, value, cls) {
  if (!value) return null;
  return el('span', { class: `field ${cls || ''}` },
    el('span', { class: 'label', text: label }),
    el('span', { class: 'value', text: value }));
}

function partyRow(desk, call, p) {
  const you = p.alias === desk.dn;
  const actions = partyActions(desk, call, p);
  return el('tr', { 'data-alias': p.alias, class: you ? 'you' : '' },
    el('td', { class: 'alias' }, el('span', { text: p.alias }),
      you ? el('span', { class: 'badge', text: 'you' }) : null),
    el('td', { class: 'location', text: p.location }),
    el('td', { class: `pstate ${p.state ? 'flag' : ''}`,
      text: p.state || 'Connected' }),
    el('td', { class: 'buttons' },
      ...actions.map((a) => button(a, { 'data-party': p.alias }))));
}

function callCard(desk, call, number) {
  const parties = call.parties
    ? el('table', { class: 'parties' },
      el('thead', {}, el('tr', {},
        el('th', { text: 'Party' }), el('th', { text: 'Location' }),
        el('th', { text: 'State' }), el('th', { text: '' }))),
      el('tbody', {}, ...call.parties.map((p) => partyRow(desk, call, p))))
    : el('p', { class: 'muted', text: 'parties: not reported yet' });
  return el('article', { class: `call state-${call.state}`,
    'data-connid': call.connid },
  el('header', {},
    el('span', { class: 'mystate', text: call.state || '?' }),
    field('ConnID', call.connid, 'connid'),
    field('CallType', call.type),
    field('ANI', call.ani),
    field('DNIS', call.dnis),
    field('CallState', call.callState),
    call.consultOf ? field('consults', call.consultOf) : null),
  el('div', { class: 'buttons' },
    ...callActions(desk, call, number).map((a) => button(a))),
  parties);
}

/** Redraws the calls (cheap: an agent has a handful) */
export function renderCalls(root, desk, number, linkUp) {
  const calls = [...desk.calls.values()];
  const cards = calls.map((c) => callCard(desk, c, number));
  if (!cards.length) cards.push(el('p', { class: 'muted', text: 'no calls' }));
  root.replaceChildren(...cards);
  if (!linkUp) {
    for (const b of root.querySelectorAll('button')) {
      b.disabled = true;
      b.title = 'the link to the server is down';
    }
  }
}

export function renderMakeCall(btn, desk, number, linkUp) {
  const a = makeCallAction(desk, number);
  btn.disabled = !linkUp || !a.enabled;
  btn.title = !linkUp ? 'the link to the server is down'
    : a.enabled ? 'TMakeCall' : a.why;
}

function hhmmss(t) {
  const m = /T(\d\d:\d\d:\d\d\.\d+)/.exec(t || '');
  return m ? m[1] : '';
}

/** One event on top of the log, the oldest beyond LOG_MAX dropped */
export function logEvent(list, ev) {
  const what = [ev.ThisDN, ev.OtherDN && `Other ${ev.OtherDN}`,
    ev.ConnID, ev.ErrorCode && `${ev.ErrorCode} ${ev.ErrorMessage}`]
    .filter(Boolean).join(' · ');
  const cls = ev.event === 'EventError' ? 'ev-error' : '';
  const item = el('li', { class: cls },
    el('details', {},
      el('summary', {},
        el('span', { class: 'time', text: hhmmss(ev.Time) }),
        el('span', { class: 'name', text: ev.event }),
        el('span', { class: 'what', text: what })),
      el('pre', { text: JSON.stringify(ev, null, 2) })));
  list.prepend(item);
  while (list.children.length > LOG_MAX) list.lastElementChild.remove();
}
