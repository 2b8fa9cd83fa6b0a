/**
 * @file event.c  CTI events and leg commands out of the model
 *
 * Events go to Extension parties only: they are what an agent's desktop
 * registered for. ThisDN is always the receiving DN.
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

void call_event_emit(const struct party *to, enum call_event_type type,
		     const struct party *other, uint16_t cause)
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
	ev.other_dn = other ? other->name : NULL;
	ev.other_role = other ? other->role : NULL;
	ev.ani = to->call->ani;
	ev.dnis = to->call->dnis;
	ev.cause = cause;

	m->env.event(&ev, m->env.arg);
}

void call_leg_emit(struct call_model *m, const struct call_leg_cmd *cmd)
{
	m->env.leg(cmd, m->env.arg);
}
