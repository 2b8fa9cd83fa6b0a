/**
 * @file ua.c  The generator's SIP user agent: phones 2000, 2001, 2002 and
 *             the caller gen, all on one UDP socket
 *
 * Conferences are built through sipserver's real SIP interface: the three
 * callee DNs REGISTER with this socket as their Contact, every INVITE
 * the server sends them is answered at once (200 with SDP naming a fresh
 * RTP party of the worker), and the caller gen places INVITEs to 2000,
 * each offering a fresh party of its own, at a steady rate (a 20 ms
 * timer that reads the ramp's target, with at most a second's worth of
 * calls unfinished) until the target is reached. cti.c then turns each
 * call into a conference of 4. A session that closes, a refused call or a failed registration is
 * fatal: the figures would no longer be those of the parties counted.
 * libre: sip + sipsess + sipreg on the main thread's loop.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <re.h>
#include "lg.h"

enum {
	PACE_MS = 20,
	HASH_SIZE = 2048,
	REG_EXPIRES = 3600,
	CALLEES = LG_CONF_SIZE - 1,
};

struct reg {
	struct lg_ua *ua;
	struct sipreg *reg;
	unsigned idx; /**< index of the DN in lg_dn */
	bool ok;
};

struct lg_ua {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct reg regs[CALLEES];
	struct lg_rtp *rtp;
	struct lg_progress *pg;
	struct list calls;
	struct tmr pace;
	unsigned rate;
	uint64_t last; /**< [ms] the pacer's last run */
	double budget; /**< calls that may be placed now */
	unsigned placed;
	bool stopping;
};

/** One dialog, incoming or outgoing, and its RTP party */
struct call {
	struct le le;
	struct lg_ua *ua;
	struct sipsess *sess;
	struct sa remote; /**< the server's RTP address for this party */
	size_t party;
	uint16_t port;
	unsigned tone; /**< index of the DN in lg_dn */
	bool started;
};

static void call_destructor(void *arg)
{
	struct call *c = arg;

	list_unlink(&c->le);
	mem_deref(c->sess);
}

/* Our SDP: PCMU only, the party's port */
static int sdp_make(struct mbuf **mbp, uint16_t port)
{
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb,
			  "v=0\r\n"
			  "o=- %u 1 IN IP4 127.0.0.1\r\n"
			  "s=loadgen\r\n"
			  "c=IN IP4 127.0.0.1\r\n"
			  "t=0 0\r\n"
			  "m=audio %u RTP/AVP 0\r\n"
			  "a=rtpmap:0 PCMU/8000\r\n"
			  "a=ptime:20\r\n"
			  "a=sendrecv\r\n",
			  port, port);
	mb->pos = 0;
	if (err)
		mem_deref(mb);
	else
		*mbp = mb;
	return err;
}

/* The server's RTP address from its SDP */
static int sdp_remote(const struct mbuf *mb, struct sa *sa)
{
	const char *p = mb ? (const char *)mbuf_buf(mb) : NULL;
	size_t n = mb ? mbuf_get_left(mb) : 0;
	struct pl addr, port;

	if (!n || re_regex(p, n, "c=IN IP4 [0-9.]+", &addr) ||
	    re_regex(p, n, "m=audio [0-9]+", &port))
		return EBADMSG;

	return sa_set(sa, &addr, (uint16_t)pl_u32(&port));
}

static int party_start(struct call *c, const struct sip_msg *msg)
{
	int err = sdp_remote(msg->mb, &c->remote);

	err = err ? err : lg_rtp_party_start(c->ua->rtp, c->party, &c->remote);
	if (!err) {
		c->started = true;
		atomic_fetch_add(&c->ua->pg->parties, 1);
	}
	return err;
}

/* --- session handlers, both directions --- */

/* A re-INVITE: the same answer; a move of the server's port is fatal */
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	struct sa remote;

	if (sdp_remote(msg->mb, &remote) ||
	    !sa_cmp(&remote, &c->remote, SA_ALL))
		lg_fail(c->ua->pg, "a re-INVITE to %s moved its media",
			lg_dn[c->tone]);

	return sdp_make(descp, c->port);
}

