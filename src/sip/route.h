/**
 * @file route.h  Where a dialled number goes, and where a call comes from
 *
 * Pure lookups on a configuration snapshot: a configured Extension DN, or
 * the Trunk whose prefix the number starts with (longest prefix wins; a
 * trunk with an empty prefix takes whatever nothing else takes). The
 * prefix is stripped before the number is sent to the trunk, as an
 * outside-line access code is.
 */

struct cfg;
struct cfg_dn;

enum route_kind {
	ROUTE_NONE = 0,
	ROUTE_EXTENSION,
	ROUTE_TRUNK,
};

struct route {
	enum route_kind kind;
	const struct cfg_dn *dn; /**< the Extension, or the Trunk */
	char number[65];	 /**< what to dial: the DN, or the number
				      without the trunk's prefix */
};

int route_lookup(struct route *r, const struct cfg *cfg,
		 const struct pl *number);
const struct cfg_dn *route_trunk_from(const struct cfg *cfg,
				      const struct sa *src, bool site);
