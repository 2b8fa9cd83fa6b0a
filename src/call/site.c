/**
 * @file site.c  Parties on other sites: what an inter-site trunk party
 * stands for (docs/multisite.md)
 *
 * A call that crosses an inter-site trunk has, on each site, one party
 * for the trunk's dialog. Its site reports which parties are behind it
 * (participant info); until it has, the trunk party stands for itself.
 * This file keeps those reports and answers "every party of the whole
 * call" (call_parties_all), which is what LCTParty lists: the trunk
 * party itself is never listed once its site has spoken. After every
 * change of the call's membership or states (call_parties_emit) each
 * such party gets CALL_LEG_PARTIES: its site is told who is on this
 * side, which is everything but what came from it. Reports never change
 * a state here: the other site's parties are shown as reported, and
 * what that site made of this side ("you": listen-disconnected there)
 * only changes how this side's connected parties are shown.
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

static struct party *site_party(struct call_model *m, uint32_t party, int *errp)
{
	struct party *p = party_find(m, party);

	*errp = !p					 ? ENOENT
		: !p->site || p->state == PARTY_RELEASED ? EPROTO
							 : 0;
	return *errp ? NULL : p;
}

/**
 * The name of the site behind an inter-site trunk party, once it said it
 * (its answer names it): the party's location from now on
 *
 * @return 0, ENOENT, EPROTO (not an inter-site trunk party), EINVAL
 */
int call_party_location(struct call_model *m, uint32_t party,
			const char *location)
{
	struct party *p;
	char *loc = NULL;
	int err;

	p = site_party(m, party, &err);
	if (err)
		return err;
	if (!location || !location[0])
		return EINVAL;
	if (p->location && !strcmp(p->location, location))
		return 0;

	err = str_dup(&loc, location);
	if (err)
		return err;
	mem_deref(p->location);
	p->location = loc;

	if (party_joined(p))
		call_parties_emit(p->call);
	return 0;
}

static bool remote_state_ok(enum call_party_state st)
{
	return st == PARTY_ESTABLISHED || st == PARTY_HELD ||
	       st == PARTY_LISTEN_DISCONNECTED;
}

static bool remote_eq(const struct call_remote *r, const char *alias,
		      const char *location, enum call_party_state state)
{
	return r->state == state && !strcmp(r->alias, alias) &&
	       !strcmp(r->location, location ? location : "");
}

/* What the party shows (its report, or itself) would not change: the
 * first report often names just the party it stood for */
static bool view_same(const struct party *p, const struct call_remote *v,
		      size_t n)
{
	if (!p->remote_known)
		return n == 1 && remote_eq(v, p->alias, p->location, p->state);
	if (p->nremote != n)
		return false;

	for (size_t i = 0; i < n; i++) {
		const struct call_remote *a = &p->remote[i];

		if (!remote_eq(&v[i], a->alias, a->location, a->state))
			return false;
	}

	return true;
}

/**
 * The site behind an inter-site trunk party reported its parties (all
 * of them, replacing the last report) and what it made of this side
 * (you: Established, Held or ListenDisconnected). The call's snapshots
 * follow when what the call shows changed.
 *
 * @return 0 (also when nothing changed), ENOENT, EPROTO (not an
 *         inter-site trunk party), EINVAL (a list the codec would not
 *         give: too long, a state that is not a joined one, an empty
 *         name); nothing changes on error
 */
int call_party_remote(struct call_model *m, uint32_t party,
		      const struct call_remote *v, size_t n,
		      enum call_party_state you)
{
	struct call_remote *copy = NULL;
	struct party *p;
	bool same;
	int err;

	p = site_party(m, party, &err);
	if (err)
		return err;
	if (n > CALL_MAX_PARTIES || (n && !v))
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!remote_state_ok(v[i].state) || !v[i].alias[0] ||
		    !v[i].location[0])
			return EINVAL;
	}
	if (!remote_state_ok(you))
		return EINVAL;
	same = view_same(p, v, n) && p->seen_as == you;
	if (same && p->remote_known)
		return 0;

	if (n) {
		copy = mem_alloc(n * sizeof(*copy), NULL);
		if (!copy)
			return ENOMEM;
		memcpy(copy, v, n * sizeof(*copy));
	}
	mem_deref(p->remote);
	p->remote = copy;
	p->nremote = (uint32_t)n;
	p->remote_known = true;
	p->seen_as = you;

	if (!same && party_joined(p))
		call_parties_emit(p->call);
	return 0;
}

/* Every joined inter-site trunk party is told (the SIP shell sends only
 * what differs from what its site was told last) */
void call_sites_tell(struct call *call)
{
	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (p->site && party_joined(p))
			call_leg(call->m, CALL_LEG_PARTIES, p, 0, false);
	}
}

static void remote_info(struct call_party_info *pi, const struct party *p,
			const struct call_remote *r)
{
	pi->call = p->call;
	pi->name = r->alias;
	pi->location = r->location;
	pi->state = r->state;
	pi->external = true;
	pi->remote = true;
}

/* How the other site sees this side: a connected party of this side is
 * shown as disconnected when the site of an inter-site party of the
 * call disconnected that party's side there */
static enum call_party_state seen_state(const struct party *p)
{
	if (p->site || p->state != PARTY_ESTABLISHED)
		return p->state;

