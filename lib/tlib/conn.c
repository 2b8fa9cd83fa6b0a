/**
 * @file conn.c  One connection to a tlib/1 server: socket, framing, waits
 *
 * Owns the socket and the read buffer, and with them the framing rules of
 * the spec: one JSON object per '\n'-terminated line of at most
 * TLIB_LINE_MAX bytes. The socket is non-blocking so that tlib_poll() only
 * ever reads what has arrived; sends and waits block, bounded by the
 * connection's timeout, because a client library that returns EAGAIN from
 * "answer this call" would push a write queue onto every caller.
 *
 * A bad line (too long, not JSON, no "event") is an error code, never a
 * crash or a closed connection: the spec keeps the server's connection
 * open after a bad client line, and we give the server the same courtesy.
 * When a bad line comes after good ones in the same read, the good ones
 * are dispatched and counted first and the error waits for the next call,
 * so that the caller sees events and errors in stream order.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "tlib_int.h"

int64_t tlib_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: no deadline, wait for ever). */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - tlib_now_ms();
	return left > 0 ? (int)left : 0;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : tlib_now_ms() + timeout_ms;
}

void tlib_set_error(struct tlib *c, int code, const char *msg)
{
	free(c->err_msg);
	c->err_code = code;
	c->err_msg = msg ? strdup(msg) : NULL;
}

/**
 * The last error on the connection: an EventError's ErrorCode and
 * ErrorMessage (code > 0), or code 0 and our own description of a local
 * failure (a bad line from the server). The message is valid until the next
 * call on the connection; NULL when there was none.
 */
void tlib_last_error(const struct tlib *c, int *codep, const char **msgp)
{
	if (codep)
		*codep = c ? c->err_code : 0;
	if (msgp)
		*msgp = c ? c->err_msg : NULL;
}

/* poll() for one event on the socket; ETIMEDOUT when none came. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return errno;
	return n ? 0 : ETIMEDOUT;
}

static int send_all(struct tlib *c, const char *p, size_t n)
{
	int64_t deadline = deadline_of(c->timeout_ms);

	while (n) {
		ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
		int err;

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return errno;

		err = wait_fd(c->fd, POLLOUT, left_ms(deadline));
		if (err)
			return err;
	}

	return 0;
}

/**
 * Send one JSON object as one line. JSON_COMPACT never writes a raw
 * newline: jansson escapes those inside strings.
 */
int tlib_send_json(struct tlib *c, const json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t n;
	int err;

	if (!s)
		return ENOMEM;

	n = strlen(s);
	if (n > TLIB_LINE_MAX) {
		free(s);
		return EMSGSIZE;
	}

	err = send_all(c, s, n);
	if (!err)
		err = send_all(c, "\n", 1);
	free(s);
	return err;
}

/* Read what has arrived, as far as the buffer has room. A reset counts as
 * end of stream so that lines already buffered are still dispatched. */
static int read_some(struct tlib *c)
{
	if (c->start) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}

	while (!c->eof && c->len < sizeof(c->buf)) {
		ssize_t n = recv(c->fd, c->buf + c->len,
				 sizeof(c->buf) - c->len, 0);

		if (n > 0)
			c->len += (size_t)n;
		else if (n == 0 || errno == ECONNRESET)
			c->eof = true;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else if (errno != EINTR)
			return errno;
	}

	return 0;
}

/* Skip the rest of an over-long line; true once its '\n' has gone. */
static bool discard(struct tlib *c)
{
	char *nl = memchr(c->buf + c->start, '\n', c->len - c->start);

	if (!nl) {
		c->start = c->len = 0;
		return false;
	}

	c->start = (size_t)(nl - c->buf) + 1;
	c->discarding = false;
	return true;
}

/*
 * The next complete line in the buffer (NUL-terminated in place, without
 * its '\n'). Returns 1 with a line, 0 when none is complete, or -EMSGSIZE
 * when the buffer is full without a '\n' (the line is then skipped).
 */
static int next_line(struct tlib *c, char **linep, size_t *lenp)
{
	char *p, *nl;

	if (c->discarding && !discard(c))
		return 0;

	p = c->buf + c->start;
	nl = memchr(p, '\n', c->len - c->start);
	if (nl) {
		*nl = '\0';
		*linep = p;
		*lenp = (size_t)(nl - p);
		c->start = (size_t)(nl - c->buf) + 1;
		return 1;
	}

	if (c->len - c->start < sizeof(c->buf))
		return 0;

	c->discarding = true;
	c->start = c->len = 0;
	tlib_set_error(c, 0, "line from the server longer than 65536 bytes");
	return -EMSGSIZE;
}

static bool blank(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return n == 0;
}

static void dispatch(struct tlib *c, const struct tlib_event *ev)
{
	if (0 == strcmp(ev->name, "EventError"))
		tlib_set_error(c, ev->error_code, ev->error_message);

	if (!c->eh)
		return;

	c->dispatching = true;
	c->eh(ev, c->arg);
	c->dispatching = false;
}

