/**
 * @file event.c  CTI events and leg commands out of the model
 *
 * Events go to Extension parties only: they are what an agent's desktop
 * registered for. call_refuse is here too: the refusals' sentences go out
 * to the requester like an event's text. ThisDN is always the receiving DN. Leg commands name
 * the party's leg; a consult party riding the initiator's leg (see
 * conf.c) has no dialog of its own and gets none.
 */
#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

void call_event_emit_more(const struct party *to, enum call_event_type type,
			  const struct call_ev_more *x)
{
	struct call_model *m = to->m;
	struct call_event ev;

	if (to->external)
		return;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.call = to->call;
	ev.this_dn = to->name;
	ev.this_role = to->role;
	ev.other_dn = x->other_dn;
	ev.other_role = x->other_role;
	ev.third_dn = x->third_dn;
	ev.third_role = x->third_role;
	ev.call_state = x->call_state;
	ev.prev_connid = x->prev_connid;
	ev.reason = x->reason;
	ev.ani = to->call->ani;
	ev.dnis = to->call->dnis;
	ev.cause = x->cause;
	ev.err = x->err;
	ev.why = x->why;

	m->env.event(&ev, m->env.arg);
}

void call_event_emit(const struct party *to, enum call_event_type type,
		     const struct party *other, uint16_t cause)
{
	struct call_ev_more x = {
		.other_dn = other ? other->alias : NULL,
		.other_role = other ? other->role : NULL,
		.cause = cause,
	};

	call_event_emit_more(to, type, &x);
}

/** The LCTParty snapshot, to every Extension party that has joined;
 * the sites behind inter-site trunk parties hear of it too */
void call_parties_emit(struct call *call)
{
	const struct call_ev_more x = {0};

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (party_joined(p))
			call_event_emit_more(p, CALL_EV_PARTIES, &x);
	}

	call_sites_tell(call);
}

/** A refused input: err, with why in a sentence for the requester */
int call_refuse(int err, char *why, size_t sz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(why, sz, fmt, ap);
	va_end(ap);
	return err;
}

void call_leg_emit(struct call_model *m, const struct call_leg_cmd *cmd)
{
	m->env.leg(cmd, m->env.arg);
}

void call_leg(struct call_model *m, enum call_leg_op op, const struct party *p,
	      uint16_t scode, bool early)
{
	struct call_leg_cmd cmd;

	/* a rider has no dialog; a ridden party's dialog lives on */
	if (p->rides || (op == CALL_LEG_HANGUP && p->rider))
		return;

	memset(&cmd, 0, sizeof(cmd));
	cmd.op = op;
	cmd.party = p->leg;
	cmd.scode = scode;
	cmd.early_media = early;
	call_leg_emit(m, &cmd);
}

void call_alert(struct call_model *m, const struct party *p,
		const struct party *from)
{
	struct call_leg_cmd cmd;

	if (p->rides)
		return;

	memset(&cmd, 0, sizeof(cmd));
	cmd.op = CALL_LEG_ALERT;
	cmd.auto_answer = p->make;
	cmd.party = p->leg;
	cmd.target = p->name;
	cmd.external = p->external;
	cmd.trunk = p->trunk;
	cmd.site = p->site;
	cmd.from = from->name;
	call_leg_emit(m, &cmd);
}

/** The T-Library name of an event type ("EventDialing", ...) */
const char *call_event_name(enum call_event_type type)
{
	static const char *const names[] = {"EventDialing",
					    "EventRinging",
					    "EventEstablished",
					    "EventReleased",
					    "EventHeld",
					    "EventRetrieved",
					    "EventPartyAdded",
					    "EventPartyChanged",
					    "EventPartyDeleted",
					    "EventUserEvent",
					    "EventError",
					    "EventListenDisconnected",
					    "EventListenReconnected",
					    "EventError"};

	return type < ARRAY_SIZE(names) ? names[type] : "?";
}
