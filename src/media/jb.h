/**
 * @file jb.h  Playout (jitter) buffer: RTP packets in, 20 ms frames out
 *
 * Decoded samples are placed by RTP timestamp (8 kHz) whatever the packet
 * size, and read out 160 at a time on the media tick. Allocated once per
 * leg; putting and getting never allocate. Not thread-safe: one media
 * thread owns a leg's buffer.
 */

enum {
	JB_RATE = 8000,	       /**< [Hz] samples per second */
	JB_FRAME = 160,	       /**< samples per jb_get (20 ms) */
	JB_RING = 4096,	       /**< samples held at most (512 ms) */
	JB_DELAY_DEFAULT = 60, /**< [ms] playout behind the first packet */
	JB_DELAY_MAX = 256,    /**< [ms] so that any packet fits after it */
	JB_PACKET_MAX = 2048,  /**< samples in one jb_put (256 ms) */
	JB_LATE_RESYNC = 5,    /**< late packets in a row that resync */
};

/** Counters since jb_alloc; jb_reset keeps them */
struct jb_stats {
	uint64_t put;	  /**< packets given to jb_put */
	uint64_t late;	  /**< ... of which (partly) after their playout */
	uint64_t lost;	  /**< frames with a hole: missing before later audio */
	uint64_t empty;	  /**< frames with no audio: silence or underrun */
	uint64_t resyncs; /**< times the playout point was re-anchored */
	uint32_t depth_ms; /**< audio buffered ahead of the playout point */
};

struct jb;

int jb_alloc(struct jb **jbp, uint32_t delay_ms);
int jb_put(struct jb *jb, uint32_t ts, const int16_t *pcm, size_t n,
	   bool marker);
bool jb_get(struct jb *jb, int16_t out[JB_FRAME]);
void jb_reset(struct jb *jb);
const struct jb_stats *jb_stats(const struct jb *jb);