static int bad_line(struct tlib *c, int err, const char *why)
{
	char msg[256];

	if (err != EBADMSG)
		return err;

	snprintf(msg, sizeof(msg), "bad line from the server: %s", why);
	tlib_set_error(c, 0, msg);
	return err;
}

/*
 * Dispatch the complete lines in the buffer; stop after the first event
 * pred accepts (handed to *evp) or at the first bad line (its error
 * returned). *countp: events dispatched.
 */
static int process(struct tlib *c, tlib_pred_h *pred, void *arg,
		   struct tlib_event **evp, int *countp)
{
	struct tlib_event *ev;
	char why[160];
	size_t len;
	char *line;
	int r, err;

	while ((r = next_line(c, &line, &len)) > 0) {
		if (blank(line, len))
			continue;

		err = tlib_event_parse(&ev, line, len, why, sizeof(why));
		if (err)
			return bad_line(c, err, why);

		dispatch(c, ev);
		++*countp;
		if (pred && pred(ev, arg)) {
			*evp = ev;
			return 0;
		}
		tlib_event_free(ev);
	}

	return -r;
}

static int report(struct tlib *c, int err, int count)
{
	if (!count)
		return -err;

	c->pending_err = err;
	return count;
}

/**
 * Read what has arrived (waiting up to timeout_ms for something, -1 for
 * ever) and dispatch every complete line to the event handler. Lines
 * already buffered are dispatched without waiting.
 *
 * @return events dispatched (0 on timeout), or -ECONNRESET when the server
 *         has closed and nothing is left, -EMSGSIZE / -EBADMSG for a bad
 *         line (reading goes on after it), -EDEADLK from a handler
 */
int tlib_poll(struct tlib *c, int timeout_ms)
{
	int err, n = 0;

	if (!c)
		return -EINVAL;
	if (c->dispatching)
		return -EDEADLK;
	if (c->pending_err) {
		err = c->pending_err;
		c->pending_err = 0;
		return -err;
	}

	err = process(c, NULL, NULL, NULL, &n);
	if (err || n)
		return report(c, err, n);
	if (c->eof)
		return -ECONNRESET;

	err = wait_fd(c->fd, POLLIN, timeout_ms);
	if (err)
		return err == ETIMEDOUT ? 0 : -err;

	err = read_some(c);
	if (err)
		return -err;

	err = process(c, NULL, NULL, NULL, &n);
	if (err || n)
		return report(c, err, n);

	return c->eof ? -ECONNRESET : 0;
}

/**
 * Are complete lines waiting in the buffer? Then tlib_poll() has events to
 * dispatch although the socket may not be readable.
 */
bool tlib_pending(const struct tlib *c)
{
	if (!c)
		return false;
	if (c->pending_err)
		return true;

	return memchr(c->buf + c->start, '\n', c->len - c->start) != NULL;
}

/**
 * Read and dispatch until an event satisfies pred; it is dispatched too,
 * then handed to *evp (or freed when evp is NULL). Lines after it stay
 * buffered.
 *
 * @return 0, ETIMEDOUT, ECONNRESET, EMSGSIZE / EBADMSG (a bad line), other
 *         errno values from the socket
 */
int tlib_conn_wait(struct tlib *c, tlib_pred_h *pred, void *arg, int timeout_ms,
		   struct tlib_event **evp)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct tlib_event *ev = NULL;
	int err, n = 0;

	if (c->dispatching)
		return EDEADLK;
	if (c->pending_err) {
		err = c->pending_err;
		c->pending_err = 0;
		return err;
	}

	for (bool read = false;; read = true) {
		err = process(c, pred, arg, &ev, &n);
		if (err || ev)
			break;
		if (c->eof)
			return ECONNRESET;
		/* Checked here too: a flood of other events keeps the socket
		 * readable, so poll() alone would never time out. */
		if (read && left_ms(deadline) == 0)
			return ETIMEDOUT;

		err = wait_fd(c->fd, POLLIN, left_ms(deadline));
		err = err ? err : read_some(c);
		if (err)
			return err;
	}

	if (evp)
		*evp = ev;
	else
		tlib_event_free(ev);
	return err;
}

static bool match_pred(const struct tlib_event *ev, void *arg)
{
	return tlib_match_event(arg, ev);
}

/**
 * Wait for the first event that matches spec (see tlib_match_parse), at
 * most timeout_ms (-1: for ever). Every event read meanwhile, the matching
 * one included, goes to the event handler first; nothing is kept back.
 *
 * @param evp  the matching event, to tlib_event_free() (may be NULL)
 *
 * @return 0, EINVAL (bad spec), ETIMEDOUT, ECONNRESET, EMSGSIZE/EBADMSG
 */
int tlib_wait(struct tlib *c, const char *match, int timeout_ms,
	      struct tlib_event **evp)
{
	struct tlib_match *m;
	int err;

	if (!c || !match)
		return EINVAL;

	err = tlib_match_parse(&m, match);
	if (err)
		return err;

