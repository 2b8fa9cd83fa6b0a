/**
 * @file sipsrv.c  SIP transports and request dispatch
 *
 * Owns libre's SIP stack and its listeners: UDP and TCP on sip-address:
 * sip-port, TLS on sip-tls-port when set. Every request gets a first look here: one missing a header
 * that SIP cannot do without is answered 400 naming it, before any module
 * sees it; the rest go to their module by method, and a method nobody
 * handles gets 405 (a SIP method we know) or 501 (one we don't), so no
 * request is left unanswered and libre's own fallback never runs.
 */
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "reg/reg.h"
#include "sip/sipsrv.h"

#define ALLOW "Allow: INVITE, ACK, BYE, CANCEL, REGISTER, OPTIONS, INFO\r\n"

struct sipsrv {
	struct sip *sip;
	struct sip_lsnr *sanity;   /**< first: refuses bad requests */
	struct sip_lsnr *dispatch; /**< last: what no module took */
	struct tls *tls;
	struct reg *reg; /* not owned */
};

/* Methods of RFC 3261 and its extensions that we know but do not serve */
static const char *const known_methods[] = {
	"INFO",	   "UPDATE", "PRACK",	  "REFER",
	"MESSAGE", "NOTIFY", "SUBSCRIBE", "PUBLISH",

};

static void warn_reply(struct sipsrv *srv, const struct sip_msg *msg,
		       uint16_t scode, const char *reason, const char *text)
{
	sipsrv_refuse(srv->sip, msg, "sip", scode, reason,
		      scode == 405 ? ALLOW : NULL, "%s", text);
}

/* RFC 3261 8.1.1: the headers every request must carry */
static const char *missing_header(const struct sip_msg *msg)
{
	if (!pl_isset(&msg->callid))
		return "Call-ID";
	if (!pl_isset(&msg->from.val))
		return "From";
	if (!pl_isset(&msg->to.val))
		return "To";
	if (!pl_isset(&msg->cseq.met))
		return "CSeq";

	return NULL;
}

static bool pl_digits(const struct pl *pl)
{
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}

	return true;
}

static bool is_known(const struct pl *met)

{
	for (size_t i = 0; i < ARRAY_SIZE(known_methods); i++) {
		if (0 == pl_strcmp(met, known_methods[i]))
			return true;
	}

	return false;
}

static void dispatch(struct sipsrv *srv, const struct sip_msg *msg)
{
	if (0 == pl_strcmp(&msg->met, "REGISTER") && srv->reg)
		reg_handle(srv->reg, msg);
	else if (0 == pl_strcmp(&msg->met, "OPTIONS"))
		(void)sip_treplyf(NULL, NULL, srv->sip, msg, false, 200, "OK",
				  ALLOW "Accept: application/sdp\r\n"
					"Content-Length: 0\r\n\r\n");
	else if (0 == pl_strcmp(&msg->met, "CANCEL"))
		(void)sip_reply(srv->sip, msg, 481,
				"Call/Transaction Does Not Exist");
	else if (is_known(&msg->met))
		warn_reply(srv, msg, 405, "Method Not Allowed",
			   "this server does not take that request here");
	else
		warn_reply(srv, msg, 501, "Not Implemented", "unknown method");
}

/** What makes a request unusable, or NULL (not static: fuzz/sip_request.c) */
const char *sipsrv_bad_request(const struct sip_msg *msg, char *buf, size_t sz)
{
	const char *missing = missing_header(msg);

	if (missing) {
		re_snprintf(buf, sz, "missing %s header", missing);
		return buf;
	}
	if (pl_isset(&msg->clen) && (msg->clen.l > 9 || !pl_digits(&msg->clen)))
		return "Content-Length is not a number";

	/* RFC 3261 18.3: a datagram shorter than its Content-Length */
	if (msg->tp == SIP_TRANSP_UDP && pl_isset(&msg->clen) &&
	    pl_u32(&msg->clen) > mbuf_get_left(msg->mb))
		return "Content-Length is larger than the body";

	if (pl_cmp(&msg->cseq.met, &msg->met))
		return "CSeq method differs from the request method";

	return NULL;
}

/* The first listener: a bad request is answered 400 (or dropped when
 * there is nowhere to answer) and no module ever sees it */
