/**
 * @file listen.c  Private conversations: TListenDisconnect,
 * TListenReconnect and the collapse rule (call-model.md)
 *
 * A disconnected party stays in the call, in state ListenDisconnected:
 * the media contract (media.c) takes it out of the sum and gives it its
 * own music. What makes this file more than a state flip is the collapse
 * rule: when parties leave, a conference must never be left with
 * disconnected parties and nobody (or one person) to talk to, so the
 * rule runs after every departure (conf.c calls call_listen_collapse).
 *
 * "Active" here means joined and not disconnected: a party on hold is
 * still in the conference and will come back, so it counts (the spec
 * leaves hold open; docs/private-conversations.md says so).
 * A request about a party of another site goes to that site, whose
 * conference it is (site.c); one that site carried here comes in by
 * call_listen_by, made by the trunk's party in the name of its own.
 */
#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"
#include "stats/stats.h"

static const char REASON_RELEASED[] = "ConferenceReleased";

static bool is_active(const struct party *p)
{
	return party_joined(p) && p->state != PARTY_LISTEN_DISCONNECTED;
}

static uint32_t count_active(const struct call *call)
{
	uint32_t n = 0;

	for (struct le *le = call->partyl.head; le; le = le->next)
		n += is_active(le->data);

	return n;
}

/* Every Extension party of the call hears of X's new state */
static void listen_emit(struct call *call, enum call_event_type type,
			const struct party *x, const char *by,
			const char *reason)
{
	struct call_ev_more e = {
		.other_dn = x->alias,
		.third_dn = by,
		.call_state = type == CALL_EV_LISTEN_DISCONNECTED
				      ? "Held"
				      : call_state_of(call),
		.reason = reason,
	};

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (party_joined(p))
			call_event_emit_more(p, type, &e);
	}
}

/* The checks both requests share; X returned */
static int target(struct party *a, const char *alias, struct party **xp,
		  char *why, size_t sz)
{
	struct call *call = a->call;
	struct party *x;

	if (call_count(call, true) < 3)
		return call_refuse(
			EPROTO, why, sz,
			"call %016llx is not a conference of three or "
			"more",
			(unsigned long long)call->connid);
	x = party_by_alias(call, alias);
	if (!x || !party_joined(x))
		return call_refuse(
			EINVAL, why, sz,
			"OtherDN %s is not a party alias of call %016llx",
			alias, (unsigned long long)call->connid);
	if (x == a)
		return call_refuse(EINVAL, why, sz, "OtherDN %s is ThisDN",
				   alias);

	*xp = x;
	return 0;
}

static int disconnect(struct party *a, const char *by, const char *alias,
		      const char *music, char *why, size_t sz)
{
	struct party *x;
	int err;

	err = target(a, alias, &x, why, sz);
	if (err)
		return err;
	if (x->state == PARTY_LISTEN_DISCONNECTED)
		return call_refuse(EALREADY, why, sz,
				   "%s is already disconnected", alias);
	if (x->state != PARTY_ESTABLISHED)
		return call_refuse(EPROTO, why, sz, "%s is on hold", alias);
	if (count_active(a->call) - 1 < 2)
		return call_refuse(
			EPROTO, why, sz,
			"disconnecting %s would leave fewer than two "
			"active parties",
			alias);

	x->state = PARTY_LISTEN_DISCONNECTED;
	stats_listen_disconnect();
	x->music = mem_deref(x->music);
	if (music)
		(void)str_dup(&x->music, music);

	listen_emit(a->call, CALL_EV_LISTEN_DISCONNECTED, x, by, NULL);
	call_media_update(a->call);
	call_parties_emit(a->call);
	return 0;
}

static void reconnect(struct party *x, const char *by, const char *reason)
{
	x->state = PARTY_ESTABLISHED;
	stats_listen_reconnect(reason ? STATS_RECONNECT_RELEASED
				      : STATS_RECONNECT_REQUEST);
	x->music = mem_deref(x->music);
	listen_emit(x->call, CALL_EV_LISTEN_RECONNECTED, x, by, reason);
}

static int reconnect_req(struct party *a, const char *by, const char *alias,
			 char *why, size_t sz)
{
	struct party *x;
	int err;

	err = target(a, alias, &x, why, sz);
	if (err)
		return err;
	if (x->state != PARTY_LISTEN_DISCONNECTED)
		return call_refuse(EALREADY, why, sz, "%s is not disconnected",
				   alias);

	reconnect(x, by, NULL);
	call_media_update(a->call);
	call_parties_emit(a->call);
	return 0;
}

/**
 * TListenDisconnect: X neither hears nor is heard; it hears music
 *
 * @param music music-listen-disconnect or the request's; NULL: silence
 *
 * @return 0, EINPROGRESS (X is on another site: asked, call_site_answer
 *         follows), or the refusal (why says it)
 */
int call_listen_disconnect(struct call_model *m, uint32_t party,
			   const char *alias, const char *music, char *why,
			   size_t sz)
{
	struct party *a = party_find(m, party), *s;

	if (!a || !alias)
		return ENOENT;
	s = call_site_of(a->call, alias);
	if (s)
		return call_site_ask(a, s, true, alias, why, sz);

	return disconnect(a, a->alias, alias, music, why, sz);
}

/** TListenReconnect: X is back in the conversation */
int call_listen_reconnect(struct call_model *m, uint32_t party,
			  const char *alias, char *why, size_t sz)
{
	struct party *a = party_find(m, party), *s;

	if (!a || !alias)
		return ENOENT;
	s = call_site_of(a->call, alias);
	if (s)
		return call_site_ask(a, s, false, alias, why, sz);

	return reconnect_req(a, a->alias, alias, why, sz);
}

/**
 * A request the site behind an inter-site trunk party carried here: the
 * trunk party makes it, in the name of by (ThirdPartyDN of the events),
 * with this site's rules
 *
 * @return as call_listen_disconnect / reconnect; EPROTO when the party is
 *         not behind an inter-site trunk
 */
int call_listen_by(struct call_model *m, uint32_t party, const char *by,
		   const char *alias, bool disconnect_x, const char *music,
		   char *why, size_t sz)
{
	struct party *a = party_find(m, party);

	if (!a || !alias || !by || a->state == PARTY_RELEASED)
		return call_refuse(ENOENT, why, sz,
				   "the call across the trunk has ended");
	if (!a->site)
		return call_refuse(EPROTO, why, sz,
				   "requests are carried only from another "
				   "site");

	return disconnect_x ? disconnect(a, by, alias, music, why, sz)
			    : reconnect_req(a, by, alias, why, sz);
}

/**
 * After a party left: with disconnected parties and at most one active
 * party left, everyone is reconnected (with one active party and one
 * disconnected, that is a plain call again); with none active, the call
 * is released.
 *
 * @return true if the call was released
 */
bool call_listen_collapse(struct call *call)
{
	uint32_t active = count_active(call);
	bool any = false;

	if (active >= 2)
		return false;

	for (struct le *le = call->partyl.head; le; le = le->next)
		any |= ((struct party *)le->data)->state ==
		       PARTY_LISTEN_DISCONNECTED;
	if (!any)
		return false;

	if (!active) {
		for (struct le *le = call->partyl.head; le; le = le->next)
			call_leg(call->m, CALL_LEG_HANGUP, le->data, 0, false);
		call_release(call, NULL, 0);
		return true;
	}

	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *x = le->data;

		if (x->state == PARTY_LISTEN_DISCONNECTED)
			reconnect(x, NULL, REASON_RELEASED);
	}

	return false;
}
