/**
 * @file census.c  How many calls, conferences and parties there are now
 *
 * For the operator's pages (/status, /metrics): a read-only walk over the
 * model, with its own definitions: a conference is a call of three or
 * more joined parties (the CallState Conferenced of its events), and a
 * party is counted in each call it is in (an agent consulting is in the
 * main call and in the consult call, as LCTParty shows it).
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"
#include "call/census.h"

static bool call_census_h(struct le *le, void *arg)
{
	const struct call *call = le->data;
	struct call_census *c = arg;

	++c->calls;
	if ((unsigned)call->type < CALL_TYPES)
		++c->types[call->type];
	if (call_count(call, true) >= 3)
		++c->conferences;

	for (struct le *pl = call->partyl.head; pl; pl = pl->next) {
		const struct party *p = pl->data;

		if (p->state < PARTY_RELEASED)
			++c->parties[p->state];
		c->remote += p->nremote;
	}

	return false;
}

void call_model_census(const struct call_model *m, struct call_census *c)
{
	if (!c)
		return;

	memset(c, 0, sizeof(*c));
	if (m)
		(void)hash_apply(m->calls, call_census_h, c);
}