	err = tlib_conn_wait(c, match_pred, m, timeout_ms, evp);
	tlib_match_free(m);
	return err;
}

static int conn_alloc(struct tlib **cp, int fd)
{
	struct tlib *c = calloc(1, sizeof(*c));
	int fl = fcntl(fd, F_GETFL);

	if (!c)
		return ENOMEM;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		free(c);
		return errno;
	}

	c->fd = fd;
	c->timeout_ms = TLIB_TIMEOUT_MS;
	c->next_ref = 1;
	*cp = c;
	return 0;
}

static bool first_event(const struct tlib_event *ev, void *arg)
{
	(void)ev;
	(void)arg;
	return true;
}

/* The server speaks first: EventLinkConnected with our protocol version. */
static int handshake(struct tlib *c, int timeout_ms)
{
	const char *ver;
	int err;

	err = tlib_conn_wait(c, first_event, NULL, timeout_ms, &c->link);
	if (err)
		return err;

	ver = json_string_value(
		json_object_get(c->link->json, "ProtocolVersion"));
	if (strcmp(c->link->name, "EventLinkConnected") || !ver ||
	    strcmp(ver, TLIB_PROTOCOL_VERSION)) {
		tlib_set_error(c, 0,
			       "first event is not EventLinkConnected "
			       "with ProtocolVersion tlib/1");
		return EPROTO;
	}

	return 0;
}

/**
 * Take over a connected stream socket (a socketpair end, a socket the
 * caller connected itself) and wait for EventLinkConnected. The fd is
 * closed by tlib_close(), or here on failure.
 *
 * @return 0, EPROTO (not a tlib/1 server), ETIMEDOUT, ECONNRESET, ...
 */
int tlib_connect_fd(struct tlib **cp, int fd, int timeout_ms)
{
	struct tlib *c = NULL;
	int err;

	if (!cp || fd < 0)
		return EINVAL;

	err = conn_alloc(&c, fd);
	if (err) {
		close(fd);
		return err;
	}

	err = handshake(c, timeout_ms);
	if (err) {
		tlib_close(c);
		return err;
	}

	*cp = c;
	return 0;
}

/* Non-blocking connect to one address, finished within timeout_ms. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *fdp)
{
	int fd, err = 0, one = 1;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return errno;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, timeout_ms)
					   : errno;
		if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
	}
	if (err) {
		close(fd);
		return err;
	}

	/* One request is one small line: send it now, not after an ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fdp = fd;
	return 0;
}

static int tcp_connect(const char *host, uint16_t port, int timeout_ms,
		       int *fdp)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	char service[8];
	int err = EADDRNOTAVAIL;

	snprintf(service, sizeof(service), "%u", (unsigned)port);
	if (getaddrinfo(host, service, &hints, &res))
		return EADDRNOTAVAIL;

	for (ai = res; ai; ai = ai->ai_next) {
		err = connect_one(ai, timeout_ms, fdp);
		if (!err)
			break;
	}

	freeaddrinfo(res);
	return err;
}

/**
 * Connect to a tlib/1 server and wait for its EventLinkConnected, each
 * step bounded by timeout_ms.
 *
 * @return 0, EADDRNOTAVAIL (host did not resolve), ECONNREFUSED,
 *         ETIMEDOUT, EPROTO (not a tlib/1 server), ...
 */
int tlib_connect_timeout(struct tlib **cp, const char *host, uint16_t port,
			 int timeout_ms)
{
	int fd, err;

	if (!cp || !host)
		return EINVAL;

	err = tcp_connect(host, port, timeout_ms, &fd);
	if (err)
		return err;

	return tlib_connect_fd(cp, fd, timeout_ms);
}

/**
 * tlib_connect_timeout() with TLIB_TIMEOUT_MS.
 */
int tlib_connect(struct tlib **cp, const char *host, uint16_t port)
{
	return tlib_connect_timeout(cp, host, port, TLIB_TIMEOUT_MS);
}

/**
 * Close the connection and free everything it owns. Never from a handler.
 */
void tlib_close(struct tlib *c)
{
	if (!c)
		return;

	close(c->fd);
	tlib_event_free(c->link);
	free(c->err_msg);
	free(c);
}

int tlib_fd(const struct tlib *c)
{
	return c ? c->fd : -1;
}

/**
 * Bound of blocking sends and of tlib_open's wait (-1: none).
 */
void tlib_set_timeout(struct tlib *c, int timeout_ms)
{
	if (c)
		c->timeout_ms = timeout_ms;
}

/**
 * Set the handler of every event (NULL: events are only counted).
 */
void tlib_set_event_handler(struct tlib *c, tlib_event_h *eh, void *arg)
{
	if (!c)
		return;

	c->eh = eh;
	c->arg = arg;
}

/**
 * The EventLinkConnected that opened the connection (ServerName,
 * Location, ...); it came before any handler could be set.
 */
const struct tlib_event *tlib_link_event(const struct tlib *c)
{
	return c ? c->link : NULL;
}
