/**
 * @file reg.c  The registrar's SIP side: REGISTER in, bindings and replies out
 *
 * Turns a REGISTER into calls on the pure binding store and digest checker,
 * and their answers into SIP replies. Every refusal names what was wrong in
 * a Warning header (code 399) and a log line, and changes no binding.
 * Bindings are timed on libre's monotonic clock (tmr_jiffies); a sweep once
 * a second removes the expired ones and logs each.
 */
#include <stdarg.h>
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "reg/reg.h"
#include "sip/sipsrv.h"

enum {
	SWEEP_INTERVAL = 1000, /* [ms] */
	MAX_CONTACTS = 32,     /* Contact values one REGISTER may carry */
};

struct reg {
	struct sip *sip;
	const struct cfg *conf;
	struct reg_bindings *bs;
	struct reg_auth *auth;
	struct reg_limit *lim;
	struct tmr sweep;
};

/** Contacts parsed from one REGISTER */
struct contacts {
	struct reg_contact v[MAX_CONTACTS];
	size_t n;
	bool star;
	const char *bad; /* why parsing failed, or NULL */
	const struct sip_msg *msg;
};

static void expired_h(const char *dn, const struct reg_binding *b, void *arg)
{
	(void)arg;
	log_info("reg", "%s: binding %s expired", dn, b->uri);
}

static void sweep_h(void *arg)
{
	struct reg *reg = arg;

	(void)reg_bindings_expire(reg->bs, tmr_jiffies(), expired_h, NULL);
	tmr_start(&reg->sweep, SWEEP_INTERVAL, sweep_h, reg);
}

static void reg_destructor(void *arg)
{
	struct reg *reg = arg;

	tmr_cancel(&reg->sweep);
	mem_deref(reg->bs);
	mem_deref(reg->auth);
	mem_deref(reg->lim);
	mem_deref((void *)reg->conf);
	mem_deref(reg->sip);
}

int reg_alloc(struct reg **regp, struct sip *sip, const struct cfg *conf)
{
	struct reg *reg;
	int err;

	if (!regp || !sip || !conf)
		return EINVAL;

	reg = mem_zalloc(sizeof(*reg), reg_destructor);
	if (!reg)
		return ENOMEM;

	reg->sip = mem_ref(sip);
	reg->conf = mem_ref((void *)conf);
	err = reg_bindings_alloc(&reg->bs);
	err = err ? err : reg_auth_alloc(&reg->auth);
	err = err ? err : reg_limit_alloc(&reg->lim);
	if (err) {
		mem_deref(reg);
		return err;
	}

	tmr_start(&reg->sweep, SWEEP_INTERVAL, sweep_h, reg);
	*regp = reg;
	return 0;
}

static bool keep_dn(const char *dn, void *arg)
{
	const struct cfg_dn *cdn = cfg_dn_find(arg, dn);

	if (cdn && cdn->type == CFG_DN_EXTENSION)
		return true;

	log_info("reg",
		 "%s: no longer a configured Extension: bindings "
		 "removed",
		 dn);
	return false;
}

/**
 * Switch to a new configuration: DNs it no longer has lose their bindings
 */
void reg_conf_set(struct reg *reg, const struct cfg *conf)
{
	if (!reg || !conf)
		return;

	(void)reg_bindings_retain(reg->bs, keep_dn, (void *)conf);
	mem_deref((void *)reg->conf);
	reg->conf = mem_ref((void *)conf);
}

const struct reg_bindings *reg_bindings(const struct reg *reg)
{
	return reg ? reg->bs : NULL;
}

#define refuse(reg, msg, scode, reason, ...)                                   \
	sipsrv_refuse((reg)->sip, (msg), "reg", (scode), (reason), NULL,       \
		      __VA_ARGS__)

static bool all_digits(const struct pl *pl)
{
	if (!pl_isset(pl) || pl->l > 10)
		return false;

	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return true;
}

/* Expires: the contact's parameter wins over the header (RFC 3261 10.2.1) */
static const char *contact_expires(uint32_t *expp, const struct sip_addr *addr,
				   const struct sip_msg *msg)
{
	struct pl pl;

	if (0 == msg_param_decode(&addr->params, "expires", &pl)) {
		if (!all_digits(&pl))
			return "a Contact has a bad expires parameter";
	} else if (pl_isset(&msg->expires)) {
		pl = msg->expires;
		if (!all_digits(&pl))
			return "the Expires header is not a number";
	} else {
		*expp = REG_DEFAULT_EXPIRES;
		return NULL;
	}

	*expp = MIN(pl_u32(&pl), (uint32_t)REG_MAX_EXPIRES);
	return NULL;
}