static bool sanity_h(const struct sip_msg *msg, void *arg)
{
	struct sipsrv *srv = arg;
	const char *bad;
	char buf[64];

	if (!pl_isset(&msg->via.sentby)) {
		log_info("sip", "%r from %J dropped: no Via header", &msg->met,
			 &msg->src);
		return true;
	}

	bad = sipsrv_bad_request(msg, buf, sizeof(buf));
	if (!bad)
		return false;

	if (0 == pl_strcmp(&msg->met, "ACK"))
		log_info("sip", "ACK from %J dropped: %s", &msg->src, bad);
	else
		warn_reply(srv, msg, 400, "Bad Request", bad);

	return true;
}

/* The last listener: whatever no module took */
static bool dispatch_h(const struct sip_msg *msg, void *arg)
{
	struct sipsrv *srv = arg;

	if (0 == pl_strcmp(&msg->met, "ACK"))
		return true; /* never answered */

	dispatch(srv, msg);
	return true;
}

static void sipsrv_destructor(void *arg)
{
	struct sipsrv *srv = arg;

	mem_deref(srv->dispatch);
	mem_deref(srv->sanity);
	sip_close(srv->sip, true);
	mem_deref(srv->sip);
	mem_deref(srv->tls);
}

static int transports_add(struct sip *sip, const struct cfg *conf)
{
	struct sa laddr = conf->sip_address;
	int err;

	sa_set_port(&laddr, conf->sip_port);

	err = sip_transp_add(sip, SIP_TRANSP_UDP, &laddr);
	if (err) {
		log_error("sip", "cannot listen on UDP %J: %m", &laddr, err);
		return err;
	}

	err = sipsrv_udp_rcvbuf(&laddr);
	if (err)
		log_warn("sip", "UDP %J: receive buffer left as is: %m", &laddr,
			 err);

	err = sip_transp_add(sip, SIP_TRANSP_TCP, &laddr);
	if (err) {
		log_error("sip", "cannot listen on TCP %J: %m", &laddr, err);
		return err;
	}

	err = sipsrv_tcp_backlog(&laddr);
	if (err)
		log_warn("sip", "TCP %J: listen backlog left as is: %m", &laddr,
			 err);

	log_info("sip", "listening on %J (UDP and TCP)", &laddr);
	return 0;
}

static int tls_add(struct sipsrv *srv, const struct cfg *conf)
{
	struct sa laddr = conf->sip_address;
	int err;

	if (!conf->sip_tls_port)
		return 0;

	sa_set_port(&laddr, conf->sip_tls_port);
	err = tls_alloc(&srv->tls, TLS_METHOD_SSLV23, conf->tls_certificate,
			NULL);
	if (!err)
		err = sip_transp_add(srv->sip, SIP_TRANSP_TLS, &laddr,
				     srv->tls);
	if (err) {
		log_error("sip", "cannot listen on TLS %J with %s: %m", &laddr,
			  conf->tls_certificate, err);
		return err;
	}

	if (sipsrv_tcp_backlog(&laddr))
		log_warn("sip", "TLS %J: listen backlog left as is", &laddr);
	log_info("sip", "listening on %J (TLS)", &laddr);
	return 0;
}

int sipsrv_alloc(struct sipsrv **srvp, const struct cfg *conf)
{
	struct sipsrv *srv;
	int err;

	if (!srvp || !conf)
		return EINVAL;

	srv = mem_zalloc(sizeof(*srv), sipsrv_destructor);
	if (!srv)
		return ENOMEM;

	err = sip_alloc(&srv->sip, NULL, 4096, 4096, 4096,
			"sipserver/" SIPSERVER_VERSION, NULL, NULL);
	if (!err)
		err = transports_add(srv->sip, conf);
	if (!err)
		err = tls_add(srv, conf);
	if (!err)
		err = sip_listen(&srv->sanity, srv->sip, true, sanity_h, srv);
	if (err) {
		mem_deref(srv);
		return err;
	}

	*srvp = srv;
	return 0;
}

struct sip *sipsrv_sip(const struct sipsrv *srv)
{
	return srv ? srv->sip : NULL;
}

/**
 * Add the catch-all listener, after every module's own (libre asks
 * listeners in the order they were added)
 */
int sipsrv_listen(struct sipsrv *srv)
{
	if (!srv || srv->dispatch)
		return EINVAL;

	return sip_listen(&srv->dispatch, srv->sip, true, dispatch_h, srv);
}

void sipsrv_reg_set(struct sipsrv *srv, struct reg *reg)
{
	if (srv)
		srv->reg = reg;
}