/* The 200 to gen's INVITE: the server's port for gen's party */
static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	int err = c->started ? 0 : party_start(c, msg);

	if (err)
		lg_fail(c->ua->pg, "gen's call: no usable SDP answer: %m", err);
	return err;
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	(void)msg;

	atomic_fetch_add(c->tone ? &c->ua->pg->in_estab : &c->ua->pg->out_estab,
			 1);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;

	if (c->ua->stopping)
		return;

	if (msg && msg->scode >= 300)
		lg_fail(c->ua->pg, "a call of %s failed: %u %r", lg_dn[c->tone],
			msg->scode, &msg->reason);
	else
		lg_fail(c->ua->pg, "a call of %s was closed: %m",
			lg_dn[c->tone], err);
}

/* --- incoming: the server calls 2000, 2001 or 2002 --- */

static unsigned callee_of(const struct sip_msg *msg)
{
	for (unsigned i = 1; i < LG_CONF_SIZE; i++) {
		if (!pl_strcmp(&msg->uri.user, lg_dn[i]))
			return i;
	}

	return 0;
}

static int answer(struct lg_ua *ua, const struct sip_msg *msg, unsigned tone)
{
	struct call *c = mem_zalloc(sizeof(*c), call_destructor);
	struct mbuf *sdp = NULL;
	int err;

	if (!c)
		return ENOMEM;

	c->ua = ua;
	c->tone = tone;
	list_append(&ua->calls, &c->le, c);
	err = lg_rtp_party_open(ua->rtp, tone, &c->port, &c->party);
	err = err ? err : sdp_make(&sdp, c->port);
	err = err ? err
		  : sipsess_accept(&c->sess, ua->sock, msg, 200, "OK",
				   lg_dn[tone], "application/sdp", sdp, NULL,
				   NULL, false, offer_h, answer_h, estab_h,
				   NULL, NULL, close_h, c, NULL);
	mem_deref(sdp);
	err = err ? err : party_start(c, msg);
	if (err)
		mem_deref(c);
	return err;
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct lg_ua *ua = arg;
	unsigned tone = callee_of(msg);
	int err;

	if (!tone) {
		(void)sip_treply(NULL, ua->sip, msg, 404, "Not Found");
		lg_fail(ua->pg, "an INVITE for %r", &msg->uri.user);
		return;
	}

	err = answer(ua, msg, tone);
	if (err) {
		(void)sip_treply(NULL, ua->sip, msg, 500, "Server Error");
		lg_fail(ua->pg, "cannot answer an INVITE for %s: %m",
			lg_dn[tone], err);
	}
}

/* --- outgoing: gen calls 2000 --- */

static int call_place(struct lg_ua *ua)
{
	struct call *c = mem_zalloc(sizeof(*c), call_destructor);
	char to[64], from[64];
	struct mbuf *sdp = NULL;
	int err;

	if (!c)
		return ENOMEM;

	c->ua = ua;
	list_append(&ua->calls, &c->le, c);
	re_snprintf(to, sizeof(to), "sip:%s@127.0.0.1:%u", lg_dn[1],
		    LG_SRV_SIP);
	re_snprintf(from, sizeof(from), "sip:%s@127.0.0.1", lg_dn[0]);
	err = lg_rtp_party_open(ua->rtp, 0, &c->port, &c->party);
	err = err ? err : sdp_make(&sdp, c->port);
	err = err ? err
		  : sipsess_connect(&c->sess, ua->sock, to, lg_dn[0], from,
				    lg_dn[0], NULL, 0, "application/sdp", sdp,
				    NULL, NULL, false, offer_h, answer_h, NULL,
				    estab_h, NULL, NULL, close_h, c, NULL);
	mem_deref(sdp);
	if (err)
		mem_deref(c);
	return err;
}

