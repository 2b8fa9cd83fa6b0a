/**
 * @file limit.c  Failed digest authentications per source address
 *
 * A phone with a wrong password retries forever, and a password guesser
 * tries fast; both are cut off the same way (auth-fail-limit): past the
 * limit of failures within a minute, the address gets 403 for five
 * minutes without its credentials being looked at. Pure: "now" is given.
 * The caller logs the start of a block (reg_limit_fail says when), not each
 * request refused during it: a flood would otherwise flood the log too.
 */
#include <string.h>
#include <re.h>
#include "reg/reg.h"

enum {
	WINDOW = 60 * 1000,    /* [ms] failures are counted per minute */
	BLOCK = 5 * 60 * 1000, /* [ms] how long an address is refused */
	MAX_ENTRIES = 10000,   /* bound the table against spoofed floods */
};

struct entry {
	struct le he;
	struct sa ip;
	uint64_t window; /* start of the counting window */
	uint32_t fails;
	uint64_t until; /* blocked until, 0 = not blocked */
};

struct reg_limit {
	struct hash *ht;
	uint32_t n;
};

static void limit_destructor(void *arg)
{
	struct reg_limit *lim = arg;

	hash_flush(lim->ht);
	mem_deref(lim->ht);
}

static void entry_destructor(void *arg)
{
	struct entry *e = arg;

	hash_unlink(&e->he);
}

int reg_limit_alloc(struct reg_limit **limp)
{
	struct reg_limit *lim;

	if (!limp)
		return EINVAL;

	lim = mem_zalloc(sizeof(*lim), limit_destructor);
	if (!lim || hash_alloc(&lim->ht, 256)) {
		mem_deref(lim);
		return ENOMEM;
	}

	*limp = lim;
	return 0;
}

static bool entry_cmp(struct le *le, void *arg)
{
	const struct entry *e = le->data;

	return sa_cmp(&e->ip, arg, SA_ADDR);
}

static struct entry *entry_find(const struct reg_limit *lim,
				const struct sa *src)
{
	struct le *le = hash_lookup(lim->ht, sa_hash(src, SA_ADDR), entry_cmp,
				    (void *)src);

	return le ? le->data : NULL;
}

static bool entry_old(struct le *le, void *arg)
{
	struct entry *e = le->data;
	const uint64_t *now = arg;

	if (e->until <= *now && e->window + WINDOW <= *now)
		mem_deref(e);

	return false;
}

static void prune(struct reg_limit *lim, uint64_t now)
{
	(void)hash_apply(lim->ht, entry_old, &now);
	lim->n = 0;
	for (uint32_t i = 0; i < hash_bsize(lim->ht); i++)
		lim->n += list_count(hash_list(lim->ht, i));
}

bool reg_limit_blocked(struct reg_limit *lim, const struct sa *src,
		       uint64_t now)
{
	const struct entry *e = lim && src ? entry_find(lim, src) : NULL;

	return e && e->until > now;
}

/**
 * Count one failed authentication from src
 *
 * @param limit Failures per minute allowed; 0 = no limit
 *
 * @return true if this failure blocks src (for BLOCK from now)
 */
bool reg_limit_fail(struct reg_limit *lim, const struct sa *src, uint32_t limit,
		    uint64_t now)
{
	struct entry *e;

	if (!lim || !src || !limit)
		return false;

	e = entry_find(lim, src);
	if (!e) {
		if (lim->n >= MAX_ENTRIES)
			prune(lim, now);
		if (lim->n >= MAX_ENTRIES)
			return false;
		e = mem_zalloc(sizeof(*e), entry_destructor);
		if (!e)
			return false;
		e->ip = *src;
		e->window = now;
		hash_append(lim->ht, sa_hash(src, SA_ADDR), &e->he, e);
		++lim->n;
	}

	if (now >= e->window + WINDOW) {
		e->window = now;
		e->fails = 0;
	}

	if (++e->fails < limit || e->until > now)
		return false;

	e->until = now + BLOCK;
	return true;
}
