/**
 * @file priv.h  Media engine internals: the worker-side objects and the
 * queues between the control thread and the workers
 *
 * Ownership: a struct wleg (worker leg) is created on the control thread,
 * handed to a worker by CMD_ADD and from then on touched only by that
 * worker, which frees it on CMD_REMOVE. CMD_MOVE takes it from one call's
 * mix to another's on the same worker; a leg never changes worker. Sockets
 * are bound on the control thread (the SDP answer needs the port at once)
 * and closed by the worker.
 * Player references travel with commands: the worker hands each reference
 * it drops back to the control thread, because libre's reference counts
 * are not atomic.
 */
#include <pthread.h>
#include <stdatomic.h>

enum {
	MEDIA_PTIME = 20, /* [ms] one frame */
	MEDIA_BATCH = 16, /* packets read per recvmmsg */
	MEDIA_PKT_MAX = 1500,
	MEDIA_JB_DELAY = 60,	/* [ms] playout delay */
	RTCP_DRAIN_FRAMES = 50, /* drain RTCP once a second */
};

struct worker;

/** A call's mix on a worker */
struct wmix {
	struct le le; /**< in worker.mixl */
	uint64_t connid;
	struct mix mix;
	uint32_t nlegs;
};

/** A party's RTP leg, as its worker sees it */
struct wleg {
	struct le le; /**< in worker.legl */
	struct wmix *mix;
	uint64_t connid;
	uint32_t id;
	int fd, fd_rtcp;
	uint16_t port;

	struct media_remote remote;
	bool has_remote;

	/* latching (rtp.c): a phone whose packets come from elsewhere than
	 * its SDP says (NAT, several addresses) */
	struct sa latched; /**< where its stream really comes from */
	bool has_latched;
	bool heard_sdp;	      /**< its SDP address spoke: no learning */
	uint64_t learn_until; /**< [ms] end of the learning window */
	struct sa cand;	      /**< a source on probation */
	uint16_t cand_seq;
	uint8_t cand_n;

	/* what it hears */
	struct mix_party mp;
	enum media_source src;
	struct player *music;
	size_t music_pos;

	/* receive side */
	struct jb *jb;
	uint32_t rx_ssrc;
	bool rx_started;
	uint64_t last_rx;    /**< [ms] worker clock */
	uint32_t timeout_ms; /**< 0 = never */
	bool timed_out;

	/* loss (rtp.c): which of the last 64 sequence numbers up to the
	 * highest came (bit i: highest - i) */
	bool seq_on;
	uint32_t seq_ssrc;
	uint16_t seq_max;
	uint64_t seq_seen;

	/* send side */
	uint64_t sent_frame; /**< the last frame whose packet it got */
	bool ahead;	     /**< that packet went early (worker.c) */
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	bool marker;

	/* telephone-events being relayed to this leg */
	uint32_t ev_in_ts;
	uint32_t ev_out_ts;
	bool ev_mapped;
};

enum cmd_type {
	CMD_ADD = 0,
	CMD_REMOTE,
	CMD_MODE,
	CMD_REMOVE,
	CMD_MOVE,
};

struct cmd {
	struct le le;
	enum cmd_type type;
	struct wleg *leg;
	struct media_remote remote;
	bool talk, listen;
	enum media_source src;
	struct player *music; /**< a reference, handed to the worker */
	uint64_t connid;      /**< CMD_MOVE: the call whose mix it joins */
};

/** What a worker tells the control thread */
enum msg_type {
	MSG_CLOSED = 0, /**< leg gone: port free */
	MSG_TIMEOUT,	/**< no RTP for rtp-timeout */
	MSG_UNREF,	/**< drop this player reference */
};

struct msg {
	struct le le;
	enum msg_type type;
	uint32_t id;
	uint16_t port;
	struct player *music;
};

struct worker {
	struct media *m;
	unsigned idx;
	unsigned phase; /**< [ms] its frames' offset in the 20 ms period */
	pthread_t thread;
	bool inited, started;
	atomic_bool stop;

	pthread_mutex_t lock; /**< guards cmdl */
	pthread_cond_t wake;  /**< a mode command for a sleeping worker */
	struct list cmdl;
	atomic_uint pending;
	atomic_uint pending_modes; /**< of them, CMD_MODE (modes_apply) */

	struct list mixl; /**< worker only */
	struct list legl; /**< worker only */
	uint64_t next;	  /**< [ms] start of the next frame */
	uint64_t frame;	  /**< the frame running or last run, from 1 */

	/* statistics, written by the worker, read by anyone */
	atomic_uint_least64_t ticks, late, rx, tx, rx_foreign, rx_bad;
	atomic_uint_least64_t rx_lost, rx_late; /**< rtp.c */
	atomic_uint nlegs, nmixes;
	atomic_uint nmusic; /**< legs whose source is music */

	/* frame times (load.c): a histogram, their sum, and the busy share
	 * and longest frame of the last LOAD_WINDOW, published at its end */
	atomic_uint_least64_t frame_hist[MEDIA_FRAME_BUCKETS + 1];
	atomic_uint_least64_t busy_ns;
	atomic_uint load_ppm;
	atomic_uint_least64_t frame_max_ns;
	uint64_t win_start, win_busy, win_max; /**< [ns] worker only */
};

/* engine.c */
void media_post(struct media *m, enum msg_type type, uint32_t id, uint16_t port,
		struct player *music);
uint64_t media_now(void);

/* load.c */
uint64_t media_now_ns(void);
void worker_load(struct worker *w, uint64_t t0, uint64_t t1);

/* worker.c */
int worker_init(struct worker *w);
void worker_fini(struct worker *w);
void *worker_main(void *arg);
void worker_idle(struct worker *w);
void worker_push(struct worker *w, struct cmd *cmd);
void worker_frame(struct worker *w, uint64_t now);
void worker_free_all(struct worker *w);

/* rtp.c */
void rtp_learn_start(struct wleg *l, uint64_t now);
void rtp_leg_recv(struct worker *w, struct wleg *l, uint64_t now);
void rtp_leg_send(struct worker *w, struct wleg *l);
void rtp_leg_drain_rtcp(struct wleg *l);
