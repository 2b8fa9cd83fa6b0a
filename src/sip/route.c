/**
 * @file route.c  Dialled number -> Extension or Trunk; source -> Trunk
 */
#include <string.h>
#include <re.h>
#include "cfg/cfg.h"
#include "sip/route.h"

static const struct cfg_dn *trunk_for(const struct cfg *cfg,
				      const struct pl *number)
{
	const struct cfg_dn *best = NULL;

	for (struct le *le = cfg->dnl.head; le; le = le->next) {
		const struct cfg_dn *dn = le->data;
		size_t len = strlen(dn->prefix);

		if (dn->type != CFG_DN_TRUNK || len >= number->l ||
		    memcmp(number->p, dn->prefix, len))
			continue;
		if (!best || len > strlen(best->prefix))
			best = dn;
	}

	return best;
}

/**
 * Find where a dialled number goes
 *
 * @return 0 if found, ENOENT if nothing takes it, EINVAL if it is not a
 *         number one could dial (empty or too long)
 */
int route_lookup(struct route *r, const struct cfg *cfg,
		 const struct pl *number)
{
	const struct cfg_dn *dn;

	if (!r || !cfg || !number)
		return EINVAL;

	memset(r, 0, sizeof(*r));
	if (!number->l || number->l >= sizeof(r->number))
		return EINVAL;

	dn = cfg_dn_find_pl(cfg, number);
	if (dn && dn->type == CFG_DN_EXTENSION) {
		r->kind = ROUTE_EXTENSION;
		r->dn = dn;
		(void)pl_strcpy(number, r->number, sizeof(r->number));
		return 0;
	}

	dn = trunk_for(cfg, number);
	if (!dn)
		return ENOENT;

	r->kind = ROUTE_TRUNK;
	r->dn = dn;
	(void)re_snprintf(r->number, sizeof(r->number), "%b",
			  number->p + strlen(dn->prefix),
			  number->l - strlen(dn->prefix));
	return 0;
}

/* The trunk's peer address; only numeric hosts can match */
static bool trunk_addr(struct sa *sa, const struct cfg_dn *dn)
{
	struct uri uri;
	struct pl pl;

	pl_set_str(&pl, dn->contact);
	if (uri_decode(&uri, &pl))
		return false;

	return 0 == sa_set(sa, &uri.host, uri.port);
}

/**
 * The Trunk whose peer sent a request from src (by IP address; the port
 * is not compared, as gateways send from other ports than they listen on,
 * and TCP always does)
 *
 * @param site The request names the site it comes from: only inter-site
 *             trunks are looked at; otherwise only the others, so that
 *             phones on another site's host are never taken for it
 */
const struct cfg_dn *route_trunk_from(const struct cfg *cfg,
				      const struct sa *src, bool site)
{
	for (struct le *le = cfg ? cfg->dnl.head : NULL; le; le = le->next) {
		const struct cfg_dn *dn = le->data;
		struct sa sa;

		if (dn->type == CFG_DN_TRUNK && dn->inter_trunk == site &&
		    trunk_addr(&sa, dn) && sa_cmp(&sa, src, SA_ADDR))
			return dn;
	}

	return NULL;
}