static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct contacts *cs = arg;
	struct sip_addr addr;
	struct reg_contact *c;

	(void)msg;

	if (0 == pl_strcmp(&hdr->val, "*")) {
		cs->star = true;
		return false;
	}
	if (cs->n >= MAX_CONTACTS) {
		cs->bad = "more Contact values than the 32 allowed";
		return true;
	}
	if (sip_addr_decode(&addr, &hdr->val) ||
	    (pl_strcasecmp(&addr.uri.scheme, "sip") &&
	     pl_strcasecmp(&addr.uri.scheme, "sips"))) {
		cs->bad = "a Contact is not a sip: or sips: address";
		return true;
	}

	c = &cs->v[cs->n];
	cs->bad = contact_expires(&c->expires, &addr, cs->msg);
	if (cs->bad)
		return true;

	c->uri = addr.auri;
	++cs->n;
	return false;
}

static const char *contacts_parse(struct contacts *cs,
				  const struct sip_msg *msg)
{
	memset(cs, 0, sizeof(*cs));
	cs->msg = msg;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, cs);
	if (cs->bad)
		return cs->bad;

	/* RFC 3261 10.3 step 6: "*" only alone and with Expires: 0 */
	if (cs->star &&
	    (cs->n || !pl_isset(&msg->expires) || pl_u32(&msg->expires) != 0 ||
	     !all_digits(&msg->expires)))
		return "Contact: * needs Expires: 0 and no other Contact";

	return NULL;
}

/** What is wrong with a REGISTER's Contact and Expires headers, or NULL
 * (its first look, alone: fuzz/sip_request.c) */
const char *reg_contacts_check(const struct sip_msg *msg)
{
	struct contacts cs;

	return contacts_parse(&cs, msg);
}

/* A REGISTER is challenged by the registrar (401), any other request by
 * the server acting as the phone's proxy (407), RFC 3261 22.3 */
static void challenge(struct reg *reg, const struct sip_msg *msg, bool proxy,
		      bool stale)
{
	char nonce[64];

	if (reg_auth_nonce(reg->auth, tmr_jiffies(), nonce, sizeof(nonce)))
		return;

	log_debug("reg", "%r %r from %J: challenged%s", &msg->met,
		  &msg->from.uri.user, &msg->src,
		  stale ? " (stale nonce)" : "");
	(void)sip_treplyf(
		NULL, NULL, reg->sip, msg, false, proxy ? 407 : 401,
		proxy ? "Proxy Authentication Required" : "Unauthorized",
		"%s: Digest realm=\"%s\", "
		"nonce=\"%s\", algorithm=MD5, qop=\"auth\"%s\r\n"
		"Content-Length: 0\r\n\r\n",
		proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
		reg->conf->location, nonce, stale ? ", stale=true" : "");
}

/* auth-fail-limit reached: 403 unchecked and unlogged (the block's start
 * was logged once; a guesser's flood must not flood the log) */
static void refuse_blocked(struct reg *reg, const struct sip_msg *msg)
{
	(void)sip_treplyf(NULL, NULL, reg->sip, msg, false, 403, "Forbidden",
			  "Warning: 399 sipserver \"too many failed "
			  "authentications from this address; try later\"\r\n"
			  "Content-Length: 0\r\n\r\n");
}

/**
 * Check a request's digest credentials for a DN with a password
 *
 * @param proxy true for requests other than REGISTER (407 and
 *              Proxy-Authorization instead of 401 and Authorization)
 *
 * @return true if authorized; otherwise the request has been answered
 *         (challenge, 400 or 403)
 */
