/**
 * @file sdp.c  Our side of the SDP offer/answer: one audio stream
 *
 * We offer and accept G.711 µ-law and A-law and RFC 4733 telephone-events,
 * always with our own address and port: media is anchored in sipserver.
 * Each leg picks its own codec (the phone's first choice among ours), and
 * the media engine transcodes between legs. libre does the parsing and
 * matching; this file turns the result into what the media engine needs.
 */
#include <string.h>
#include <re.h>
#include "media/media.h"
#include "sip/leg.h"

enum {
	PT_PCMU = 0,
	PT_PCMA = 8,
	PT_EVENT = 101,
};

int leg_sdp_alloc(struct sdp_session **sessp, const struct sa *laddr,
		  uint16_t port)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m;
	int err;

	err = sdp_session_alloc(&sess, laddr);
	err = err ? err
		  : sdp_media_add(&m, sess, sdp_media_audio, port,
				  sdp_proto_rtpavp);
	err = err ? err
		  : sdp_format_add(NULL, m, false, "0", "PCMU", 8000, 1, NULL,
				   NULL, NULL, false, NULL);
	err = err ? err
		  : sdp_format_add(NULL, m, false, "8", "PCMA", 8000, 1, NULL,
				   NULL, NULL, false, NULL);
	err = err ? err
		  : sdp_format_add(NULL, m, false, "101", "telephone-event",
				   8000, 1, NULL, NULL, NULL, false, "0-15");
	if (err) {
		mem_deref(sess);
		return err;
	}

	*sessp = sess;
	return 0;
}

/* Our one stream: libre moves it from the local list to the negotiated
 * one at the first offer either side makes */
static struct sdp_media *audio(const struct sdp_session *sess)
{
	const struct list *l = sdp_session_medial(sess, false);

	if (!l || !l->head)
		l = sdp_session_medial(sess, true);

	return l && l->head ? l->head->data : NULL;
}


/* The phone's first choice among the codecs we take */
static const struct sdp_format *first_codec(const struct sdp_media *m)
{
	const struct list *l = sdp_media_format_lst(m, false);

	for (struct le *le = l ? l->head : NULL; le; le = le->next) {
		const struct sdp_format *f = le->data;

		if (f->sup && (!str_casecmp(f->name, "PCMU") ||
			       !str_casecmp(f->name, "PCMA")))
			return f;
	}

	return NULL;
}

/** Our direction for the next offer: sendonly puts the phone on hold */
void leg_sdp_set_hold(struct sdp_session *sess, bool hold)
{
	sdp_media_set_ldir(audio(sess), hold ? SDP_SENDONLY : SDP_SENDRECV);
}

/**
 * What the phone's last SDP
 (already decoded into sess) asks for
 *
 * @param reason Set to a sentence when the SDP cannot be used
 *
 * @return 0, or ENOTSUP when there is no common codec or no audio
 */
int leg_sdp_remote(struct media_remote *r, struct sdp_session *sess,
		   const char **reason)
{
	struct sdp_media *m = audio(sess);
	const struct sdp_format *fmt, *ev;
	enum sdp_dir dir;

	memset(r, 0, sizeof(*r));
	if (!m || !sdp_media_rport(m)) {
		*reason = "no audio stream offered";
		return ENOTSUP;
	}

	fmt = first_codec(m);
	if (!fmt) {
		*reason = "no common codec (PCMU or PCMA needed)";
		return ENOTSUP;
	}

	ev = sdp_media_rformat(m, "telephone-event");
	dir = sdp_media_rdir(m);

	r->addr = *sdp_media_raddr(m);
	r->codec = str_casecmp(fmt->name, "PCMA") ? PT_PCMU : PT_PCMA;
	r->dtmf_pt = ev ? ev->pt : -1;

	/* rdir is from our side: SENDONLY = we may only send */
	r->send = (dir & SDP_SENDONLY) && !sa_is_any(&r->addr);
	r->recv = (dir & SDP_RECVONLY) != 0;

	return 0;
}
