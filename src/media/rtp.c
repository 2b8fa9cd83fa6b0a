/**
 * @file rtp.c  RTP in and out of one leg, on its worker thread
 *
 * Receiving: packets are read in batches (recvmmsg) and accepted from the
 * address and port the phone's SDP gave (symmetric RTP, as phones on a LAN
 * send). A phone behind NAT, or with several addresses, sends from
 * elsewhere: for RTP_LEARN_MS after its SDP is set, and only while
 * nothing has come from the SDP address, a source on another host that
 * sends RTP_PROBATION packets in sequence is latched, and from then on is the
 * only other source taken and where the leg sends. Anything else is
 * counted and dropped, so a stray or hostile sender cannot inject audio
 * into a call (docs/media.md, "RTP source rule"). Audio of the negotiated codec
 * is decoded into the playout buffer; RFC 4733 telephone-events are relayed
 * at once to the other legs of the mix, in each leg's own timeline.
 * Sending: one packet per frame with the leg's own SSRC, sequence and
 * timestamp, which run on during silence so the phone sees a gap, not a
 * jump backwards.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "media/codec.h"
#include "media/jb.h"
#include "media/mix.h"
#include "media/player.h"
#include "media/media.h"
#include "media/priv.h"

enum {
	RTP_HDR = 12,
	MAX_SAMPLES = 480, /* 60 ms: the longest packet we decode */
	PT_CN = 13,	   /* comfort noise: alive, nothing to play */
	RTP_LEARN_MS = 2000,
	RTP_PROBATION = 3,
	SEQ_WINDOW = 64, /* packets a reordered one may be behind */
	SEQ_JUMP = 3000, /* a jump further than this restarts the count */
};

/** A new SDP remote: its stream's real source may be learnt again */
void rtp_learn_start(struct wleg *l, uint64_t now)
{
	l->has_latched = false;
	l->heard_sdp = false;
	l->cand_n = 0;
	l->learn_until = now + RTP_LEARN_MS;
}

/* Is src where this leg's stream comes from? May latch it (see above) */
static bool source_ok(struct wleg *l, const struct sa *src, const uint8_t *buf,
		      size_t len, uint64_t now)
{
	uint16_t seq;

	if (!l->has_remote)
		return false;
	if (sa_cmp(src, &l->remote.addr, SA_ALL)) {
		l->heard_sdp = true;
		l->has_latched = false;
		return true;
	}
	if (l->has_latched)
		return sa_cmp(src, &l->latched, SA_ALL);
	/* the SDP's own host on another port is a stale or stray stream,
	 * never a NAT: only another host is a candidate */
	if (l->heard_sdp || now >= l->learn_until || len < RTP_HDR ||
	    (buf[0] >> 6) != 2 || sa_cmp(src, &l->remote.addr, SA_ADDR))
		return false;

	seq = (uint16_t)(buf[2] << 8 | buf[3]);
	if (l->cand_n && sa_cmp(src, &l->cand, SA_ALL) &&
	    seq == (uint16_t)(l->cand_seq + 1))
		++l->cand_n;
	else
		l->cand_n = 1;
	l->cand = *src;
	l->cand_seq = seq;
	if (l->cand_n < RTP_PROBATION)
		return false;

	l->latched = *src;
	l->has_latched = true;
	return true;
}

struct pkt {
	struct rtp_header hdr;
	const uint8_t *payload;
	size_t len;
};

static void hdr_write(uint8_t *b, bool marker, uint8_t pt, uint16_t seq,
		      uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[4] = (uint8_t)(ts >> 24);
	b[5] = (uint8_t)(ts >> 16);
	b[6] = (uint8_t)(ts >> 8);
	b[7] = (uint8_t)ts;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
}

static void send_pkt(struct worker *w, struct wleg *l, const uint8_t *buf,
		     size_t len)
{
	const struct sa *dst = l->has_latched ? &l->latched : &l->remote.addr;

	if (sendto(l->fd, buf, len, MSG_DONTWAIT, &dst->u.sa, dst->len) >= 0)
		atomic_fetch_add(&w->tx, 1);
}

