/**
 * @file session.c  One CTI client's connection: lines in, lines out
 *
 * Over TCP, TLS (libre's layer on the TCP connection: the same bytes once
 * decrypted) or WebSocket (one message per text frame, without the
 * newline); the rest of the server sees lines either way. Over TCP it reads
 * bytes
 * into lines (at most 65,536 bytes each; a longer line is
 * answered with EventError 53 and skipped up to its end), and writes
 * events through libre's TCP send queue, bounded: a client that does not
 * read is cut off when its unsent output passes 4 MiB, with a log line,
 * so that it never delays anyone else.
 */
#include <string.h>
/* not <re.h>: its re_json.h clashes with jansson's JSON_STRING */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include <re_msg.h>
#include <re_http.h>
#include <re_websock.h>
#include "log/log.h"
#include "tlib/priv.h"
#include "tlib/session.h"

static void session_destructor(void *arg)
{
	struct tsrv_session *ss = arg;

	list_unlink(&ss->le);
	tmr_cancel(&ss->hs);
	tmr_cancel(&ss->open);
	mem_deref(ss->wc);
	/* TLS first: it holds tc and is a helper layer on it */
	mem_deref(ss->sc);
	mem_deref(ss->tc);
	mem_deref(ss->line);
	mem_deref(ss->app);
}

int tsrv_session_alloc(struct tsrv_session **ssp, struct tcp_conn *tc,
		       const struct sa *peer)
{
	struct tsrv_session *ss = mem_zalloc(sizeof(*ss), session_destructor);

	if (!ss)
		return ENOMEM;

	ss->line = mbuf_alloc(1024);
	if (!ss->line) {
		mem_deref(ss);
		return ENOMEM;
	}
	ss->tc = mem_ref(tc);
	ss->peer = *peer;
	tcp_conn_txqsz_set(tc, TSRV_OUT_MAX);

	*ssp = ss;
	return 0;
}

/** A WebSocket session; the caller accepts into ss->wc (it needs ss as
 * the handlers' argument) and then calls tsrv_session_ws_ready */
int tsrv_session_alloc_ws(struct tsrv_session **ssp, const struct sa *peer)
{
	struct tsrv_session *ss = mem_zalloc(sizeof(*ss), session_destructor);

	if (!ss)
		return ENOMEM;

	ss->peer = *peer;
	*ssp = ss;
	return 0;
}

void tsrv_session_ws_ready(struct tsrv_session *ss)
{
	tcp_conn_txqsz_set(websock_tcp(ss->wc), TSRV_OUT_MAX);
}

/** Queue a line; false when the client is too far behind (cut it off) */
bool tsrv_session_send(struct tsrv_session *ss, const char *line, size_t len)
{
	struct mbuf mb = {
		.buf = (uint8_t *)line, .size = len, .pos = 0, .end = len};
	struct tcp_conn *tc = ss->wc ? websock_tcp(ss->wc) : ss->tc;
	int err;

	if (ss->dead)
		return false;

	/* a frame without the newline, or the line as it is */
	if (ss->wc)
		err = websock_send(ss->wc, WEBSOCK_TEXT, "%b", line,
				   len && line[len - 1] == '\n' ? len - 1
								: len);
	else
		err = tcp_send(ss->tc, &mb);
	if (err) {
		log_warn("tlib",
			 "client %J (%s): output not taken (%m, %zu "
			 "bytes queued): disconnected",
			 &ss->peer, ss->app ? ss->app : "-", err,
			 tcp_conn_txqsz(tc));
		ss->dead = true;
		return false;
	}

	return true;
}

/**
 * Split received bytes into lines; lineh is called once per complete
 * line (without its newline), toolongh once per line over the limit
 */
void tsrv_session_recv(struct tsrv_session *ss, struct mbuf *mb,
		       tsrv_line_h *lineh, void *arg)
{
	while (mbuf_get_left(mb) && !ss->dead) {
		const uint8_t *p = mbuf_buf(mb);
		size_t left = mbuf_get_left(mb);
		const uint8_t *nl = memchr(p, '\n', left);
		size_t n = nl ? (size_t)(nl - p) : left;

		if (!ss->skipping && ss->line->end + n > TSRV_LINE_MAX) {
			ss->skipping = true;
			ss->line->end = ss->line->pos = 0;
			lineh(ss, NULL, 0, arg); /* too long */
		}
		if (!ss->skipping)
			(void)mbuf_write_mem(ss->line, p, n);
		mb->pos += n + (nl ? 1 : 0);
		if (!nl)
			break;

		if (!ss->skipping)
			lineh(ss, (const char *)ss->line->buf, ss->line->end,
			      arg);
		ss->skipping = false;
		ss->line->end = ss->line->pos = 0;
	}
}
