/**
 * @file lg.h  The load generator's parts and what they share
 *
 * bench/loadgen.c wires five parts together: the sipserver process it
 * starts (server.c), the RTP worker that plays every party (rtp.c), the
 * SIP user agent (ua.c) and the CTI client (cti.c) that build the
 * conferences through the server's real interfaces, and the ramp
 * (ramp.c) that grows the load step by step and measures it. SIP, CTI
 * and libre's loop live on the main thread; the ramp has a thread of its
 * own so that it can be written as a plain sequence of waits; the RTP
 * worker has its own. What crosses threads is here: the progress
 * counters (atomics), the first fatal error, and the RTP snapshots.
 *
 * Ports: only 127.0.0.1 and 50000-59999, every one bound explicitly
 * (Linux's ephemeral range covers these ports, so nothing is left to the
 * kernel's choice).
 */

enum {
	LG_SRV_SIP = 50000,	/* sipserver: sip-port (UDP, TCP) */
	LG_SRV_TLIB = 50001,	/* sipserver: tlib-port */
	LG_UA_SIP = 50002,	/* the generator's SIP UDP socket */
	LG_CTI_PORT = 50003,	/* the generator's CTI connection */
	LG_SRV_RTP_MIN = 50100, /* sipserver: rtp-port-min .. -max */
	LG_SRV_RTP_MAX = 56699, /* (two ports per party) */
	LG_PARTY_MIN = 56700,	/* the generator: one port per party */
	LG_PARTY_MAX = 59999,
	LG_MAX_PARTIES = 3300,
	LG_CONF_SIZE = 4, /* parties of a conference: gen, 2000..2002 */
	LG_PTIME = 20,	  /* [ms] */
	LG_FRAME = 160,	  /* samples (and PCMU bytes) per packet */
	LG_HIST_US = 10,  /* jitter histogram: bucket width [us] */
	LG_HIST_N = 20000 /* ... up to 200 ms (the last bucket: more) */
};

/* The DNs: the caller and the three callees, index = tone */
extern const char *const lg_dn[LG_CONF_SIZE];

/** What the main thread's parts tell the ramp (written there only) */
struct lg_progress {
	atomic_uint registered;	 /**< DNs whose REGISTER got 200 */
	atomic_uint placed;	 /**< INVITEs sent as gen */
	atomic_uint out_estab;	 /**< ... answered and ACKed */
	atomic_uint in_estab;	 /**< INVITEs to 2000..2002 answered */
	atomic_uint parties;	 /**< RTP parties started */
	atomic_uint confs;	 /**< conferences with 4 parties (CTI) */
	atomic_uint target;	 /**< conferences wanted (set by the ramp) */
	atomic_bool failed;	 /**< a fatal error: why says which */
	atomic_flag fail_claim;	 /**< who writes why */
	atomic_bool interrupted; /**< SIGINT or SIGTERM */
	atomic_bool done;	 /**< the ramp is over: leave the loop */
	char why[256];
};

void lg_fail(struct lg_progress *pg, const char *fmt, ...);
uint64_t lg_now_ns(void);

/* --- sipserver, the process under test (server.c) --- */

struct lg_server;

/** A status line (SIGUSR1) of the server */
struct lg_status {
	uint64_t calls, parties, legs, rtp_legs, mixes;
	uint64_t frames, late, rx, tx, rx_foreign, rx_bad;
};

/** CPU time [clock ticks] of the server and of its busiest threads */
struct lg_cpu {
	uint64_t total;
	size_t ntask;
	int tid[64];
	uint64_t ticks[64];
};

/** The whole machine's CPU time [clock ticks, all CPUs] (/proc/stat) */
struct lg_host {
	uint64_t idle; /**< idle and iowait: exact on a tickless kernel */
	uint64_t softirq;
};

int lg_host_cpu(struct lg_host *h);
int lg_server_start(struct lg_server **sp, const char *bin,
		    unsigned media_threads);
int lg_server_alive(struct lg_server *s);
int lg_server_status(struct lg_server *s, struct lg_status *st);
int lg_server_cpu(const struct lg_server *s, struct lg_cpu *c);
int lg_server_rss(const struct lg_server *s, uint64_t *kibp);
int lg_server_pid(const struct lg_server *s);
const char *lg_server_dir(const struct lg_server *s);
unsigned lg_server_log_problems(const struct lg_server *s);
int lg_server_stop(struct lg_server *s, bool kill_it);
int lg_udp_drops(uint16_t min, uint16_t max, uint64_t *dropsp);

/* --- the parties' RTP (rtp.c) --- */

struct lg_rtp;

/** Cumulative figures of the RTP worker, taken at a frame boundary */
struct lg_rtp_stats {
	uint64_t ticks;	    /**< frames run */
	uint64_t late;	    /**< frames started > 5 ms late */
	uint64_t sent;	    /**< packets sent */
	uint64_t send_err;  /**< sends that failed */
	uint64_t received;  /**< RTP packets taken */
	uint64_t expected;  /**< by sequence: highest - first + 1 */
	uint64_t gaps;	    /**< sequence numbers never seen */
	uint64_t bad;	    /**< not RTP/PCMU, duplicates, restarts */
	uint64_t tones_ok;  /**< sampled mixes that sounded right */
	uint64_t tones_bad; /**< ... and wrong */
	uint16_t bad_port;  /**< the last party whose mix sounded wrong */
	size_t active;	    /**< parties started */
	size_t silent;	    /**< active ones that got nothing since last */
	uint16_t silent_port;
	uint64_t hist[LG_HIST_N]; /**< |D| of consecutive packets */
	double *jitter;		  /**< if set: RFC 3550 J per party [ms] */
	size_t njitter;		  /**< in: room; out: filled */
};

int lg_rtp_alloc(struct lg_rtp **rp, size_t cap);
int lg_rtp_party_open(struct lg_rtp *r, unsigned tone, uint16_t *portp,
		      size_t *idxp);
int lg_rtp_party_start(struct lg_rtp *r, size_t idx, const struct sa *remote);
int lg_rtp_snapshot(struct lg_rtp *r, struct lg_rtp_stats *st);

/* --- the SIP user agent (ua.c) and the CTI client (cti.c) --- */

struct lg_ua;
struct lg_cti;

int lg_ua_alloc(struct lg_ua **uap, struct lg_rtp *rtp, struct lg_progress *pg,
		unsigned rate);
void lg_ua_stopping(struct lg_ua *ua);
int lg_cti_alloc(struct lg_cti **ctip, struct lg_progress *pg);

/* --- the ramp (ramp.c), on its own thread --- */

struct lg_ramp_opts {
	unsigned steps[64];
	size_t nsteps;
	unsigned seconds;
	unsigned settle;
	unsigned media_threads;
	unsigned rate;
	double max_other; /**< [% of a CPU] others' use that spoils a window */
	unsigned retries; /**< windows measured again when spoilt */
};

/** What the ramp works with; it owns none of it */
struct lg_ramp {
	const struct lg_ramp_opts *opts;
	struct lg_server *srv;
	struct lg_rtp *rtp;
	struct lg_progress *pg;
	int status; /**< out: the program's exit status */
};

void *lg_ramp_main(void *arg);