/* Version 2, header within the packet, padding within the payload */
static int pkt_decode(struct pkt *p, uint8_t *buf, size_t len)
{
	struct mbuf mb = {.buf = buf, .size = len, .pos = 0, .end = len};
	size_t pad = 0;

	if (rtp_hdr_decode(&p->hdr, &mb) || p->hdr.ver != 2)
		return EBADMSG;

	if (p->hdr.pad) {
		pad = buf[len - 1];
		if (!pad || pad > mbuf_get_left(&mb))
			return EBADMSG;
	}

	p->payload = mbuf_buf(&mb);
	p->len = mbuf_get_left(&mb) - pad;
	return 0;
}

static struct wleg *leg_of(struct mix_party *mp)
{
	return (struct wleg *)(void *)((char *)mp - offsetof(struct wleg, mp));
}

/* Relay one telephone-event packet to another leg, in its timeline */
static void event_relay(struct worker *w, struct wleg *to, const struct pkt *p)
{
	uint8_t buf[RTP_HDR + 64];

	if (!to->has_remote || !to->remote.send || to->remote.dtmf_pt < 0 ||
	    p->len > sizeof(buf) - RTP_HDR)
		return;

	if (!to->ev_mapped || to->ev_in_ts != p->hdr.ts) {
		to->ev_in_ts = p->hdr.ts;
		to->ev_out_ts = to->ts;
		to->ev_mapped = true;
	}

	hdr_write(buf, p->hdr.m, (uint8_t)to->remote.dtmf_pt, to->seq++,
		  to->ev_out_ts, to->ssrc);
	memcpy(buf + RTP_HDR, p->payload, p->len);
	send_pkt(w, to, buf, RTP_HDR + p->len);
}

static void events_relay(struct worker *w, struct wleg *from,
			 const struct pkt *p)
{
	if (!from->mix)
		return;

	for (struct le *le = from->mix->mix.partyl.head; le; le = le->next) {
		struct wleg *to = leg_of(le->data);

		if (to != from)
			event_relay(w, to, p);
	}
}

/* A new stream, or one that jumped: its earlier numbers count as come */
static void seq_start(struct wleg *l, const struct rtp_header *h)
{
	l->seq_on = true;
	l->seq_ssrc = h->ssrc;
	l->seq_max = h->seq;
	l->seq_seen = ~(uint64_t)0;
}

/*
 * Loss by sequence number, counted once a number leaves the window of
 * the last SEQ_WINDOW without having come: a packet reordered within the
 * window is not lost, one later than that is (and one that never comes
 * is, exactly once). Any packet of the stream counts (audio, events,
 * comfort noise: they share the numbers). A jump beyond SEQ_JUMP is a
 * restarted sender, not loss.
 */
static void seq_track(struct worker *w, struct wleg *l,
		      const struct rtp_header *h)
{
	int d = (int16_t)(h->seq - l->seq_max);
	uint64_t lost;

	if (!l->seq_on || h->ssrc != l->seq_ssrc || d > SEQ_JUMP ||
	    d < -SEQ_JUMP) {
		seq_start(l, h);
		return;
	}
	if (d <= 0) {
		if (-d < SEQ_WINDOW)
			l->seq_seen |= (uint64_t)1 << -d;
		return;
	}

	if (d >= SEQ_WINDOW) {
		lost = (uint64_t)(SEQ_WINDOW -
				  __builtin_popcountll(l->seq_seen)) +
		       (uint64_t)(d - SEQ_WINDOW);
		l->seq_seen = 1;
	} else {
		lost = (uint64_t)(d - __builtin_popcountll(l->seq_seen >>
							   (SEQ_WINDOW - d)));
		l->seq_seen = l->seq_seen << d | 1;
	}
	l->seq_max = h->seq;
	if (lost)
		atomic_fetch_add(&w->rx_lost, lost);
}

static void audio_put(struct worker *w, struct wleg *l, const struct pkt *p)
{
	int16_t pcm[MAX_SAMPLES];
	size_t n = MIN(p->len, (size_t)MAX_SAMPLES);
	uint64_t late = jb_stats(l->jb)->late;

	/* a new source (phone restarted its stream): new timeline */
	if (l->rx_started && p->hdr.ssrc != l->rx_ssrc)
		jb_reset(l->jb);
	l->rx_ssrc = p->hdr.ssrc;
	l->rx_started = true;

	codec_decode((enum codec)l->remote.codec, p->payload, pcm, n);
	jb_put(l->jb, p->hdr.ts, pcm, n, p->hdr.m);
	if (jb_stats(l->jb)->late != late)
		atomic_fetch_add(&w->rx_late, 1);
}

