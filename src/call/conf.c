/**
 * @file conf.c  Conferences: consultation, completion, single-step,
 * deletion, and a party leaving a conference
 *
 * A consultation does not ask the initiator's phone for a second line:
 * media is anchored here, so the initiator's one dialog simply carries
 * the consult call while the main call is held. In the model that is a
 * second party of the same DN in the consult call which "rides" the main
 * party's leg (party->rides / party->rider): it speaks for the leg (media,
 * the phone's hold and hang-up) until the consultation ends, and has no
 * dialog of its own, so it gets no leg commands. Completing moves the
 * consult call's other parties into the main call; their legs follow
 * (the media engine moves them between mixes). Event sequences are those
 * of call-model.md (Conferences) and are pinned by tests/unit/test_call.c.
 */
#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

static const char ROLE_ORIG[] = "Origination";
static const char ROLE_DEST[] = "Destination";
static const char ROLE_MEMBER[] = "ConferenceMember";
static const char ROLE_NEW[] = "NewParty";
static const char ROLE_ADDED_BY[] = "AddedBy";
static const char ROLE_CONF_BY[] = "ConferencedBy";
static const char ROLE_DELETED[] = "DeletedParty";
static const char ROLE_DELETED_BY[] = "DeletedBy";


/* From three joined parties on, everyone is a ConferenceMember */
static void roles_update(struct call *call)
{
	if (call_count(call, true) < 3)
		return;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *p = le->data;

		p->role = ROLE_MEMBER;
	}
}

static struct party *party_named(const struct call *call, const char *name)
{
	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *p = le->data;

		if (!p->external && p->state != PARTY_RELEASED &&
		    0 == strcmp(p->name, name))
			return p;
	}

	return NULL;
}

/* q joined: it hears of it (joined), the others get EventPartyAdded */
static void joined_emit(struct party *q, const char *by, uint64_t prev)
{
	const char *state = call_state_of(q->call);
	struct call_ev_more x = {.other_dn = by,
				 .other_role = ROLE_CONF_BY,
				 .third_dn = by,
				 .third_role = ROLE_ADDED_BY,
				 .call_state = state,
				 .prev_connid = prev};

	call_event_emit_more(
		q, prev ? CALL_EV_PARTY_CHANGED : CALL_EV_ESTABLISHED, &x);

	x = (struct call_ev_more){.other_dn = q->alias,
				  .other_role = ROLE_NEW,
				  .third_dn = by,
				  .third_role = ROLE_ADDED_BY,
				  .call_state = state};
	for (struct le *le = q->call->partyl.head; le; le = le->next) {
		const struct party *r = le->data;

		if (r != q && party_joined(r))
			call_event_emit_more(r, CALL_EV_PARTY_ADDED, &x);
	}
}

/** A single-step invitee rings: only it hears of it */
int call_invitee_rings(struct party *b)
{
	struct call_ev_more x = {.other_dn = b->inviter,
				 .other_role = ROLE_CONF_BY};

	if (!b->rang) {
		b->rang = true;
		call_event_emit_more(b, CALL_EV_RINGING, &x);
	}

	return 0;
}

/** A single-step invitee answered: it joins the call */
int call_invitee_joins(struct party *b)
{
	struct call *call = b->call;

	b->state = PARTY_ESTABLISHED;
	b->invited = false;
	party_move(b, call); /* last in join order */
	roles_update(call);
	joined_emit(b, b->inviter, 0);
	call_media_update(call);
	call_parties_emit(call);
	return 0;
}

/**
 * A party leaves a call of three or more; the others get
 * EventPartyDeleted, and when one is left the call ends
 *
 * @param by Who caused it (ThirdPartyDN); NULL: the party itself
 */
void call_conference_leave(struct party *p, const char *by)
{
	struct call *call = p->call;
	char *alias = mem_ref(p->alias);
	struct call_ev_more x = {.third_dn = by,
				 .third_role = by ? ROLE_DELETED_BY : NULL};

	call_event_emit_more(p, CALL_EV_RELEASED, &x);
	p->state = PARTY_RELEASED;

	x = (struct call_ev_more){.other_dn = alias,
				  .other_role = ROLE_DELETED,
				  .third_dn = by ? by : alias,
				  .third_role = ROLE_DELETED_BY,
				  .call_state = call_state_of(call)};
	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *r = le->data;

		if (r != p && party_joined(r))
			call_event_emit_more(r, CALL_EV_PARTY_DELETED, &x);
	}
	mem_deref(alias);
	call_party_gone(p);

	if (call_count(call, true) > 1) {
		if (call_listen_collapse(call))
			return; /* released */
		call_media_update(call);
		call_parties_emit(call);
		return;
	}

	for (struct le *le = call->partyl.head; le; le = le->next)
		call_leg(call->m, CALL_LEG_HANGUP, le->data, 0, false);
	call_release(call, NULL, 0);
}

