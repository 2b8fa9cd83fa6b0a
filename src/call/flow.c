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

static void leg(struct call_model *m, enum call_leg_op op,
		const struct party *p, uint16_t scode, bool early)
{
	struct call_leg_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.op = op;
	cmd.party = p->id;
	cmd.scode = scode;
	cmd.early_media = early;
	call_leg_emit(m, &cmd);
}

static void alert(struct call_model *m, const struct party *p,
		  const struct party *from)
{
	struct call_leg_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.op = CALL_LEG_ALERT;
	cmd.auto_answer = p->make;
	cmd.party = p->id;
	cmd.target = p->name;
	cmd.external = p->external;
	cmd.trunk = p->trunk;
	cmd.from = from->name;
	call_leg_emit(m, &cmd);
}


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

	alert(m, b, a);
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

	alert(m, pa, pb);
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
		alert(m, b, a);
	return 0;
}

/** The callee rings (180) or sends early media (183 with SDP) */
int call_party_progress(struct call_model *m, uint32_t party, bool early_media)
{
	struct party *b = party_find(m, party);
	struct party *a;

	if (!b)
		return ENOENT;
	if (b->state != PARTY_RINGING)
		return EPROTO;

	a = party_other(b);
	if (a && a->state == PARTY_DIALING && !a->make)
		leg(m, CALL_LEG_PROGRESS, a, early_media ? 183 : 180,
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
	struct party *b = party_find(m, party);
	struct party *a;

	if (!b)
		return ENOENT;
	if (b->make && b->state == PARTY_DIALING && !b->picked_up)
		return picked_up(m, b);
	if (b->state != PARTY_RINGING)
		return EPROTO;

	a = party_other(b);
	b->state = PARTY_ESTABLISHED;
	b->call->early_media = false;
	if (a && a->state == PARTY_DIALING) {
		a->state = PARTY_ESTABLISHED;
		if (!a->make)
			leg(m, CALL_LEG_ANSWER, a, 200, false);
	}

	call_event_emit(b, CALL_EV_ESTABLISHED, a, 0);
	if (a)
		call_event_emit(a, CALL_EV_ESTABLISHED, b, 0);
	call_media_update(b->call);

	return 0;
}

/* Every party of the call gets EventReleased, the one who ended it first
 * (a callee never alerted gets none); then the call goes */
static void call_release(struct call *call, const struct party *first,
			 uint16_t cause)
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


	for (le = call->partyl.head; le; le = le->next)
		call_media_remove(le->data);

	mem_deref(call);
}

/** The callee's dialog failed before answer (4xx-6xx, or no answer) */
int call_party_failed(struct call_model *m, uint32_t party, uint16_t scode)
{
	struct party *b = party_find(m, party);
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

	a = party_other(b);
	if (a && a->state == PARTY_DIALING)
		leg(m, a->make ? CALL_LEG_HANGUP : CALL_LEG_REJECT, a, scode,
		    false);

	call_release(b->call, a, scode);
	return 0;
}

/** A party's dialog ended from its side (BYE, CANCEL, timeout) */
int call_party_hangup(struct call_model *m, uint32_t party)
{
	struct party *p = party_find(m, party);
	struct party *other;

	if (!p)
		return ENOENT;
	if (p->state == PARTY_RELEASED)
		return EPROTO;

	other = party_other(p);
	if (other)
		leg(m, CALL_LEG_HANGUP, other, 0, false);

	call_release(p->call, p, 0);
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
	return 0;
}
