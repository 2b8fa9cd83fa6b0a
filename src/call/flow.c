/**
 * @file flow.c  A basic call's life: originate, alert, answer, fail, hang
 * up, hold
 *
 * Each input checks that it fits the party's state before changing
 * anything (EPROTO otherwise), then changes the state, then emits leg
 * commands, events and media changes in that order: the SIP shell acts
 * first, the CTI events follow, and the media follows the new states.
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

static const char ROLE_ORIG[] = "Origination";
static const char ROLE_DEST[] = "Destination";

/**
 * A party calls another: the caller's dialog exists, the callee's is to
 * be started (CALL_LEG_ALERT)
 */
int call_originate(struct call_model *m, uint32_t *callerp, uint32_t *calleep,
		   const struct call_endpoint *caller,
		   const struct call_endpoint *callee, enum call_type type)
{
	struct party *a, *b;
	struct call *call;

	if (!m || !caller || !callee || !caller->name || !callee->name)
		return EINVAL;

	call = call_create(m, type);
	if (!call)
		return ENOMEM;

	a = party_create(call, caller, PARTY_DIALING, ROLE_ORIG);
	b = a ? party_create(call, callee, PARTY_RINGING, ROLE_DEST) : NULL;
	if (!b || str_dup(&call->ani, caller->name) ||
	    str_dup(&call->dnis, callee->name)) {
		mem_deref(call);
		return ENOMEM;
	}

	if (callerp)
		*callerp = a->id;
	if (calleep)
		*calleep = b->id;

	call_alert(m, b, a);
	call_event_emit(a, CALL_EV_DIALING, b, 0);

	call_media_update(call);

	return 0;
}

/**
 * TMakeCall (third-party call control, RFC 3725): sipserver first calls
 * a's phone, asking it to answer by itself; when it has, b is alerted.
 * a is Dialing (EventDialing at once) until b answers.
 */
int call_make(struct call_model *m, uint32_t *ap, uint32_t *bp,
	      const struct call_endpoint *a, const struct call_endpoint *b)
{
	struct party *pa, *pb;
	struct call *call;

	if (!m || !a || !b || !a->name || !b->name)
		return EINVAL;

	call = call_create(m, b->external ? CALL_OUTBOUND : CALL_INTERNAL);
	if (!call)
		return ENOMEM;

	pa = party_create(call, a, PARTY_DIALING, ROLE_ORIG);
	pb = pa ? party_create(call, b, PARTY_RINGING, ROLE_DEST) : NULL;
	if (!pb || str_dup(&call->ani, a->name) ||
	    str_dup(&call->dnis, b->name)) {
		mem_deref(call);
		return ENOMEM;
	}
	pa->make = true;

	if (ap)
		*ap = pa->id;
	if (bp)
		*bp = pb->id;

	call_alert(m, pa, pb);
	call_event_emit(pa, CALL_EV_DIALING, pb, 0);
	call_media_update(call);
	return 0;
}

/* TMakeCall: the first phone answered, now the other is called */
static int picked_up(struct call_model *m, struct party *a)
{
	struct party *b = party_other(a);

	a->picked_up = true;
	if (b)
		call_alert(m, b, a);
	return 0;
}

/** The callee rings (180) or sends early media (183 with SDP) */
int call_party_progress(struct call_model *m, uint32_t party, bool early_media)
{
	struct party *b = party_of_leg(m, party);
	struct party *a;

	if (!b)
		return ENOENT;
	if (b->state != PARTY_RINGING)
		return EPROTO;
	if (b->invited)
		return call_invitee_rings(b);

	a = party_other(b);
	if (a && a->state == PARTY_DIALING && !a->make)
		call_leg(m, CALL_LEG_PROGRESS, a, early_media ? 183 : 180,
			 early_media);

	if (!b->rang) {
		b->rang = true;
		call_event_emit(b, CALL_EV_RINGING, a, 0);
	}

	if (early_media && !b->call->early_media) {
		b->call->early_media = true;
		call_media_update(b->call);
	}

	return 0;
}

/** The callee answered (200): the caller is answered too */
int call_party_answered(struct call_model *m, uint32_t party)
{
	struct party *b = party_of_leg(m, party);
	struct party *a;

	if (!b)
		return ENOENT;
	if (b->make && b->state == PARTY_DIALING && !b->picked_up)
		return picked_up(m, b);
	if (b->state != PARTY_RINGING)
		return EPROTO;
	if (b->invited)
		return call_invitee_joins(b);

	a = party_other(b);
	b->state = PARTY_ESTABLISHED;
	b->call->early_media = false;
	if (a && a->state == PARTY_DIALING) {
		a->state = PARTY_ESTABLISHED;
		if (!a->make)
			call_leg(m, CALL_LEG_ANSWER, a, 200, false);
	}

	call_event_emit(b, CALL_EV_ESTABLISHED, a, 0);
	if (a)
		call_event_emit(a, CALL_EV_ESTABLISHED, b, 0);
	call_media_update(b->call);
	call_parties_emit(b->call);

	return 0;
}

/* A party is gone from the model: its leg's media goes with it, unless
 * the leg lives on with the party that rides it, or the one it rode */
