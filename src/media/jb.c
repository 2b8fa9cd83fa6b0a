/**
 * @file jb.c  Playout buffer: a ring of samples indexed by RTP timestamp
 *
 * Why not libre's jbuf or speexdsp's JitterBuffer: both keep packets, so
 * with 10 or 30 ms packets the engine would still have to re-chunk them
 * into 20 ms frames, and both copy or allocate per packet. Here a packet's
 * samples go straight to the ring slots of their timestamps (ts modulo the
 * ring, which divides 2^32, so wrap-around needs nothing special), with a
 * presence mark per sample. Reordering is therefore absorbed for free and
 * a frame is simply the next 160 slots, whatever the packet sizes were.
 *
 * Invariant: every marked slot holds a sample whose timestamp lies in
 * [play, play + JB_RING). jb_get clears what it reads and jb_put writes
 * only inside that window, so a slot never mixes two timestamps.
 *
 * The delay is fixed; the playout point moves only at a resync, to
 * "delay" behind the packet that causes it: the first packet, a jump
 * beyond the ring (either way), a run of late packets (a sender whose
 * clock is slower than ours), and a talk spurt (marker) that finds the
 * buffer empty, which re-centres the delay after every silence at no
 * cost, absorbing jitter drift and the clock drift of DTX senders.
 */
#include <string.h>
#include <re.h>
#include "media/jb.h"

enum {
	MASK = JB_RING - 1,
};

struct jb {
	struct jb_stats stats;
	uint32_t delay;	   /**< [samples] */
	bool synced;	   /**< play, start and head are set */
	uint32_t play;	   /**< timestamp of the next sample out */
	uint32_t start;	   /**< timestamp of the packet we synced to */
	uint32_t head;	   /**< timestamp just after the newest sample */
	uint32_t count;	   /**< marked slots */
	uint32_t late_run; /**< late packets in a row */
	int16_t pcm[JB_RING];
	uint8_t mark[JB_RING];
};

/* (a - b) as a signed distance: correct across the 2^32 wrap */
static inline int32_t ts_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

int jb_alloc(struct jb **jbp, uint32_t delay_ms)
{
	struct jb *jb;

	if (!jbp || delay_ms > JB_DELAY_MAX)
		return EINVAL;

	jb = mem_zalloc(sizeof(*jb), NULL);
	if (!jb)
		return ENOMEM;

	jb->delay = (delay_ms ? delay_ms : JB_DELAY_DEFAULT) * (JB_RATE / 1000);
	*jbp = jb;
	return 0;
}

/* Empty means 0 even if head is far behind: a day of silence on a held
 * call would otherwise wrap the signed distance. */
static void depth_update(struct jb *jb)
{
	int32_t d = jb->count ? ts_diff(jb->head, jb->play) : 0;

	jb->stats.depth_ms = d > 0 ? (uint32_t)d / (JB_RATE / 1000) : 0;
}

static void resync(struct jb *jb, uint32_t ts)
{
	if (jb->count)
		memset(jb->mark, 0, sizeof(jb->mark));

	if (jb->synced)
		++jb->stats.resyncs;

	jb->synced = true;
	jb->count = 0;
	jb->late_run = 0;
	jb->play = ts - jb->delay;
	jb->start = ts;
	jb->head = ts;
}

/* Marked slots among len from ring index k (no wrap): a branch-free sum
 * the compiler vectorises, so that a whole packet or frame is counted at
 * once instead of slot by slot */
static uint32_t marked(const struct jb *jb, uint32_t k, uint32_t len)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += jb->mark[k + i];

	return sum;
}

static void store(struct jb *jb, uint32_t ts, const int16_t *pcm, size_t n)
{
	while (n) {
		uint32_t k = ts & MASK;
		uint32_t len =
			(uint32_t)n < JB_RING - k ? (uint32_t)n : JB_RING - k;

		jb->count += len - marked(jb, k, len);
		memset(&jb->mark[k], 1, len);
		memcpy(&jb->pcm[k], pcm, len * sizeof(*pcm));
		pcm += len;
		ts += len;
		n -= len;
	}

	if (ts_diff(ts, jb->head) > 0)
		jb->head = ts;
}

