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