	for (struct le *le = p->call->partyl.head; le; le = le->next) {
		const struct party *s = le->data;

		if (s->site && party_joined(s) &&
		    s->seen_as != PARTY_ESTABLISHED)
			return s->seen_as;
	}

	return p->state;
}

/**
 * Every party of the whole call across sites, in join order: an
 * inter-site trunk party stands for the parties its site reported, at
 * its place (for itself while its site has not reported)
 *
 * @param except A party left out with what it stands for (the trunk
 *               party whose site is being told), 0 = none
 *
 * @return 0, or ENOENT when there is no such call
 */
int call_parties_all(const struct call_model *m, uint64_t connid,
		     uint32_t except, call_party_h *h, void *arg)
{
	const struct call *call = call_find(m, connid);
	struct call_party_info pi;

	if (!call || !h)
		return ENOENT;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (p->state == PARTY_RELEASED || p->id == except)
			continue;
		if (!p->site || !p->remote_known) {
			party_info(&pi, p);
			pi.state = seen_state(p);
			h(&pi, arg);
			continue;
		}
		for (uint32_t i = 0; i < p->nremote; i++) {
			remote_info(&pi, p, &p->remote[i]);
			h(&pi, arg);
		}
	}

	return 0;
}

/* --- requests carried to the site that owns the conference --- */

/**
 * The inter-site trunk party to whose site a request about alias belongs:
 * alias is one of several parties that site reported (with one, the
 * trunk party is that party, and this site disconnects it as a whole);
 * a party of this site with that alias comes first
 */
struct party *call_site_of(const struct call *call, const char *alias)
{
	const struct party *local = party_by_alias(call, alias);

	if (local && !local->site)
		return NULL;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *s = le->data;

		if (!s->site || !s->remote_known || s->nremote < 2 ||
		    !party_joined(s))
			continue;
		for (uint32_t i = 0; i < s->nremote; i++) {
			if (!strcmp(s->remote[i].alias, alias))
				return s;
		}
	}

	return NULL;
}

/**
 * Ask the site behind s to disconnect or reconnect its party alias, for
 * a; one request at a time per trunk party
 *
 * @return EINPROGRESS (asked: call_site_answer follows), or the refusal
 */
int call_site_ask(struct party *a, struct party *s, bool disconnect,
		  const char *alias, char *why, size_t sz)
{
	struct call_leg_cmd cmd = {.op = CALL_LEG_REQUEST,
				   .party = s->leg,
				   .by = a->alias,
				   .other = alias,
				   .disconnect = disconnect};

	if (!party_joined(a))
		return call_refuse(ENOTCONN, why, sz, "%s is not in the call",
				   a->alias);
	if (s->ask.pending)
		return call_refuse(EBUSY, why, sz,
				   "a request to the site of %s is under way",
				   alias);

	s->ask.pending = true;
	s->ask.by = a->id;
	s->ask.disconnect = disconnect;
	str_ncpy(s->ask.other, alias, sizeof(s->ask.other));
	call_leg_emit(a->m, &cmd);
	return EINPROGRESS;
}

/* The parties of the whole call across sites, as LCTParty lists them */
static void count_h(const struct call_party_info *pi, void *arg)
{
	(void)pi;
	++*(uint32_t *)arg;
}

/* Done there: every Extension party here hears of it, as on that site,
 * whose call is the conference (so the CallState is the whole call's) */
static void asked_done(struct party *s, const struct party *a)
{
	bool dis = s->ask.disconnect;
	uint32_t n = 0;
	struct call_ev_more e = {
		.other_dn = s->ask.other,
		.third_dn = a->alias,
	};

	(void)call_parties_all(s->m, s->call->connid, 0, count_h, &n);
	e.call_state = dis ? "Held" : n >= 3 ? "Conferenced" : "Ok";

	for (struct le *le = s->call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (party_joined(p))
			call_event_emit_more(p,
					     dis ? CALL_EV_LISTEN_DISCONNECTED
						 : CALL_EV_LISTEN_RECONNECTED,
					     &e);
	}
}

/**
 * The site behind party answered the request carried to it: done (err
 * 0), or refused with its reason (its call model's err and sentence)
 *
 * @return 0, or EPROTO when no request was asked of it
 */
int call_site_answer(struct call_model *m, uint32_t party, int err,
		     const char *why)
{
	struct party *s = party_find(m, party);
	struct party *a;

	if (!s || !s->site || !s->ask.pending)
		return EPROTO;

	s->ask.pending = false;
	a = party_find(m, s->ask.by);
	if (!a || a->state == PARTY_RELEASED)
		return 0; /* the requester left meanwhile: nobody to tell */

	if (!err) {
		asked_done(s, a);
	} else {
		const struct call_ev_more e = {.other_dn = s->ask.other,
					       .err = err,
					       .why = why ? why : ""};

		call_event_emit_more(a, CALL_EV_SITE_FAILED, &e);
	}

	return 0;
}

/** A trunk party leaves: a request it carried is answered, refused */
void call_site_gone(struct party *p)
{
	char why[96];

	if (!p->site || !p->ask.pending)
		return;

	re_snprintf(why, sizeof(why), "the site of %s left the call",
		    p->ask.other);
	(void)call_site_answer(p->m, p->id, ENOENT, why);
}
