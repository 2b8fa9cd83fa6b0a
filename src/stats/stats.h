/**
 * @file stats.h  Counters of what happened, for /status and /metrics
 *
 * What exists now (calls, registrations, media legs) is asked of the
 * modules that own it when a page is made; what happened (SIP messages,
 * CTI requests and errors, private-conversation changes, reloads) leaves
 * no trace there, so it is counted here, by one call where it happens.
 * Those places are deep in modules with no handle to pass a counter
 * object through, so there is one set per process, like libre's own
 * state. Counters are relaxed atomics: any thread may count, and
 * nothing is ever locked or allocated.
 *
 * Labels are bounded: known SIP methods, status codes 100..699, the
 * tlib/1 requests and error codes the server knows; anything else is
 * counted as "other", so a client sending junk cannot grow the pages.
 */

#include <stdatomic.h>

enum stats_dir {
	STATS_IN = 0, /**< received */
	STATS_OUT,    /**< sent */
	STATS_DIRS,
};

enum {
	STATS_SIP_METHODS = 15, /**< 14 known and "other" (the last) */
	STATS_SIP_CODES = 601,	/**< 100..699 and "other" (the last) */
	STATS_CTI_REQUESTS = 18,
	STATS_CTI_CODES = 9,
};

enum stats_reconnect {
	STATS_RECONNECT_REQUEST = 0, /**< TListenReconnect */
	STATS_RECONNECT_RELEASED,    /**< the conference collapsed */
	STATS_RECONNECTS,
};

typedef atomic_uint_least64_t stats_counter;

struct stats_counters {
	stats_counter sip_req[STATS_DIRS][STATS_SIP_METHODS];
	stats_counter sip_resp[STATS_DIRS][STATS_SIP_METHODS][STATS_SIP_CODES];
	stats_counter cti_req[STATS_CTI_REQUESTS];
	stats_counter cti_err[STATS_CTI_REQUESTS][STATS_CTI_CODES];
	stats_counter listen_disconnects;
	stats_counter listen_reconnects[STATS_RECONNECTS];
	stats_counter reloads_ok, reloads_failed;
};

/** The server's life: start and reloads (control thread) */
struct stats_life {
	uint64_t started;      /**< [s] wall clock, Unix time */
	uint64_t started_mono; /**< [ms] monotonic (tmr_jiffies) */
	uint64_t loaded;       /**< [s] the running configuration's load */
	uint64_t reloaded;     /**< [s] the last reload tried, 0: none */
	bool reload_failed;    /**< the last reload was rejected */
};

/* stats.c */
const struct stats_counters *stats_counters(void);
const struct stats_life *stats_life(void);
void stats_started(void);
void stats_reloaded(bool ok);
void stats_count(stats_counter *c);
void stats_listen_disconnect(void);
void stats_listen_reconnect(enum stats_reconnect why);

/* cti.c: tlib/1 requests and EventErrors */
void stats_cti_request(const char *name);
void stats_cti_error(const char *name, int code);
const char *stats_cti_request_name(size_t i);
int stats_cti_code(size_t i);

/* sip.c: every SIP message on the wire, from libre's trace hook */
struct sip;
struct stats_sip_msg {
	bool req;
	size_t method; /**< index: stats_sip_method_name */
	size_t code;   /**< response: index, status code - 100 */
};

void stats_sip_attach(struct sip *sip);
int stats_sip_parse(struct stats_sip_msg *m, const uint8_t *pkt, size_t len);
void stats_sip_message(enum stats_dir dir, const uint8_t *pkt, size_t len);
const char *stats_sip_method_name(size_t i);
