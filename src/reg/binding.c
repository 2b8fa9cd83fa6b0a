/**
 * @file binding.c  The binding store: DN -> contacts, with expiry
 *
 * Pure: no sockets, no timers, no clock of its own. Every call takes "now"
 * (milliseconds on any monotonic clock) so that expiry is exact and tests
 * can move time by hand. A binding past its expiry is invisible at once,
 * even before the next sweep removes it. Updates follow RFC 3261 10.3:
 * all contacts of a REGISTER are checked before any is applied, so a
 * refused REGISTER changes nothing.
 */
#include <string.h>
#include <re.h>
#include "reg/reg.h"

/** All bindings of one DN (an address-of-record) */
struct aor {
	struct le he;
	char *dn;
	struct list bindl;
};

struct reg_bindings {
	struct hash *aors;
};

static void binding_destructor(void *arg)
{
	struct reg_binding *b = arg;

	list_unlink(&b->le);
	mem_deref(b->uri);
	mem_deref(b->callid);
}

static void aor_destructor(void *arg)
{
	struct aor *aor = arg;

	hash_unlink(&aor->he);
	list_flush(&aor->bindl);
	mem_deref(aor->dn);
}

static void bindings_destructor(void *arg)
{
	struct reg_bindings *bs = arg;

	hash_flush(bs->aors);
	mem_deref(bs->aors);
}

int reg_bindings_alloc(struct reg_bindings **bsp)
{
	struct reg_bindings *bs;
	int err;

	if (!bsp)
		return EINVAL;

	bs = mem_zalloc(sizeof(*bs), bindings_destructor);
	if (!bs)
		return ENOMEM;

	err = hash_alloc(&bs->aors, 256);
	if (err) {
		mem_deref(bs);
		return err;
	}

	*bsp = bs;
	return 0;
}

static bool aor_cmp(struct le *le, void *arg)
{
	const struct aor *aor = le->data;

	return 0 == strcmp(aor->dn, arg);
}

static struct aor *aor_find(const struct reg_bindings *bs, const char *dn)
{
	struct le *le =
		hash_lookup(bs->aors, hash_joaat_str(dn), aor_cmp, (void *)dn);

	return le ? le->data : NULL;
}

static struct aor *aor_get(struct reg_bindings *bs, const char *dn)
{
	struct aor *aor = aor_find(bs, dn);

	if (aor)
		return aor;

	aor = mem_zalloc(sizeof(*aor), aor_destructor);
	if (!aor || str_dup(&aor->dn, dn))
		return mem_deref(aor);

	hash_append(bs->aors, hash_joaat_str(dn), &aor->he, aor);
	return aor;
}

static struct reg_binding *binding_find(const struct aor *aor,
					const struct pl *uri)
{
	for (struct le *le = aor ? aor->bindl.head : NULL; le; le = le->next) {
		struct reg_binding *b = le->data;

		if (0 == pl_strcmp(uri, b->uri))
			return b;
	}

	return NULL;
}

static uint32_t aor_live(const struct aor *aor, uint64_t now)
{
	uint32_t n = 0;

	for (struct le *le = aor ? aor->bindl.head : NULL; le; le = le->next) {
		const struct reg_binding *b = le->data;

		n += b->expires > now;
	}

	return n;
}

/* RFC 3261 10.3 step 7: the same Call-ID with a CSeq not above the stored
 * one is a stale or repeated REGISTER. Also bound the contacts per DN. */
static int update_check(const struct aor *aor, const struct reg_request *rq,
			const struct reg_contact *cv, size_t cc, uint64_t now)
{
	uint32_t live = aor_live(aor, now);

	for (size_t i = 0; i < cc; i++) {
		const struct reg_binding *b = binding_find(aor, &cv[i].uri);

		if (b && b->expires > now &&
		    0 == pl_strcmp(&rq->callid, b->callid) &&
		    rq->cseq <= b->cseq)
			return EALREADY;
		if ((!b || b->expires <= now) && cv[i].expires)
			++live;
	}

	return live > REG_MAX_BINDINGS ? ENOSPC : 0;
}

static int binding_set(struct aor *aor, const struct reg_request *rq,
		       const struct reg_contact *c, uint64_t now)
{
	struct reg_binding *b = binding_find(aor, &c->uri);

	if (!c->expires) {
		mem_deref(b);
		return 0;
	}

	if (!b) {
		b = mem_zalloc(sizeof(*b), binding_destructor);
		if (!b || pl_strdup(&b->uri, &c->uri)) {
			mem_deref(b);
			return ENOMEM;
		}
		list_append(&aor->bindl, &b->le, b);
	}

	b->callid = mem_deref(b->callid);
	if (pl_strdup(&b->callid, &rq->callid)) {
		mem_deref(b);
		return ENOMEM;
	}
	b->cseq = rq->cseq;
	b->expires = now + (uint64_t)c->expires * 1000;
	b->src = rq->src;
	b->tp = rq->tp;

	return 0;
}

