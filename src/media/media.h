/**
 * @file media.h  The media engine: RTP legs, mixed per call, on worker
 * threads
 *
 * Every party of a call has one media leg: an RTP/RTCP socket pair that
 * its phone sends to. The legs of one call (one ConnID) share one mix on
 * one worker thread, which every 20 ms reads what arrived, mixes, and
 * sends each party what it should hear. The control thread (libre's loop)
 * creates legs and changes them (moving a leg to another call's mix among
 * others) through commands that a worker applies at its next frame
 * boundary; what the workers report (a leg closed, RTP timeout) comes back
 * to the control thread as loop events.
 */

struct media;
struct media_leg;
struct player;
struct cfg;

enum media_source {
	MEDIA_SRC_NONE = 0, /**< send nothing */
	MEDIA_SRC_MIX,	    /**< the mix of the others */
	MEDIA_SRC_MUSIC,    /**< the given player's music */
	MEDIA_SRC_SILENCE,  /**< encoded silence */
};

/** Where the phone wants its RTP, from its SDP */
struct media_remote {
	struct sa addr;
	int codec;   /**< enum codec: payload type 0 or 8 */
	int dtmf_pt; /**< telephone-event payload type, -1 = none */
	bool send;   /**< the phone receives: we may send to it */
	bool recv;   /**< the phone sends: expect its RTP */
};

/** Media statistics of the whole engine (for status and tests) */
struct media_stats {
	uint32_t legs; /**< open legs (RTP socket pairs) */
	uint32_t mixes;
	uint64_t ticks;	     /**< frames run, all workers */
	uint64_t late;	     /**< frames started more than 10 ms late */
	uint64_t rx, tx;     /**< RTP packets */
	uint64_t rx_foreign; /**< packets from an address not negotiated */
	uint64_t rx_bad;     /**< packets that are not RTP we can use */
};

enum {
	MEDIA_FRAME_BUCKETS = 9, /**< frame-time histogram: bounds below */
};

/** [ns] upper bounds of the frame-time buckets; a last one takes the rest */
extern const uint64_t media_frame_bounds[MEDIA_FRAME_BUCKETS];

/** One worker thread, for status and metrics */
struct media_worker_stats {
	uint32_t legs, mixes;
	uint32_t music;	     /**< legs whose source is music */
	uint64_t frames;     /**< frames run */
	uint64_t late;	     /**< frames started more than 10 ms late */
	uint64_t rx, tx;     /**< RTP packets taken, sent */
	uint64_t rx_lost;    /**< sequence numbers that never came */
	uint64_t rx_late;    /**< audio packets after their playout time */
	uint64_t rx_foreign; /**< from an address not negotiated */
	uint64_t rx_bad;     /**< not RTP we can use */
	double load;	     /**< busy share of the last second, 0..1 */
	uint64_t frame_max;  /**< [ns] longest frame of the last second */
	uint64_t busy;	     /**< [ns] time spent in frames, in all */
	uint64_t hist[MEDIA_FRAME_BUCKETS + 1]; /**< frames per bucket */
};

typedef void(media_timeout_h)(uint32_t id, void *arg);

int media_alloc(struct media **mp, const struct cfg *cfg,
		media_timeout_h *timeouth, void *arg);
void media_stats(const struct media *m, struct media_stats *st);
unsigned media_workers(const struct media *m);
int media_worker_stats(const struct media *m, unsigned i,
		       struct media_worker_stats *st);

/*
 * Calls and workers. A call is pinned to a worker by its first leg, round
 * robin; a leg can move only between calls of its own worker, so a call
 * that will take legs from another (a consult call: the agent moves there
 * and back, or its party moves into the main call on a merge) is pinned
 * beside it first. Whoever calls media_pin_with (the B2BUA, when it sets
 * up a consult call) calls media_pin_drop if that call ends before any
 * leg joined it; once a leg has joined, the pin goes with its last leg.
 */
int media_pin_with(struct media *m, uint64_t connid, uint64_t near_connid);
void media_pin_drop(struct media *m, uint64_t connid);

int media_leg_alloc(struct media_leg **lp, struct media *m,
		    uint32_t rtp_timeout);
int media_leg_join(struct media_leg *l, uint64_t connid, uint32_t id);
int media_leg_move(struct media_leg *l, uint64_t connid);
uint16_t media_leg_port(const struct media_leg *l);
const struct sa *media_leg_laddr(const struct media_leg *l);
void media_leg_remote(struct media_leg *l, const struct media_remote *r);
void media_leg_mode(struct media_leg *l, bool talk, bool listen,
		    enum media_source src, struct player *music);