static void pkt_handle(struct worker *w, struct wleg *l, uint8_t *buf,
		       size_t len, const struct sa *src, uint64_t now)
{
	struct pkt p;

	if (!source_ok(l, src, buf, len, now)) {
		atomic_fetch_add(&w->rx_foreign, 1);
		return;
	}
	if (pkt_decode(&p, buf, len)) {
		atomic_fetch_add(&w->rx_bad, 1);
		return;
	}

	seq_track(w, l, &p.hdr);
	if (p.hdr.pt == l->remote.codec)
		audio_put(w, l, &p);
	else if ((int)p.hdr.pt == l->remote.dtmf_pt)
		events_relay(w, l, &p);
	else if (p.hdr.pt != PT_CN) {
		atomic_fetch_add(&w->rx_bad, 1);
		return;
	}

	l->last_rx = now;
	atomic_fetch_add(&w->rx, 1);
}

/* One receive batch per worker thread, wired once: the frame path only
 * resets the address lengths the kernel overwrote */
struct rx_batch {
	uint8_t bufs[MEDIA_BATCH][MEDIA_PKT_MAX];
	struct sockaddr_storage addrs[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
	struct mmsghdr msgs[MEDIA_BATCH];
	/* cppcheck-suppress unusedStructMember ; read in rx_batch() */
	bool wired;
};

static struct rx_batch *rx_batch(void)
{
	static _Thread_local struct rx_batch rx;

	if (!rx.wired) {
		for (int i = 0; i < MEDIA_BATCH; i++) {
			rx.iov[i].iov_base = rx.bufs[i];
			rx.iov[i].iov_len = sizeof(rx.bufs[i]);
			rx.msgs[i].msg_hdr.msg_iov = &rx.iov[i];
			rx.msgs[i].msg_hdr.msg_iovlen = 1;
			rx.msgs[i].msg_hdr.msg_name = &rx.addrs[i];
		}
		rx.wired = true;
	}

	return &rx;
}

/** Read everything that arrived, then take this frame from the buffer */
void rtp_leg_recv(struct worker *w, struct wleg *l, uint64_t now)
{
	struct rx_batch *rx = rx_batch();
	int n;

	do {
		for (int i = 0; i < MEDIA_BATCH; i++)
			rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->addrs[i]);

		n = recvmmsg(l->fd, rx->msgs, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			const struct msghdr *h = &rx->msgs[i].msg_hdr;
			struct sa src;

			memset(&src, 0, sizeof(src));
			memcpy(&src.u, &rx->addrs[i], h->msg_namelen);
			src.len = h->msg_namelen;
			pkt_handle(w, l, rx->bufs[i], rx->msgs[i].msg_len, &src,
				   now);
		}
	} while (n == MEDIA_BATCH);

	l->mp.has_in = jb_get(l->jb, l->mp.in);
}

static void payload_fill(struct wleg *l, uint8_t *out)
{
	enum codec c = (enum codec)l->remote.codec;

	switch (l->src) {
	case MEDIA_SRC_MIX:
		if (l->mp.listen) {
			codec_encode(c, l->mp.out, out, MIX_FRAME);
			return;
		}
		break;
	case MEDIA_SRC_MUSIC:
		if (l->music) {
			memcpy(out, player_frame(l->music, c, &l->music_pos),
			       MIX_FRAME);
			return;
		}
		break;
	default:
		break;
	}

	memset(out, codec_silence(c), MIX_FRAME);
}

/** Send this frame's packet, if the leg gets anything and can take it */
void rtp_leg_send(struct worker *w, struct wleg *l)
{
	uint8_t buf[RTP_HDR + MIX_FRAME];

	if (!l->has_remote || !l->remote.send || l->src == MEDIA_SRC_NONE) {
		l->ts += MIX_FRAME;
		l->marker = true;
		return;
	}

	payload_fill(l, buf + RTP_HDR);
	hdr_write(buf, l->marker, (uint8_t)l->remote.codec, l->seq++, l->ts,
		  l->ssrc);
	send_pkt(w, l, buf, sizeof(buf));

	l->ts += MIX_FRAME;
	l->marker = false;
}

/** RTCP is read and dropped, so its socket never fills */
void rtp_leg_drain_rtcp(struct wleg *l)
{
	uint8_t buf[MEDIA_PKT_MAX];

	while (recv(l->fd_rtcp, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}