static int consult_create(struct call_model *m, struct party *a,
			  const struct call_endpoint *b, struct call **c2p)
{
	const struct call_endpoint ea = {a->name,     a->external, a->trunk,
					 a->location, a->moh,	   a->site};
	struct call *c2 = call_create(m, CALL_CONSULT);
	struct party *ra, *pb;

	if (!c2)
		return ENOMEM;

	ra = party_create(c2, &ea, PARTY_DIALING, ROLE_ORIG);
	pb = ra ? party_create(c2, b, PARTY_RINGING, ROLE_DEST) : NULL;
	if (!pb || str_dup(&c2->ani, a->name) || str_dup(&c2->dnis, b->name)) {
		mem_deref(c2);
		return ENOMEM;
	}

	ra->make = ra->picked_up = true; /* its phone is already up */
	ra->rides = a;
	ra->leg = a->leg;
	a->rider = ra;
	c2->main = a->call;
	a->call->consult = c2;
	*c2p = c2;
	return 0;
}

/**
 * TInitiateConference: the main call is held for A, and a consult call
 * rings B. A's phone keeps its one dialog, now carrying the consult call.
 *
 * @return 0 (consultp = the consult call's ConnID), ENOENT, EPROTO (A is
 *         not connected, or already consulting), EINVAL (B is already
 *         in the call), ENOMEM; why says which
 */
int call_initiate_conference(struct call_model *m, uint32_t party,
			     const struct call_endpoint *b, uint64_t *consultp,
			     char *why, size_t sz)
{
	struct party *a = party_find(m, party);
	struct call *c1, *c2;
	int err;

	if (!a || !b || !b->name)
		return ENOENT;
	c1 = a->call;
	if (a->rides || a->rider || c1->consult || c1->main)
		return call_refuse(EPROTO, why, sz,
				   "DN %s is already in a consultation",
				   a->name);
	if (a->state != PARTY_ESTABLISHED && a->state != PARTY_HELD)
		return call_refuse(EPROTO, why, sz,
				   "DN %s is not connected in call %016llx",
				   a->name, (unsigned long long)c1->connid);
	if (!b->external && party_named(c1, b->name))
		return call_refuse(
			EINVAL, why, sz,
			"OtherDN %s is already a party of call %016llx",
			b->name, (unsigned long long)c1->connid);

	err = consult_create(m, a, b, &c2);
	if (err)
		return err;

	if (a->state == PARTY_ESTABLISHED) {
		a->state = PARTY_HELD;
		if (m->default_music)
			(void)str_dup(&a->music, m->default_music);
		call_event_emit(a, CALL_EV_HELD, party_other(a), 0);
	}

	call_alert(m, list_ledata(c2->partyl.tail), a->rider);
	call_event_emit(a->rider, CALL_EV_DIALING, list_ledata(c2->partyl.tail),
			0);
	call_media_update(c1);
	call_media_update(c2);
	call_parties_emit(c1);
	if (consultp)
		*consultp = c2->connid;
	return 0;
}

/* A's party and the consult call of its main call, checked to be the
 * one named */
static int consult_of(struct call_model *m, uint32_t party, uint64_t consult,
		      struct party **ap, struct call **c2p, char *why,
		      size_t sz)
{
	struct party *a = party_find(m, party);
	struct call *c2 = (struct call *)call_find(m, consult);

	if (!a)
		return ENOENT;
	if (!c2)
		return call_refuse(ENOENT, why, sz,
				   "ConsultConnID %016llx is not a call",
				   (unsigned long long)consult);
	if (!a->rider || a->rider->call != c2)
		return call_refuse(
			EPROTO, why, sz,
			"call %016llx is not a consultation of DN %s in "
			"call %016llx",
			(unsigned long long)consult, a->name,
			(unsigned long long)a->call->connid);

	*ap = a;
	*c2p = c2;
	return 0;
}

/**
 * TCompleteConference: the consult call's other parties join the main
 * call (keeping its ConnID) and the consult call is released
 */
