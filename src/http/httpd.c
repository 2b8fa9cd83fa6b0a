/**
 * @file httpd.c  The HTTP server on http-address:http-port
 *
 * One port for everything a browser needs, so a desktop needs one address:
 * /status and /metrics for the operator (ops.c, readers limited by
 * http-status-allow); GET /tlib upgrades to a WebSocket carrying tlib/1
 * (one message per text frame); any other path is a file of the web
 * desktop (web-root, static.c). http-port = 0 turns the port off.
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_msg.h>
#include <re_tcp.h>
#include <re_http.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "tlib/tsrv.h"
#include "http/httpd.h"
#include "http/static.h"
#include "http/ops.h"

struct httpd {
	struct http_sock *hs;
	struct tsrv *tsrv; /* not owned */
	struct httpd_static *files;
};

static int hdr_print(struct re_printf *pf, const struct http_hdr *h)
{
	return h ? re_hprintf(pf, "%r", &h->val) : 0;
}

/*
 * A browser names the page that opens a WebSocket in Origin. Without this
 * check any web page an agent visits could drive tlib/1 through the
 * agent's browser, on a port bound to loopback or the LAN (cross-site
 * WebSocket hijacking): only a page of this server itself may. A client
 * that is not a browser sends no Origin and is not concerned.
 */
static bool origin_ok(const struct http_msg *msg)
{
	const struct http_hdr *o = http_msg_xhdr(msg, "Origin");
	const struct http_hdr *host = http_msg_hdr(msg, HTTP_HDR_HOST);
	struct pl scheme, rest;

	if (!o)
		return true;
	if (!host ||
	    re_regex(o->val.p, o->val.l, "[a-z]+://[^/]+", &scheme, &rest))
		return false;
	if (pl_strcasecmp(&scheme, "http") && pl_strcasecmp(&scheme, "https"))
		return false;

	return rest.p + rest.l == o->val.p + o->val.l &&
	       0 == pl_casecmp(&rest, &host->val);
}

static void req_h(struct http_conn *hc, const struct http_msg *msg, void *arg)
{
	struct httpd *h = arg;

	if (httpd_ops_serve(hc, msg))
		return; /* /status, /metrics */
	if (0 == pl_strcmp(&msg->path, "/tlib") && !origin_ok(msg)) {
		log_warn("http",
			 "%J: WebSocket from another site's page "
			 "refused (Origin %H)",
			 http_conn_peer(hc), hdr_print,
			 http_msg_xhdr(msg, "Origin"));
		(void)http_creply(hc, 403, "Forbidden", "text/plain",
				  "/tlib: Origin is not this server\n");
		return;
	}
	if (0 == pl_strcmp(&msg->path, "/tlib")) {
		if (tsrv_ws_accept(h->tsrv, hc, msg))
			(void)http_creply(hc, 400, "Bad Request", "text/plain",
					  "/tlib takes a WebSocket upgrade "
					  "(version 13)\n");
		return;
	}

	httpd_static_serve(h->files, hc, msg);
}

static void httpd_destructor(void *arg)
{
	struct httpd *h = arg;

	mem_deref(h->hs);
	mem_deref(h->files);
}

int httpd_alloc(struct httpd **hp, const struct cfg *cfg, struct tsrv *tsrv)
{
	struct httpd *h;
	struct sa laddr;
	int err;

	if (!hp || !cfg)
		return EINVAL;

	*hp = NULL;
	if (!cfg->http_port)
		return 0; /* off */

	h = mem_zalloc(sizeof(*h), httpd_destructor);
	if (!h)
		return ENOMEM;

	h->tsrv = tsrv;
	err = httpd_static_alloc(&h->files, cfg->web_root);
	if (err) {
		mem_deref(h);
		return err;
	}

	laddr = cfg->http_address;
	sa_set_port(&laddr, cfg->http_port);
	err = http_listen(&h->hs, &laddr, req_h, h);
	if (err) {
		log_error("http", "cannot listen on TCP %J: %m", &laddr, err);
		mem_deref(h);
		return err;
	}

	log_info("http", "HTTP on %J (WebSocket CTI at /tlib, desktop from %s)",
		 &laddr, cfg->web_root);
	*hp = h;
	return 0;
}
