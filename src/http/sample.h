/**
 * @file sample.h  What the operator's pages show, and how they are written
 *
 * After stats/stats.h, call/call.h, call/census.h, tlib/tsrv.h and
 * media/media.h: one sample of the whole server at one moment, and the
 * pages made from it. Making a page is a pure function of a sample, so
 * the unit tests build samples by hand.
 */

struct mbuf;
struct cfg;

enum {
	HTTPD_WORKERS_MAX = 64, /**< media-threads at most */
};

/** Everything the pages show, at one moment */
struct httpd_sample {
	const struct cfg *cfg;		  /**< the running snapshot */
	const struct stats_life *life;	  /**< start and reloads */
	const struct stats_counters *ctr; /**< what happened */
	uint64_t now;			  /**< [s] wall clock */
	uint64_t uptime;		  /**< [ms] */
	uint32_t extensions;		  /**< Extension DNs configured */
	uint32_t registered;		  /**< ... with at least one contact */
	uint32_t contacts;		  /**< live bindings */
	struct call_census calls;
	struct tsrv_stats cti;
	uint32_t rtp_legs;    /**< RTP port pairs open */
	uint32_t music_files; /**< music paths decoded and cached */
	unsigned nworkers;
	struct media_worker_stats workers[HTTPD_WORKERS_MAX];
};

/* status.c */
int httpd_status_render(struct mbuf *mb, const struct httpd_sample *s);

/* metrics.c */
int httpd_metrics_render(struct mbuf *mb, const struct httpd_sample *s);

/* expo.c: the Prometheus text exposition format 0.0.4 */
struct metrics_label {
	const char *name;
	const char *value;
};

int metrics_family(struct mbuf *mb, const char *name, const char *type,
		   const char *help);
int metrics_u64(struct mbuf *mb, const char *name,
		const struct metrics_label *lv, size_t n, uint64_t v);
int metrics_f64(struct mbuf *mb, const char *name,
		const struct metrics_label *lv, size_t n, double v);
int metrics_histogram(struct mbuf *mb, const char *name,
		      const struct metrics_label *lv, size_t n,
		      const uint64_t *bounds_ns, const uint64_t *counts,
		      size_t nb, double sum);
