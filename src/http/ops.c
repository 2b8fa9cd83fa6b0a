/**
 * @file ops.c  The operator's pages: which path, who may read it, the reply
 *
 * GET or HEAD of /status or /metrics, from an address in
 * http-status-allow (loopback by default): http-address decides who
 * reaches the HTTP port at all, and a desktop for agents on other hosts
 * needs it open to them, while these pages are for the operator and the
 * scraper only. Anyone else gets 403, any other method 405; both change
 * nothing. The page is made from a sample of the whole server that the
 * app takes (httpd_ops_set), so this module needs no handle on the rest
 * and the HTTP server's own wiring stays as it is. The sample is taken
 * only for a reader who may see it.
 */
#include <stdlib.h>
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
#include "stats/stats.h"
#include "cfg/cfg.h"
#include "call/call.h"
#include "call/census.h"
#include "tlib/tsrv.h"
#include "media/media.h"
#include "http/sample.h"
#include "http/ops.h"

typedef int(render_h)(struct mbuf *mb, const struct httpd_sample *s);

static const struct page {
	const char *path;
	const char *ctype;
	render_h *render;
} pages[] = {
	{"/status", "application/json", httpd_status_render},
	{"/metrics", "text/plain; version=0.0.4; charset=utf-8",
	 httpd_metrics_render},
};

static struct httpd_ops source;

/** Where the pages' data comes from, while the server runs; NULL: nowhere
 * (the pages answer 503) */
void httpd_ops_set(const struct httpd_ops *ops)
{
	if (ops)
		source = *ops;
	else
		memset(&source, 0, sizeof(source));
}

static void text_reply(struct http_conn *hc, uint16_t scode, const char *reason,
		       const char *extra, const char *text)
{
	(void)http_reply(hc, scode, reason,
			 "%s"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%s",
			 extra ? extra : "", strlen(text), text);
}

static bool allowed(const struct sa *peer)
{
	const struct cfg *cfg = source.cfg(source.arg);

	return cfg && cfg_nets_match(cfg->http_status_allow, peer);
}

static void page_reply(struct http_conn *hc, const struct http_msg *msg,
		       const struct page *pg)
{
	bool head = 0 == pl_strcmp(&msg->met, "HEAD");
	struct httpd_sample *s = mem_zalloc(sizeof(*s), NULL);
	struct mbuf *mb = mbuf_alloc(16384);
	int err = ENOMEM;

	if (s && mb) {
		source.sample(s, source.arg);
		err = pg->render(mb, s);
	}
	mem_deref(s);
	if (err) {
		log_warn("http", "%s: %m", pg->path, err);
		text_reply(hc, 500, "Internal Server Error", NULL,
			   "the page could not be made\n");
		mem_deref(mb);
		return;
	}

	(void)http_reply(hc, 200, "OK",
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n"
			 "%b",
			 pg->ctype, mb->end, mb->buf,
			 head ? (size_t)0 : mb->end);
	mem_deref(mb);
}

static void serve(struct http_conn *hc, const struct http_msg *msg,
		  const struct page *pg)
{
	const struct sa *peer = http_conn_peer(hc);

	if (!source.cfg || !source.sample) {
		text_reply(hc, 503, "Service Unavailable", NULL,
			   "the server is starting or stopping\n");
		return;
	}

	if (!allowed(peer)) {
		log_info("http", "%J: %s refused: not in http-status-allow",
			 peer, pg->path);
		text_reply(hc, 403, "Forbidden", NULL,
			   "this address is not in http-status-allow\n");
	} else if (pl_strcmp(&msg->met, "GET") &&
		   pl_strcmp(&msg->met, "HEAD")) {
		text_reply(hc, 405, "Method Not Allowed",
			   "Allow: GET, HEAD\r\n", "only GET and HEAD here\n");
	} else {
		page_reply(hc, msg, pg);
	}
}

/**
 * Serve the request if it is for one of the operator's pages
 *
 * @return true if it was (it has been answered), false to look elsewhere
 */
bool httpd_ops_serve(struct http_conn *hc, const struct http_msg *msg)
{
	if (!hc || !msg)
		return false;

	for (size_t i = 0; i < ARRAY_SIZE(pages); i++) {
		if (0 == pl_strcmp(&msg->path, pages[i].path)) {
			serve(hc, msg, &pages[i]);
			return true;
		}
	}

	return false;
}