/**
 * Apply the contacts of one REGISTER
 *
 * @return 0 if success, EALREADY for an out-of-order CSeq, ENOSPC when
 *         the DN would have more than REG_MAX_BINDINGS contacts; on error
 *         nothing is changed
 */
int reg_bindings_update(struct reg_bindings *bs, const struct reg_request *rq,
			const struct reg_contact *cv, size_t cc, uint64_t now)
{
	struct aor *aor;
	int err;

	if (!bs || !rq || !rq->dn || (cc && !cv))
		return EINVAL;

	err = update_check(aor_find(bs, rq->dn), rq, cv, cc, now);
	if (err)
		return err;

	aor = aor_get(bs, rq->dn);
	if (!aor)
		return ENOMEM;

	for (size_t i = 0; i < cc && !err; i++)
		err = binding_set(aor, rq, &cv[i], now);

	if (!aor->bindl.head)
		mem_deref(aor);

	return err;
}

/**
 * Remove every contact of a DN ("Contact: *" with "Expires: 0")
 *
 * @return 0 if success, EALREADY for an out-of-order CSeq (nothing removed)
 */
int reg_bindings_clear(struct reg_bindings *bs, const struct reg_request *rq,
		       uint64_t now)
{
	struct aor *aor;

	if (!bs || !rq || !rq->dn)
		return EINVAL;

	aor = aor_find(bs, rq->dn);
	if (!aor)
		return 0;

	for (struct le *le = aor->bindl.head; le; le = le->next) {
		const struct reg_binding *b = le->data;

		if (b->expires > now &&
		    0 == pl_strcmp(&rq->callid, b->callid) &&
		    rq->cseq <= b->cseq)
			return EALREADY;
	}

	mem_deref(aor);
	return 0;
}

void reg_bindings_foreach(const struct reg_bindings *bs, const char *dn,
			  uint64_t now, reg_binding_h *h, void *arg)
{
	const struct aor *aor;

	if (!bs || !dn || !h)
		return;

	aor = aor_find(bs, dn);
	for (struct le *le = aor ? aor->bindl.head : NULL; le; le = le->next) {
		const struct reg_binding *b = le->data;

		if (b->expires > now)
			h(dn, b, arg);
	}
}

uint32_t reg_bindings_count(const struct reg_bindings *bs, const char *dn,
			    uint64_t now)
{
	return bs && dn ? aor_live(aor_find(bs, dn), now) : 0;
}

struct sweep {
	uint64_t now;
	reg_binding_h *h;
	reg_keep_h *keeph;
	void *arg;
	uint32_t n;
};

static bool aor_expire(struct le *he, void *arg)
{
	struct aor *aor = he->data;
	struct sweep *sw = arg;
	struct le *le = aor->bindl.head;

	while (le) {
		struct reg_binding *b = le->data;

		le = le->next;
		if (b->expires > sw->now)
			continue;
		if (sw->h)
			sw->h(aor->dn, b, sw->arg);
		mem_deref(b);
		++sw->n;
	}

	if (!aor->bindl.head)
		mem_deref(aor);

	return false;
}

/**
 * Remove the bindings whose time is up
 *
 * @param h Optional, called for each binding just before it goes
 *
 * @return Number of bindings removed
 */
uint32_t reg_bindings_expire(struct reg_bindings *bs, uint64_t now,
			     reg_binding_h *h, void *arg)
{
	struct sweep sw = {.now = now, .h = h, .arg = arg};

	if (bs)
		(void)hash_apply(bs->aors, aor_expire, &sw);

	return sw.n;
}

static bool aor_retain(struct le *he, void *arg)
{
	struct aor *aor = he->data;
	struct sweep *sw = arg;

	if (!sw->keeph(aor->dn, sw->arg)) {
		sw->n += list_count(&aor->bindl);
		mem_deref(aor);
	}

	return false;
}

/**
 * Keep only the DNs for which keeph returns true (after a reload)
 *
 * @return Number of bindings removed
 */
uint32_t reg_bindings_retain(struct reg_bindings *bs, reg_keep_h *keeph,
			     void *arg)
{
	struct sweep sw = {.keeph = keeph, .arg = arg};

	if (bs && keeph)
		(void)hash_apply(bs->aors, aor_retain, &sw);

	return sw.n;
}