/* Place calls at the configured rate, at most a second's worth pending */
static void pace_h(void *arg)
{
	struct lg_ua *ua = arg;
	unsigned target = atomic_load(&ua->pg->target);
	unsigned done = atomic_load(&ua->pg->confs);
	uint64_t now = tmr_jiffies();
	int err = 0;

	ua->budget += (double)ua->rate * (double)(now - ua->last) / 1000.0;
	if (ua->budget > ua->rate / 10.0 + 1)
		ua->budget = ua->rate / 10.0 + 1;
	ua->last = now;

	while (!err && ua->budget >= 1 && ua->placed < target &&
	       ua->placed - done < ua->rate) {
		err = call_place(ua);
		ua->budget -= 1;
		++ua->placed;
		atomic_store(&ua->pg->placed, ua->placed);
	}

	if (err)
		lg_fail(ua->pg, "cannot call %s: %m", lg_dn[1], err);
	else
		tmr_start(&ua->pace, PACE_MS, pace_h, ua);
}

/** From now on sessions may close: the run is over */
void lg_ua_stopping(struct lg_ua *ua)
{
	ua->stopping = true;
}

/* --- registrations --- */

static void reg_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct reg *r = arg;

	if (err || !msg || msg->scode >= 300) {
		if (!r->ua->stopping)
			lg_fail(r->ua->pg, "REGISTER %s: %m %u", lg_dn[r->idx],
				err, msg ? msg->scode : 0);
		return;
	}
	if (msg->scode >= 200 && !r->ok) {
		r->ok = true;
		atomic_fetch_add(&r->ua->pg->registered, 1);
	}
}

static int regs_start(struct lg_ua *ua)
{
	char reg_uri[64], aor[64];
	int err = 0;

	re_snprintf(reg_uri, sizeof(reg_uri), "sip:127.0.0.1:%u", LG_SRV_SIP);
	for (unsigned i = 0; !err && i < CALLEES; i++) {
		struct reg *r = &ua->regs[i];

		r->ua = ua;
		r->idx = i + 1;
		re_snprintf(aor, sizeof(aor), "sip:%s@127.0.0.1",
			    lg_dn[r->idx]);
		err = sipreg_register(&r->reg, ua->sip, reg_uri, aor, NULL, aor,
				      REG_EXPIRES, lg_dn[r->idx], NULL, 0, 0,
				      NULL, NULL, false, reg_resp_h, r, NULL,
				      NULL);
	}

	return err;
}

/* --- the user agent --- */

static void ua_destructor(void *arg)
{
	struct lg_ua *ua = arg;

	ua->stopping = true;
	tmr_cancel(&ua->pace);
	list_flush(&ua->calls);
	for (unsigned i = 0; i < CALLEES; i++)
		ua->regs[i].reg = mem_deref(ua->regs[i].reg);
	if (ua->sip)
		sip_close(ua->sip, true);
	mem_deref(ua->sock);
	mem_deref(ua->sip);
}

/**
 * The user agent on 127.0.0.1:LG_UA_SIP; registers the callee DNs at once
 * (pg->registered counts the 200s)
 *
 * @param rate Calls placed per second
 */
int lg_ua_alloc(struct lg_ua **uap, struct lg_rtp *rtp, struct lg_progress *pg,
		unsigned rate)
{
	struct lg_ua *ua = mem_zalloc(sizeof(*ua), ua_destructor);
	struct sa laddr;
	int err;

	if (!ua)
		return ENOMEM;

	ua->rtp = rtp;
	ua->pg = pg;
	ua->rate = rate;
	ua->last = tmr_jiffies();
	tmr_init(&ua->pace);
	list_init(&ua->calls);
	sa_set_str(&laddr, "127.0.0.1", LG_UA_SIP);

	err = sip_alloc(&ua->sip, NULL, HASH_SIZE, HASH_SIZE, HASH_SIZE,
			"loadgen", NULL, NULL);
	err = err ? err : sip_transp_add(ua->sip, SIP_TRANSP_UDP, &laddr);
	err = err ? err
		  : sipsess_listen(&ua->sock, ua->sip, HASH_SIZE, conn_h, ua);
	err = err ? err : regs_start(ua);
	if (!err)
		tmr_start(&ua->pace, PACE_MS, pace_h, ua);
	if (err)
		mem_deref(ua);
	else
		*uap = ua;
	return err;
}
