/**
 * @file call.c  Calls and their parties: creation, lookup, release
 *
 * The model owns every call and party; the shells name parties by a
 * numeric id (stable, never reused) so that no pointer crosses the
 * boundary. A call is a ConnID, a CallUUID and its parties in the order
 * they joined, which is the order LCTParty lists them in.
 */
#include <string.h>
#include <re.h>
#include "call/call.h"
#include "call/priv.h"

static void party_destructor(void *arg)
{
	struct party *p = arg;

	hash_unlink(&p->he);
	list_unlink(&p->le);
	if (p->rides)
		p->rides->rider = NULL;
	if (p->rider)
		p->rider->rides = NULL;
	mem_deref(p->name);
	mem_deref(p->alias);
	mem_deref(p->inviter);
	mem_deref(p->trunk);
	mem_deref(p->location);
	mem_deref(p->music);
	mem_deref(p->remote);
}

static void call_destructor(void *arg)
{
	struct call *call = arg;

	hash_unlink(&call->he);
	if (call->main)
		call->main->consult = NULL;
	if (call->consult)
		call->consult->main = NULL;
	list_flush(&call->partyl);
	mem_deref(call->ani);
	mem_deref(call->dnis);
}

static void model_destructor(void *arg)
{
	struct call_model *m = arg;

	hash_flush(m->calls);
	mem_deref(m->calls);
	mem_deref(m->parties);
	mem_deref(m->default_music);
}

/**
 * Create the call model
 *
 * @param env         Outputs; copied
 * @param connid_seed First ConnID; each call takes the next value, so
 *                    ConnIDs never repeat within the process
 */
int call_model_alloc(struct call_model **mp, const struct call_env *env,
		     uint64_t connid_seed)
{
	struct call_model *m;
	int err;

	if (!mp || !env || !env->leg || !env->media || !env->event ||
	    !env->uuid)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), model_destructor);
	if (!m)
		return ENOMEM;

	m->env = *env;
	m->next_connid = connid_seed;
	m->next_party = 1;
	err = hash_alloc(&m->calls, 256);
	err = err ? err : hash_alloc(&m->parties, 1024);
	if (err) {
		mem_deref(m);
		return err;
	}

	*mp = m;
	return 0;
}

void call_model_settings(struct call_model *m, const struct call_settings *s)
{
	if (!m || !s)
		return;

	m->default_music = mem_deref(m->default_music);
	if (s->default_music)
		(void)str_dup(&m->default_music, s->default_music);
}

uint32_t call_model_count(const struct call_model *m)
{
	return m ? m->ncalls : 0;
}

uint32_t call_model_parties(const struct call_model *m)
{
	return m ? m->nparties : 0;
}

static void call_count_destructor(void *arg)
{
	struct call *call = arg;

	--call->m->ncalls;
	call_destructor(arg);
}

struct call *call_create(struct call_model *m, enum call_type type)
{
	struct call *call = mem_zalloc(sizeof(*call), call_count_destructor);

	if (!call)
		return NULL;

	call->m = m;
	call->type = type;
	call->connid = m->next_connid++;
	m->env.uuid(call->uuid, sizeof(call->uuid), m->env.arg);
	hash_append(m->calls, (uint32_t)call->connid, &call->he, call);
	++m->ncalls;

	return call;
}

static void party_count_destructor(void *arg)
{
	struct party *p = arg;

	--p->m->nparties;
	party_destructor(arg);
}

struct party *party_create(struct call *call, const struct call_endpoint *ep,
			   enum call_party_state state, const char *role)
{
	struct call_model *m = call->m;
	struct party *p = mem_zalloc(sizeof(*p), party_count_destructor);
	int err;

	if (!p)
		return NULL;

	p->m = m;
	p->id = m->next_party++;
	p->leg = p->id;
	p->call = call;
	p->state = state;
	p->role = role;
	p->external = ep->external;
	p->moh = ep->moh;
	p->seen_as = PARTY_ESTABLISHED;
	p->site = ep->external && ep->site;
	err = str_dup(&p->name, ep->name);
	if (!err && ep->trunk)
		err = str_dup(&p->trunk, ep->trunk);
	if (!err && ep->location)
		err = str_dup(&p->location, ep->location);
	if (err)
		return mem_deref(p);