bool reg_authorize(struct reg *reg, const struct sip_msg *msg,
		   const struct cfg_dn *cdn, bool proxy)
{
	const struct sip_hdr *hdr;
	uint64_t now = tmr_jiffies();

	if (!cdn->password)
		return true;

	if (reg_limit_blocked(reg->lim, &msg->src, now)) {
		refuse_blocked(reg, msg);
		return false;
	}

	hdr = sip_msg_hdr(msg, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				     : SIP_HDR_AUTHORIZATION);
	switch (reg_auth_check(reg->auth, hdr ? &hdr->val : NULL, &msg->met,
			       cdn->name, reg->conf->location, cdn->password,
			       now)) {
	case REG_AUTH_OK:
		return true;
	case REG_AUTH_CHALLENGE:
		challenge(reg, msg, proxy, false);
		return false;
	case REG_AUTH_STALE:
		challenge(reg, msg, proxy, true);
		return false;
	case REG_AUTH_MALFORMED:
		refuse(reg, msg, 400, "Bad Request",
		       "the Authorization header is not a Digest MD5 "
		       "qop=auth response");
		return false;
	case REG_AUTH_FORBIDDEN:
	default:
		refuse(reg, msg, 403, "Forbidden",
		       "wrong user name or password for DN %s", cdn->name);
		if (reg_limit_fail(reg->lim, &msg->src,
				   reg->conf->auth_fail_limit, now))
			log_warn("reg",
				 "%j: %u failed authentications within a "
				 "minute (auth-fail-limit): refused for 5 "
				 "minutes without checking",
				 &msg->src, reg->conf->auth_fail_limit);
		return false;
	}
}

static void contact_print_h(const char *dn, const struct reg_binding *b,
			    void *arg)
{
	struct mbuf *mb = arg;
	uint64_t now = tmr_jiffies();
	(void)dn;

	(void)mbuf_printf(
		mb, "Contact: <%s>;expires=%llu\r\n", b->uri,
		(unsigned long long)((b->expires - now + 999) / 1000));
}

static void accept_reg(struct reg *reg, const struct sip_msg *msg,
		       const char *dn, uint64_t now)
{
	struct mbuf *mb = mbuf_alloc(512);

	if (!mb)
		return;

	reg_bindings_foreach(reg->bs, dn, now, contact_print_h, mb);
	(void)sip_treplyf(NULL, NULL, reg->sip, msg, false, 200, "OK",
			  "%bContent-Length: 0\r\n\r\n", mb->buf, mb->end);
	mem_deref(mb);
}

static void apply(struct reg *reg, const struct sip_msg *msg,
		  const struct cfg_dn *cdn, const struct contacts *cs,
		  uint64_t now)
{
	const struct reg_request rq = {
		.dn = cdn->name,
		.callid = msg->callid,
		.cseq = msg->cseq.num,
		.src = msg->src,
		.tp = msg->tp,
	};
	int err;

	err = cs->star ? reg_bindings_clear(reg->bs, &rq, now)
		       : reg_bindings_update(reg->bs, &rq, cs->v, cs->n, now);
	if (err == EALREADY) {
		refuse(reg, msg, 500, "Server Internal Error",
		       "CSeq %u is not above the last REGISTER of this "
		       "Call-ID",
		       rq.cseq);
		return;
	}
	if (err == ENOSPC) {
		refuse(reg, msg, 403, "Forbidden",
		       "DN %s would have more than %u contacts", cdn->name,
		       REG_MAX_BINDINGS);
		return;
	}
	if (err) {
		refuse(reg, msg, 500, "Server Internal Error", "%m", err);
		return;
	}

	if (cs->star || cs->n)
		log_info("reg", "%s: %s from %J over %s: %u contact(s) now",
			 cdn->name,
			 cs->star ? "unregistered all" : "registered",
			 &msg->src, sip_transp_name(msg->tp),
			 reg_bindings_count(reg->bs, cdn->name, now));
	accept_reg(reg, msg, cdn->name, now);
}

/**
 * Handle one REGISTER request: reply to it, always
 */
void reg_handle(struct reg *reg, const struct sip_msg *msg)
{
	const struct cfg_dn *cdn;
	struct contacts cs;
	uint64_t now = tmr_jiffies();
	const char *bad;

	if (!reg || !msg)
		return;

	cdn = cfg_dn_find_pl(reg->conf, &msg->to.uri.user);
	if (!cdn || cdn->type != CFG_DN_EXTENSION) {
		refuse(reg, msg, 403, "Forbidden",
		       "DN %r is not a configured Extension",
		       &msg->to.uri.user);
		return;
	}

	if (!reg_authorize(reg, msg, cdn, false))
		return;

	bad = contacts_parse(&cs, msg);
	if (bad) {
		refuse(reg, msg, 400, "Bad Request", "%s", bad);
		return;
	}

	apply(reg, msg, cdn, &cs, now);
}