/* A new timeline: the first packet, a jump beyond the ring either way,
 * or late packets in a row (their sender's clock is slower than ours). */
static bool needs_resync(const struct jb *jb, int32_t d, size_t n)
{
	if (!jb->synced)
		return true;
	if (d <= -JB_RING || d + (int64_t)n > JB_RING)
		return true;
	return d < 0 && jb->late_run + 1 >= JB_LATE_RESYNC;
}

/* A talk spurt into an empty buffer: re-centre the delay on it, and let
 * the silence before it count as silence, not loss. */
static void respurt(struct jb *jb, uint32_t ts)
{
	if (jb->play != ts - jb->delay)
		++jb->stats.resyncs;

	jb->play = ts - jb->delay;
	jb->start = ts;
	jb->head = ts;
}

/**
 * Put one packet's decoded samples at the place of their timestamp.
 *
 * @return 0, also for a packet dropped as late (see the stats), or EINVAL
 */
int jb_put(struct jb *jb, uint32_t ts, const int16_t *pcm, size_t n,
	   bool marker)
{
	int32_t d;

	if (!jb || (!pcm && n) || n > JB_PACKET_MAX)
		return EINVAL;
	if (!n)
		return 0; /* no audio (a keepalive): must not sync */

	++jb->stats.put;
	d = ts_diff(ts, jb->play);

	if (needs_resync(jb, d, n)) {
		resync(jb, ts);
		d = ts_diff(ts, jb->play);
	} else if (marker && !jb->count) {
		respurt(jb, ts);
		d = ts_diff(ts, jb->play);
	}

	if (d < 0) {
		/* too late, wholly or in part: keep what is still ahead */
		++jb->stats.late;
		++jb->late_run;
		if ((size_t)-d >= n)
			return 0;
		pcm += -d;
		n -= (size_t)-d;
		ts = jb->play;
	} else {
		jb->late_run = 0;
	}

	store(jb, ts, pcm, n);
	depth_update(jb);
	return 0;
}

/**
 * Take the next 20 ms, zeros where nothing arrived; advances always, so
 * the playout point follows the caller's clock.
 *
 * @return false if the whole frame was missing
 */
/* The usual frame: every sample there, in one piece of the ring */
static bool get_whole(struct jb *jb, int16_t out[JB_FRAME])
{
	uint32_t k = jb->play & MASK;

	if (k + JB_FRAME > JB_RING || marked(jb, k, JB_FRAME) != JB_FRAME)
		return false;

	memcpy(out, &jb->pcm[k], JB_FRAME * sizeof(*out));
	memset(&jb->mark[k], 0, JB_FRAME);
	jb->count -= JB_FRAME;
	return true;
}

bool jb_get(struct jb *jb, int16_t out[JB_FRAME])
{
	bool gap = false, hole = false;
	size_t got = 0;

	if (get_whole(jb, out)) {
		jb->play += JB_FRAME;
		depth_update(jb);
		return true;
	}

	for (uint32_t i = 0; i < JB_FRAME; i++) {
		uint32_t ts = jb->play + i, k = ts & MASK;

		if (jb->mark[k]) {
			out[i] = jb->pcm[k];
			jb->mark[k] = 0;
			--jb->count;
			++got;
			hole |= gap;
		} else {
			out[i] = 0;
			/* before the first packet is pre-roll, not loss */
			gap |= jb->synced && ts_diff(ts, jb->start) >= 0;
		}
	}

	jb->play += JB_FRAME;
	hole |= gap && jb->count;

	if (hole)
		++jb->stats.lost;
	else if (!got)
		++jb->stats.empty;

	depth_update(jb);
	return got > 0;
}

void jb_reset(struct jb *jb)
{
	if (!jb)
		return;

	if (jb->count)
		memset(jb->mark, 0, sizeof(jb->mark));

	jb->count = 0;
	jb->late_run = 0;
	jb->synced = false;
	jb->stats.depth_ms = 0;
}

const struct jb_stats *jb_stats(const struct jb *jb)
{
	return jb ? &jb->stats : NULL;
}
