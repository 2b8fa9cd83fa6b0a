/**
 * @file site.c  Inter-site trunks in the B2BUA: the site header of an
 * INVITE, and participant info out of and into the call model
 *
 * docs/multisite.md is the contract. Out: after every change of a call
 * the model asks (CALL_LEG_PARTIES) that the site behind an inter-site
 * trunk party be told who is on this side; the list is read from the
 * model when the command is carried out, so several changes in one input
 * make one body, and the leg sends nothing when the body is what it sent
 * last (which also stops a report from echoing back and forth). In: the
 * body is decoded completely before the model hears of it, so a bad one
 * is refused (400 with a Warning naming what is wrong) and changes
 * nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "call/call.h"
#include "site/site.h"
#include "sip/leg.h"
#include "sip/sipsrv.h"
#include "sip/site.h"

/**
 * The site an INVITE says it comes from
 *
 * @return 0 (buf set), ENOENT (no such header), EBADMSG (not a site
 *         name: 1-64 printable ASCII characters, no space)
 */
int b2bua_site_hdr(const struct sip_msg *msg, char *buf, size_t sz)
{
	const struct sip_hdr *h = sip_msg_xhdr(msg, SITE_HDR);

	if (!h)
		return ENOENT;
	if (site_name_check(h->val.p, h->val.l) || h->val.l >= sz)
		return EBADMSG;

	return pl_strcpy(&h->val, buf, sz);
}

struct tell {
	struct call_remote v[SITE_PARTIES_MAX];
	size_t n;
	uint32_t dropped;
};

/* A joined party of this side, as the other site will list it */
static void tell_h(const struct call_party_info *pi, void *arg)
{
	struct tell *t = arg;
	struct call_remote *r;

	if (pi->state != PARTY_ESTABLISHED && pi->state != PARTY_HELD &&
	    pi->state != PARTY_LISTEN_DISCONNECTED)
		return;
	if (t->n == SITE_PARTIES_MAX) {
		++t->dropped;
		return;
	}

	r = &t->v[t->n++];
	memset(r, 0, sizeof(*r));
	str_ncpy(r->alias, pi->name, sizeof(r->alias));
	str_ncpy(r->location, pi->location ? pi->location : "?",
		 sizeof(r->location));
	r->state = pi->state;
}

/* What this site makes of the other site's side: the trunk party's state
 * (disconnected by a TListenDisconnect here, say), as the body carries it */
static enum call_party_state you_of(const struct call_model *m, uint32_t party)
{
	enum call_party_state st = PARTY_ESTABLISHED;

	if (call_party_state(m, party, &st) ||
	    (st != PARTY_HELD && st != PARTY_LISTEN_DISCONNECTED))
		return PARTY_ESTABLISHED;

	return st;
}

/**
 * Tell the site behind the party's leg who is on this side of its call
 *
 * @return 0, ENOENT (the party is gone), or the codec's or leg's error
 */
int b2bua_site_tell(const struct call_model *m, struct leg *l, uint32_t party)
{
	const struct call *call = call_of_party(m, party);
	struct tell *t;
	char *body = NULL;
	int err;

	if (!call || !l)
		return ENOENT;

	t = mem_zalloc(sizeof(*t), NULL);
	if (!t)
		return ENOMEM;

	(void)call_parties_all(m, call_connid(call), party, tell_h, t);
	if (t->dropped)
		log_warn("site", "party %u: %u parties not told (at most %d)",
			 party, t->dropped, SITE_PARTIES_MAX);

	err = site_parties_encode(&body, t->v, t->n, you_of(m, party));
	if (!err)
		err = leg_tell(l, SITE_CTYPE, body);
	if (err)
		log_warn("site", "party %u: participant info not sent: %m",
			 party, err);

	free(body);
	mem_deref(t);
	return err;
}

#define refuse(sip, msg, scode, reason, hdrs, ...)                             \
	sipsrv_refuse((sip), (msg), "site", (scode), (reason), (hdrs),         \
		      __VA_ARGS__)

/**
 * An INFO in the dialog of the party's leg: participant info from the
 * site behind it, answered here (200, or a refusal that names what was
 * wrong and changes nothing)
 */
void b2bua_site_heard(struct sip *sip, struct call_model *m, uint32_t party,
		      const struct sip_msg *msg)
{
	enum call_party_state you;
	struct call_remote *v;
	char why[160] = "";
	size_t n = 0;
	int err;

	if (!msg_ctype_cmp(&msg->ctyp, "application",
			   "x-sipserver-parties+json")) {
		refuse(sip, msg, 415, "Unsupported Media Type",
		       "Accept: " SITE_CTYPE "\r\n",
		       "INFO in a call carries only " SITE_CTYPE);
		return;
	}

	v = mem_zalloc(SITE_PARTIES_MAX * sizeof(*v), NULL);
	if (!v) {
		(void)sip_treply(NULL, sip, msg, 500, "Server Internal Error");
		return;
	}

	err = site_parties_decode(v, &n, &you, (const char *)mbuf_buf(msg->mb),
				  mbuf_get_left(msg->mb), why, sizeof(why));
	if (err) {
		refuse(sip, msg, 400, "Bad Request", NULL,
		       "participant info: %s", why);
		goto out;
	}

	err = call_party_remote(m, party, v, n, you);
	switch (err) {
	case 0:
		log_debug("site", "party %u: %zu parties reported", party, n);
		(void)sip_treply(NULL, sip, msg, 200, "OK");
		break;
	case EPROTO:
		refuse(sip, msg, 403, "Forbidden", NULL,
		       "participant info is taken only from another site "
		       "(an inter-site trunk's dialog)");
		break;
	case ENOENT:
		refuse(sip, msg, 481, "Call/Transaction Does Not Exist", NULL,
		       "the call has ended");
		break;
	default:
		refuse(sip, msg, 500, "Server Internal Error", NULL,
		       "participant info not taken: %m", err);
		break;
	}

out:
	mem_deref(v);
}
