/**
 * @file httpd.c  The HTTP server on http-address:http-port
 *
 * One port for everything a browser needs, so a desktop needs one address:
 * GET /tlib upgrades to a WebSocket carrying tlib/1 (one message per text
 * frame). Anything else is 404 until the status, metrics and desktop
 * pages exist. http-port = 0 turns the port off.
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
#include "http/ops.h"

struct httpd {
	struct http_sock *hs;
	struct tsrv *tsrv; /* not owned */
};

static void req_h(struct http_conn *hc, const struct http_msg *msg, void *arg)
{
	struct httpd *h = arg;

	if (httpd_ops_serve(hc, msg))
		return; /* /status, /metrics */
	if (0 == pl_strcmp(&msg->path, "/tlib")) {
		if (tsrv_ws_accept(h->tsrv, hc, msg))
			(void)http_creply(hc, 400, "Bad Request", "text/plain",
					  "/tlib takes a WebSocket upgrade "
					  "(version 13)\n");
		return;
	}

	(void)http_creply(hc, 404, "Not Found", "text/plain", "nothing at %r\n",
			  &msg->path);
}

static void httpd_destructor(void *arg)
{
	struct httpd *h = arg;

	mem_deref(h->hs);
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
	laddr = cfg->http_address;
	sa_set_port(&laddr, cfg->http_port);
	err = http_listen(&h->hs, &laddr, req_h, h);
	if (err) {
		log_error("http", "cannot listen on TCP %J: %m", &laddr, err);
		mem_deref(h);
		return err;
	}

	log_info("http", "HTTP on %J (WebSocket CTI at /tlib)", &laddr);
	*hp = h;
	return 0;
}
