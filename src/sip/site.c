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
 * Requests: a TListenDisconnect / Reconnect about a party of the site
 * that owns the conference is carried there in an INFO (CALL_LEG_REQUEST,
 * b2bua_site_ask); that site runs it with its own rules
 * (call_listen_by) and answers in the 200, which comes back to the model
 * here (b2bua_site_answered).
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
/* What the model said, as the answer's result can name it */
static int answer_err(int err)
{
	switch (err) {
	case 0:
	case EALREADY:
	case EPROTO:
	case EINVAL:
	case ENOENT:
	case EBUSY:
		return err;
	case ENOTCONN:
		return ENOENT;
	default:
		return EPROTO;
	}
}

/* A request carried here by the site behind the party: run with this
 * site's rules, answered in the 200 (a refusal is an answer too) */
static void request_heard(struct sip *sip, struct call_model *m, uint32_t party,
			  const struct sip_msg *msg, const char *music)
{
	struct site_request r;
	char why[160] = "", *body = NULL;
	int err;

	err = site_request_decode(&r, (const char *)mbuf_buf(msg->mb),
				  mbuf_get_left(msg->mb), why, sizeof(why));
	if (err) {
		refuse(sip, msg, 400, "Bad Request", NULL, "request: %s", why);
		return;
	}

	err = answer_err(call_listen_by(m, party, r.by, r.other, r.disconnect,
					music, why, sizeof(why)));
	log_info("site", "party %u: %s of %s by %s (from its site): %s", party,
		 r.disconnect ? "TListenDisconnect" : "TListenReconnect",
		 r.other, r.by, err ? why : "done");
	if (site_answer_encode(&body, err, why)) {
		(void)sip_treply(NULL, sip, msg, 500, "Server Internal Error");
		return;
	}

	(void)sip_treplyf(NULL, NULL, sip, msg, false, 200, "OK",
			  "Content-Type: " SITE_REQ_CTYPE "\r\n"
			  "Content-Length: %zu\r\n\r\n%s",
			  strlen(body), body);
	free(body);
}

/**
 * Carry a request to the site behind the party's leg: a TListenDisconnect
 * or TListenReconnect one of this site's parties made on a party there
 */
int b2bua_site_ask(struct leg *l, const struct call_leg_cmd *cmd, leg_ask_h *h,
		   void *arg)
{
	struct site_request r = {.disconnect = cmd->disconnect};
	char *body = NULL;
	int err;

	str_ncpy(r.by, cmd->by, sizeof(r.by));
	str_ncpy(r.other, cmd->other, sizeof(r.other));
	err = site_request_encode(&body, &r);
	if (!err)
		err = leg_ask(l, SITE_REQ_CTYPE, body, h, arg);

	free(body);
	return err;
}

/**
 * The other site's answer to a request carried there (the final response
 * to its INFO, or err): to the model, which tells the requester
 */
void b2bua_site_answered(struct call_model *m, uint32_t party, int err,
			 const struct sip_msg *msg)
{
	char why[256] = "", bad[160] = "";
	int result = ETIMEDOUT;

	if (err || !msg)
		re_snprintf(why, sizeof(why),
			    "the site that owns the conference did not "
			    "answer: %m",
			    err);
	else if (msg->scode != 200)
		re_snprintf(why, sizeof(why),
			    "the site that owns the conference answered "
			    "%u %r",
			    msg->scode, &msg->reason);
	else if (site_answer_decode(&result, why, sizeof(why),
				    (const char *)mbuf_buf(msg->mb),
				    mbuf_get_left(msg->mb), bad, sizeof(bad))) {
		result = ETIMEDOUT;
		re_snprintf(why, sizeof(why),
			    "the answer of the site that owns the conference "
			    "is not understood: %s",
			    bad);
	}

	if (result)
		log_info("site", "party %u: request refused there: %s", party,
			 why);
	(void)call_site_answer(m, party, result, why);
}

void b2bua_site_heard(struct sip *sip, struct call_model *m, uint32_t party,
		      const struct sip_msg *msg, const char *music)
{
	enum call_party_state you;
	struct call_remote *v;
	char why[160] = "";
	size_t n = 0;
	int err;

	if (msg_ctype_cmp(&msg->ctyp, "application",
			  "x-sipserver-request+json")) {
		request_heard(sip, m, party, msg, music);
		return;
	}
	if (!msg_ctype_cmp(&msg->ctyp, "application",
			   "x-sipserver-parties+json")) {
		refuse(sip, msg, 415, "Unsupported Media Type",
		       "Accept: " SITE_CTYPE ", " SITE_REQ_CTYPE "\r\n",
		       "INFO in a call carries only " SITE_CTYPE
		       " or " SITE_REQ_CTYPE);
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
