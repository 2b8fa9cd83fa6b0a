/**
 * @file b2bua.h  The back-to-back user agent: SIP legs <-> the call model
 */

struct b2bua;
struct cfg;
struct reg;
struct media;
struct player_cache;

struct b2bua_stats {
	uint32_t calls;
	uint32_t parties;
	uint32_t legs;
};

int b2bua_alloc(struct b2bua **bp, struct sip *sip, struct reg *reg,
		struct media *media, struct player_cache *players,
		const struct cfg *cfg);
struct call_event;
typedef void(b2bua_event_h)(const struct call_event *ev, void *arg);

void b2bua_cfg_set(struct b2bua *b, const struct cfg *cfg);
void b2bua_set_event_handler(struct b2bua *b, b2bua_event_h *h, void *arg);
void b2bua_stats(const struct b2bua *b, struct b2bua_stats *st);
const struct call_model *b2bua_model(const struct b2bua *b);
bool b2bua_registered(const struct b2bua *b, const char *dn);
void b2bua_rtp_timeout(struct b2bua *b, uint32_t party);
int b2bua_release(struct b2bua *b, uint64_t connid, const char *dn);
int b2bua_answer(struct b2bua *b, uint64_t connid, const char *dn);
int b2bua_make_call(struct b2bua *b, const char *this_dn, const char *other_dn,
		    char *why, size_t sz);
struct call_conf_req;
int b2bua_conference(struct b2bua *b, const struct call_conf_req *r,
		     uint64_t *consultp, char *why, size_t sz);
int b2bua_listen(struct b2bua *b, uint64_t connid, const char *dn,
		 const char *alias, bool disconnect, const char *music,
		 char *why, size_t sz);
int b2bua_hold(struct b2bua *b, uint64_t connid, const char *dn, bool hold,
	       const char *music, char *why, size_t sz);