int call_complete_conference(struct call_model *m, uint32_t party,
			     uint64_t consult, char *why, size_t sz)
{
	struct party *a, *ra;
	struct call *c1, *c2;
	struct le *le;
	int err;

	err = consult_of(m, party, consult, &a, &c2, why, sz);
	if (err)
		return err;
	c1 = a->call;
	ra = a->rider;
	for (le = c2->partyl.head; le; le = le->next) {
		const struct party *q = le->data;

		if (q != ra && !party_joined(q))
			return call_refuse(
				EPROTO, why, sz,
				"%s has not answered the consultation yet",
				q->alias);
	}
	if (call_count(c1, false) + call_count(c2, false) - 1 >
	    CALL_MAX_PARTIES)
		return call_refuse(ENOSPC, why, sz,
				   "a conference has at most %u parties",
				   CALL_MAX_PARTIES);

	call_event_emit(ra, CALL_EV_RELEASED, NULL, 0);
	a->state = PARTY_ESTABLISHED;
	a->music = mem_deref(a->music);
	call_party_gone(ra);

	while ((le = c2->partyl.head)) {
		struct party *q = le->data;

		party_move(q, c1);
		roles_update(c1);
		joined_emit(q, a->alias, consult);
	}
	mem_deref(c2);

	call_media_update(c1);
	call_parties_emit(c1);
	return 0;
}

/** TReconnectCall: the consult call is released, the main call retrieved */
int call_reconnect(struct call_model *m, uint32_t party, uint64_t consult,
		   char *why, size_t sz)
{
	struct party *a;
	struct call *c2;
	int err;

	err = consult_of(m, party, consult, &a, &c2, why, sz);
	if (err)
		return err;

	for (struct le *le = c2->partyl.head; le; le = le->next)
		call_leg(m, CALL_LEG_HANGUP, le->data, 0, false);
	call_release(c2, a->rider, 0);

	if (a->state == PARTY_HELD)
		(void)call_party_hold(m, a->id, false, NULL);
	return 0;
}

/** TSingleStepConference: B is invited straight into A's call */
int call_single_step(struct call_model *m, uint32_t party,
		     const struct call_endpoint *b, char *why, size_t sz)
{
	struct party *a = party_find(m, party), *pb;
	struct call *call;

	if (!a || !b || !b->name)
		return ENOENT;
	call = a->call;
	if (a->state != PARTY_ESTABLISHED || call_count(call, true) < 2)
		return call_refuse(EPROTO, why, sz,
				   "DN %s is not connected in call %016llx",
				   a->name, (unsigned long long)call->connid);
	if (!b->external && party_named(call, b->name))
		return call_refuse(
			EINVAL, why, sz,
			"OtherDN %s is already a party of call %016llx",
			b->name, (unsigned long long)call->connid);
	if (call_count(call, false) >= CALL_MAX_PARTIES)
		return call_refuse(ENOSPC, why, sz,
				   "a conference has at most %u parties",
				   CALL_MAX_PARTIES);

	pb = party_create(call, b, PARTY_RINGING, ROLE_NEW);
	if (!pb || str_dup(&pb->inviter, a->alias)) {
		mem_deref(pb);
		return ENOMEM;
	}
	pb->invited = true;

	call_alert(m, pb, a);
	call_media_update(call);
	return 0;
}

/** TDeleteFromConference: X is released from the conference by A */
int call_delete_party(struct call_model *m, uint32_t party, const char *alias,
		      char *why, size_t sz)
{
	struct party *a = party_find(m, party), *x;
	struct call *call;

	if (!a || !alias)
		return ENOENT;
	call = a->call;
	x = party_by_alias(call, alias);
	if (!x)
		return call_refuse(EINVAL, why, sz,
				   "OtherDN %s is not a party of call %016llx",
				   alias, (unsigned long long)call->connid);
	if (x == a)
		return call_refuse(EINVAL, why, sz,
				   "OtherDN %s is ThisDN: use TReleaseCall",
				   alias);
	if (call_count(call, false) < 3)
		return call_refuse(EPROTO, why, sz,
				   "call %016llx is not a conference",
				   (unsigned long long)call->connid);

	if (!x->rider)
		call_leg(m, CALL_LEG_HANGUP, x, 0, false);
	if (x->invited)
		call_invitee_failed(x, 487);
	else
		call_conference_leave(x, a->alias);
	return 0;
}
