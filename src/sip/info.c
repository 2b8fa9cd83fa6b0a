/**
 * @file info.c  INFO inside a dialog: one at a time, the newest body wins
 *
 * Participant info goes to the other site after every change of a call,
 * and changes can come faster than the far end answers. Two INFOs in
 * flight could arrive in the wrong order, and the far end refuses one
 * whose CSeq is below the last it saw (libre answers 500), so: one INFO
 * in flight; a body to send meanwhile waits, replacing any older one;
 * a body equal to the last one sent is not sent again. Nothing goes
 * before the dialog is confirmed (leg_info_ready: the far end's 200 came,
 * or our 200 was ACKed), so the far end knows the dialog when the INFO
 * comes. A far end that does not take the body type (415, 501) is not
 * asked again.
 * A request to the far end (leg_info_ask: a TListenDisconnect carried to
 * the site that owns the conference) goes through the same queue, ahead
 * of any waiting body, so the far end sees the INFOs in CSeq order; its
 * answer (the response) goes to its handler.
 */
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "sip/leg.h"

struct leg_info {
	struct sipsess *sess; /**< the leg's, borrowed; NULL: not now */
	char *ctype;
	struct mbuf *sent; /**< last body sent (or in flight) */
	struct mbuf *next; /**< waiting */
	bool busy;
	bool off; /**< the far end does not take it */
	uint32_t party;

	/* a request waiting, or in flight (asking) */
	char *ask_ctype;
	struct mbuf *ask;
	leg_ask_h *askh;
	void *ask_arg;
	bool asking;
};

static void destructor(void *arg)
{
	struct leg_info *inf = arg;

	mem_deref(inf->ctype);
	mem_deref(inf->sent);
	mem_deref(inf->next);
	mem_deref(inf->ask_ctype);
	mem_deref(inf->ask);
}

/**
 * An INFO sender for one leg
 *
 * @param party The leg's party, for log lines
 */
int leg_info_alloc(struct leg_info **infp, const char *ctype, uint32_t party)
{
	struct leg_info *inf;

	if (!infp || !ctype)
		return EINVAL;

	inf = mem_zalloc(sizeof(*inf), destructor);
	if (!inf)
		return ENOMEM;

	inf->party = party;
	if (str_dup(&inf->ctype, ctype)) {
		mem_deref(inf);
		return ENOMEM;
	}

	*infp = inf;
	return 0;
}

static bool same(const struct mbuf *a, const struct mbuf *b)
{
	return a && b && a->end == b->end && !memcmp(a->buf, b->buf, a->end);
}

static void flush(struct leg_info *inf);

static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg_info *inf = arg;
	uint16_t scode = msg ? msg->scode : 0;

	if (scode && scode < 200)
		return;

	inf->busy = false;
	if (scode == 415 || scode == 501) {
		log_info("leg",
			 "party %u: the far end takes no %s (%u): not sent "
			 "again",
			 inf->party, inf->ctype, scode);
		inf->off = true;
		inf->next = mem_deref(inf->next);
		flush(inf); /* a request may still go */
		return;
	}
	if (err || scode >= 300)
		log_warn("leg", "party %u: INFO %s refused: %m %u %r",
			 inf->party, inf->ctype, err, scode,
			 msg ? &msg->reason : NULL);

	flush(inf);
}

static void ask_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg_info *inf = arg;
	leg_ask_h *h = inf->askh;

	if (msg && msg->scode < 200)
		return;

	inf->busy = inf->asking = false;
	inf->askh = NULL;
	if (h)
		h(err, msg, inf->party, inf->ask_arg);
	flush(inf);
}

/* The waiting request goes first */
static bool flush_ask(struct leg_info *inf)
{
	struct mbuf *mb = inf->ask;
	int err;

	if (!mb)
		return false;

	inf->ask = NULL;
	mb->pos = 0;
	err = sipsess_info(inf->sess, inf->ask_ctype, mb, ask_resp_h, inf);
	mem_deref(mb);
	if (err) {
		leg_ask_h *h = inf->askh;

		log_warn("leg", "party %u: request not sent: %m", inf->party,
			 err);
		inf->askh = NULL;
		if (h)
			h(err, NULL, inf->party, inf->ask_arg);
		return false;
	}

	inf->busy = inf->asking = true;
	return true;
}

/* The waiting body goes, if it may */
static void flush(struct leg_info *inf)
{
	struct mbuf *mb;
	int err;

	if (inf->busy || !inf->sess || flush_ask(inf))
		return;

	mb = inf->next;
	if (!mb || inf->off)
		return;

	inf->next = NULL;
	if (same(mb, inf->sent)) {
		mem_deref(mb);
		return;
	}

	mb->pos = 0;
	err = sipsess_info(inf->sess, inf->ctype, mb, resp_h, inf);
	if (err) {
		log_warn("leg", "party %u: INFO not sent: %m", inf->party, err);
		mem_deref(mb);
		return;
	}

	inf->busy = true;
	mem_deref(inf->sent);
	inf->sent = mb;
}

/**
 * The dialog to send in, once confirmed; NULL when it is gone (nothing
 * is sent after that)
 */
void leg_info_ready(struct leg_info *inf, struct sipsess *sess)
{
	if (!inf)
		return;

	inf->sess = sess;
	if (!sess)
		inf->busy = false; /* its request dies with the session */
	flush(inf);
}

/**
 * Ask the far end something: an INFO sent as soon as nothing else is in
 * flight, ahead of any waiting body; h gets the final response (or the
 * error, msg NULL). One request at a time.
 *
 * @return 0, EBUSY (one is waiting or in flight), ENOMEM
 */
int leg_info_ask(struct leg_info *inf, const char *ctype, const char *body,
		 leg_ask_h *h, void *arg)
{
	struct mbuf *mb;
	int err;

	if (!inf || !ctype || !body || !h)
		return EINVAL;
	if (inf->ask || inf->asking)
		return EBUSY;

	mb = mbuf_alloc(strlen(body));
	if (!mb)
		return ENOMEM;
	err = mbuf_write_str(mb, body);
	err = err ? err : str_dup(&inf->ask_ctype, ctype);
	if (err) {
		mem_deref(mb);
		return err;
	}

	mem_deref(inf->ask);
	inf->ask = mb;
	inf->askh = h;
	inf->ask_arg = arg;
	flush(inf);
	return 0;
}

/**
 * Send a body: now, after the INFO in flight, or not at all when it is
 * the body sent last
 */
int leg_info_send(struct leg_info *inf, const char *body, size_t len)
{
	struct mbuf *mb;
	int err;

	if (!inf || !body)
		return EINVAL;
	if (inf->off)
		return 0;

	mb = mbuf_alloc(len);
	if (!mb)
		return ENOMEM;
	err = mbuf_write_mem(mb, (const uint8_t *)body, len);
	if (err) {
		mem_deref(mb);
		return err;
	}

	mem_deref(inf->next);
	inf->next = mb;
	flush(inf);
	return 0;
}