	hash_append(m->parties, p->id, &p->he, p);
	list_append(&call->partyl, &p->le, p);
	if (party_alias_set(p)) {
		mem_deref(p);
		return NULL;
	}
	++m->nparties;

	return p;
}

static bool call_cmp(struct le *le, void *arg)
{
	const struct call *call = le->data;

	return call->connid == *(const uint64_t *)arg;
}

const struct call *call_find(const struct call_model *m, uint64_t connid)
{
	struct le *le;

	if (!m)
		return NULL;

	le = hash_lookup(m->calls, (uint32_t)connid, call_cmp, &connid);
	return le ? le->data : NULL;
}

static bool party_cmp(struct le *le, void *arg)
{
	const struct party *p = le->data;

	return p->id == *(const uint32_t *)arg;
}

struct party *party_find(const struct call_model *m, uint32_t id)
{
	struct le *le;

	if (!m)
		return NULL;

	le = hash_lookup(m->parties, id, party_cmp, &id);
	return le ? le->data : NULL;
}

const struct call *call_of_party(const struct call_model *m, uint32_t party)
{
	const struct party *p = party_find(m, party);

	return p ? p->call : NULL;
}

/** The one other party of a call, or NULL when there is not exactly one */
struct party *party_other(const struct party *p)
{
	struct party *other = NULL;

	for (struct le *le = p->call->partyl.head; le; le = le->next) {
		struct party *q = le->data;

		if (q == p || q->state == PARTY_RELEASED)
			continue;
		if (other)
			return NULL;
		other = q;
	}

	return other;
}

/** The party in control of a leg: the consult party riding it, if any */
struct party *party_of_leg(const struct call_model *m, uint32_t leg)
{
	struct party *p = party_find(m, leg);

	return p && p->rider ? p->rider : p;
}

bool party_joined(const struct party *p)
{
	return p->state == PARTY_ESTABLISHED || p->state == PARTY_HELD ||
	       p->state == PARTY_LISTEN_DISCONNECTED;
}

/** Parties of the call: all that are not gone, or the joined ones */
uint32_t call_count(const struct call *call, bool joined)
{
	uint32_t n = 0;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (p->state != PARTY_RELEASED && (!joined || party_joined(p)))
			++n;
	}

	return n;
}

/** CallState of party events: a conference from three joined parties */
const char *call_state_of(const struct call *call)
{
	return call_count(call, true) >= 3 ? "Conferenced" : "Ok";
}

struct party *party_by_alias(const struct call *call, const char *alias)
{
	for (struct le *le = call->partyl.head; le; le = le->next) {
		struct party *p = le->data;

		if (p->state != PARTY_RELEASED && p->alias &&
		    0 == strcmp(p->alias, alias))
			return p;
	}

	return NULL;
}

/**
 * The party's alias (call-model.md): its DN, or for an external party its
 * number, with "-2", "-3", ... when another party of the call has it
 */
int party_alias_set(struct party *p)
{
	char *alias = NULL;
	int err = 0;

	p->alias = mem_deref(p->alias);
	for (unsigned n = 1; n <= CALL_MAX_PARTIES + 1 && !err; n++) {
		err = n == 1 ? str_dup(&alias, p->name)
			     : re_sdprintf(&alias, "%s-%u", p->name, n);
		if (!err && !party_by_alias(p->call, alias)) {
			p->alias = alias;
			return 0;
		}
		alias = mem_deref(alias);
	}

	return err ? err : EEXIST;
}

/** The party goes over to another call, last in its join order */
void party_move(struct party *p, struct call *to)
{
	list_unlink(&p->le);
	p->call = to;
	list_append(&to->partyl, &p->le, p);
	(void)party_alias_set(p); /* keeps the old one when out of memory */
}

const struct call *call_main(const struct call *call)
{
	return call ? call->main : NULL;
}