void call_party_gone(struct party *p)
{
	struct party *base = p->rides, *rider = p->rider;
	struct call_model *m = p->m;
	uint32_t id = p->id;

	call_site_gone(p);
	if (!base && !rider)
		call_media_remove(p);

	p->state = PARTY_RELEASED;
	mem_deref(p); /* unlinks rider and base */

	/* the consult party keeps the leg, and the id its phone reports */
	if (rider) {
		hash_unlink(&rider->he);
		rider->id = id;
		hash_append(m->parties, id, &rider->he, rider);
	}
	if (base) {
		base->media_sent = false; /* it has the leg back */
		call_media_update(base->call);
	}
}

/* Every party of the call gets EventReleased, the one who ended it first
 * (a callee never alerted gets none); then the call goes */
void call_release(struct call *call, const struct party *first, uint16_t cause)
{
	struct le *le;

	if (first)
		call_event_emit(first, CALL_EV_RELEASED, party_other(first),
				cause);

	for (le = call->partyl.head; le; le = le->next) {
		struct party *p = le->data;

		if (p == first || p->state == PARTY_RELEASED)
			continue;
		if (p->state == PARTY_RINGING && !p->rang)
			continue;
		call_event_emit(p, CALL_EV_RELEASED, party_other(p), cause);
	}

	while ((le = call->partyl.head))
		call_party_gone(le->data);

	mem_deref(call);
}

/* A single-step invitee that failed: it never joined, nobody else saw it */
void call_invitee_failed(struct party *b, uint16_t scode)
{
	struct party *by =
		b->inviter ? party_by_alias(b->call, b->inviter) : NULL;
	struct call_ev_more x = {.other_dn = b->alias, .cause = scode};

	if (b->rang)
		call_event_emit(b, CALL_EV_RELEASED, by, scode);
	if (by)
		call_event_emit_more(by, CALL_EV_ADD_FAILED, &x);
	call_party_gone(b);
}

/** The callee's dialog failed before answer (4xx-6xx, or no answer) */
int call_party_failed(struct call_model *m, uint32_t party, uint16_t scode)
{
	struct party *b = party_of_leg(m, party);
	struct party *a;

	if (!b)
		return ENOENT;

	/* TMakeCall: the first phone did not answer: the call ends there */
	if (b->make && b->state == PARTY_DIALING && !b->picked_up) {
		call_release(b->call, b, scode);
		return 0;
	}
	if (b->state != PARTY_RINGING)
		return EPROTO;
	if (b->invited) {
		call_invitee_failed(b, scode);
		return 0;
	}

	a = party_other(b);
	if (a && a->state == PARTY_DIALING)
		call_leg(m, a->make ? CALL_LEG_HANGUP : CALL_LEG_REJECT, a,
			 scode, false);

	call_release(b->call, a, scode);
	return 0;
}

/**
 * A party leaves its call (its phone hung up, or it was released).
 * In a call of two, the call ends; in a conference, the others get
 * EventPartyDeleted and the call goes on, or ends when one is left.
 *
 * @param by Who caused it (ThirdPartyDN); NULL: the party itself
 */
void call_leave(struct party *p, const char *by)
{
	struct call *call = p->call;

	if (call_count(call, false) <= 2) {
		struct party *other = party_other(p);

		if (other)
			call_leg(p->m, CALL_LEG_HANGUP, other, 0, false);
		call_release(call, p, 0);
		return;
	}

	call_conference_leave(p, by);
}

/** A party's dialog ended from its side (BYE, CANCEL, timeout) */
int call_party_hangup(struct call_model *m, uint32_t party)
{
	struct party *p = party_find(m, party);

	if (!p)
		return ENOENT;
	if (p->state == PARTY_RELEASED)
		return EPROTO;

	/* its phone is gone: the consult call it was in goes on without it */
	if (p->rider)
		call_leave(p->rider, NULL);

	call_leave(p, NULL);
	return 0;
}

/**
 * TReleaseCall: the party leaves this call. Its phone is hung up unless
 * the leg lives on in the other call of a consultation.
 */
int call_party_release(struct call_model *m, uint32_t party)
{
	struct party *p = party_find(m, party);

	if (!p)
		return ENOENT;
	if (p->state == PARTY_RELEASED)
		return EPROTO;

	if (!p->rider)
		call_leg(m, CALL_LEG_HANGUP, p, 0, false);
	call_leave(p, NULL);
	return 0;
}

/**
 * The party put the call on hold, or took it off hold (its phone's
 * re-INVITE, or THoldCall / TRetrieveCall)
 *
 * @param music What the others hear while it holds; NULL = default-music
 */
int call_party_hold(struct call_model *m, uint32_t party, bool hold,
		    const char *music)
{
	struct party *p = party_find(m, party);

	if (!p)
		return ENOENT;
	if (p->state != (hold ? PARTY_ESTABLISHED : PARTY_HELD))
		return p->state == (hold ? PARTY_HELD : PARTY_ESTABLISHED)
			       ? EALREADY
			       : EPROTO;

	p->state = hold ? PARTY_HELD : PARTY_ESTABLISHED;
	p->music = mem_deref(p->music);
	if (hold && (music || m->default_music))
		(void)str_dup(&p->music, music ? music : m->default_music);

	call_event_emit(p, hold ? CALL_EV_HELD : CALL_EV_RETRIEVED,
			party_other(p), 0);
	call_media_update(p->call);
	call_parties_emit(p->call);
	return 0;
}
