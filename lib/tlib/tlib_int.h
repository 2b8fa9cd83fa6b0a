/**
 * @file tlib_int.h  What the files of libtlib share and nobody else sees
 *
 * The connection object lives here rather than in conn.c because the
 * request builders (request.c) need its ReferenceID counter and its send
 * path; keeping the struct private to the library lets it change without
 * touching programs that link it.
 */
#ifndef TLIB_INT_H
#define TLIB_INT_H

#include "tlib.h"

/* The read buffer holds one whole line plus its '\n'. */
#define TLIB_BUF_SIZE (TLIB_LINE_MAX + 1)

/** Decides whether an event ends a wait; see conn_wait() */
typedef bool(tlib_pred_h)(const struct tlib_event *ev, void *arg);

struct tlib {
	int fd;
	int timeout_ms;
	long long next_ref; /* next ReferenceID to hand out */
	tlib_event_h *eh;
	void *arg;
	struct tlib_event *link; /* EventLinkConnected, owned */
	bool dispatching;	 /* guards against tlib_poll from a handler */
	bool eof;		 /* the server closed; report after buffer */
	bool discarding;	 /* inside an over-long line: skip to '\n' */
	int pending_err;	 /* a bad line met after events: next poll */
	int err_code;		 /* last EventError's ErrorCode, 0 local */
	char *err_msg;		 /* its ErrorMessage, or our own words */
	size_t start, len;	 /* unread bytes are buf[start..len) */
	char buf[TLIB_BUF_SIZE];
};

/* event.c */
int tlib_event_parse(struct tlib_event **evp, const char *line, size_t len,
		     char *why, size_t whysz);

/* conn.c */
int tlib_send_json(struct tlib *c, const json_t *obj);
int tlib_conn_wait(struct tlib *c, tlib_pred_h *pred, void *arg, int timeout_ms,
		   struct tlib_event **evp);
void tlib_set_error(struct tlib *c, int code, const char *msg);
int64_t tlib_now_ms(void);

/* request.c */
json_t *tlib_kv_to_json(const struct tlib_kv *kv);

#endif