/** The leg a party rides (its own id, or the consult initiator's), 0 */
uint32_t call_party_leg(const struct call_model *m, uint32_t party)
{
	const struct party *p = party_find(m, party);

	return p ? p->leg : 0;
}

/** The Trunk DN a party is reached through, or NULL (a phone of ours) */
const char *call_party_trunk(const struct call_model *m, uint32_t party)
{
	const struct party *p = party_find(m, party);

	return p && p->external ? p->trunk : NULL;
}

/** The party in control of a leg (for what its phone does), or 0 */
uint32_t call_leg_party(const struct call_model *m, uint32_t leg)
{
	const struct party *p = party_of_leg(m, leg);

	return p ? p->id : 0;
}

uint64_t call_connid(const struct call *call)
{
	return call ? call->connid : 0;
}

const char *call_uuid(const struct call *call)
{
	return call ? call->uuid : NULL;
}

enum call_type call_type(const struct call *call)
{
	return call ? call->type : CALL_INTERNAL;
}

const char *call_type_name(enum call_type type)
{
	static const char *const names[] = {"Internal", "Inbound", "Outbound",
					    "Consult"};

	return type < ARRAY_SIZE(names) ? names[type] : "?";
}

const char *call_party_state_name(enum call_party_state state)
{
	static const char *const names[] = {"Dialing",
					    "Ringing",
					    "Established",
					    "Held",
					    "ListenDisconnected",
					    "Released"};

	return state < ARRAY_SIZE(names) ? names[state] : "?";
}

/**
 * The party of a DN in a call (for CTI requests naming ThisDN and ConnID)
 *
 * @return 0, ENOENT if there is no such call, ENOTCONN if the DN is not
 *         one of its parties
 */
int call_party_find(const struct call_model *m, uint64_t connid, const char *dn,
		    uint32_t *partyp)
{
	const struct call *call = call_find(m, connid);

	if (!call)
		return ENOENT;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (!p->external && p->state != PARTY_RELEASED &&
		    0 == strcmp(p->name, dn)) {
			*partyp = p->id;
			return 0;
		}
	}

	return ENOTCONN;
}

/** What the queries show of a party of this site */
void party_info(struct call_party_info *pi, const struct party *p)
{
	pi->call = p->call;
	pi->name = p->alias;
	pi->location = p->location;
	pi->state = p->state;
	pi->external = p->external;
	pi->remote = false;
}

struct dn_walk {
	const char *dn;
	call_party_h *h;
	void *arg;
};

static bool dn_walk_h(struct le *le, void *arg)
{
	const struct call *call = le->data;
	const struct dn_walk *w = arg;
	struct call_party_info pi;

	for (struct le *pe = call->partyl.head; pe; pe = pe->next) {
		const struct party *p = pe->data;

		if (p->external || p->state == PARTY_RELEASED ||
		    strcmp(p->name, w->dn))
			continue;
		party_info(&pi, p);
		w->h(&pi, w->arg);
	}

	return false;
}

/** Every party the DN has, in any call (TQueryAddress) */
void call_parties_of_dn(const struct call_model *m, const char *dn,
			call_party_h *h, void *arg)
{
	struct dn_walk w = {dn, h, arg};

	if (m && dn && h)
		(void)hash_apply(m->calls, dn_walk_h, &w);
}

/**
 * Every party of a call, in join order (TQueryCall)
 *
 * @return 0, or ENOENT when there is no such call
 */
int call_parties(const struct call_model *m, uint64_t connid, call_party_h *h,
		 void *arg)
{
	const struct call *call = call_find(m, connid);
	struct call_party_info pi;

	if (!call || !h)
		return ENOENT;

	for (struct le *le = call->partyl.head; le; le = le->next) {
		const struct party *p = le->data;

		if (p->state == PARTY_RELEASED)
			continue;
		party_info(&pi, p);
		h(&pi, arg);
	}

	return 0;
}

int call_party_state(const struct call_model *m, uint32_t party,
		     enum call_party_state *statep)
{
	const struct party *p = party_find(m, party);

	if (!p || !statep)
		return ENOENT;

	*statep = p->state;
	return 0;
}
