/**
 * @file tsrv.h  The CTI server: tlib/1 (shared/spec/tlib-protocol.md) over
 * TCP, one JSON object per line
 *
 * Prefix tsrv_ ("tlib server"): the client library of the same protocol
 * (lib/tlib, include/tlib.h) owns tlib_.
 */

struct tsrv;
struct cfg;
struct call_event;
struct call_model;
struct call_conf_req;

struct tsrv_stats {
	uint32_t clients;
	uint32_t registrations;
	uint64_t events;
};

/** What the CTI server asks of the rest of the server (errno-style) */
struct tsrv_calls {
	int (*release)(uint64_t connid, const char *dn, void *arg);
	int (*answer)(uint64_t connid, const char *dn, void *arg);
	int (*hold)(uint64_t connid, const char *dn, bool hold,
		    const char *music, char *why, size_t sz, void *arg);
	int (*make)(const char *this_dn, const char *other_dn, char *why,
		    size_t sz, void *arg);
	int (*conference)(const struct call_conf_req *r, uint64_t *consultp,
			  char *why, size_t sz, void *arg);
	int (*listen)(uint64_t connid, const char *dn, const char *other,
		      bool disconnect, const char *music, char *why, size_t sz,
		      void *arg);
	bool (*registered)(const char *dn, void *arg);
	const struct call_model *(*model)(void *arg);
	void *arg;
};

int tsrv_alloc(struct tsrv **sp, const struct cfg *cfg);
void tsrv_set_calls(struct tsrv *s, const struct tsrv_calls *calls);
void tsrv_cfg_set(struct tsrv *s, const struct cfg *cfg);
void tsrv_call_event(struct tsrv *s, const struct call_event *ev);
void tsrv_stats(const struct tsrv *s, struct tsrv_stats *st);

struct http_conn;
struct http_msg;
int tsrv_ws_accept(struct tsrv *s, struct http_conn *hc,
		   const struct http_msg *msg);
