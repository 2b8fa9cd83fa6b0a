/**
 * @file peer.h  Pings to the other sites (peer.c): is a site still there?
 */

struct peer_watch;
struct sip;
struct cfg;

/** The site behind trunk is down: end the legs through it */
typedef void(peer_down_h)(const char *trunk, void *arg);

int peer_watch_alloc(struct peer_watch **pwp, struct sip *sip,
		     const struct cfg *cfg, peer_down_h *downh, void *arg);
void peer_watch_set(struct peer_watch *pw, const struct cfg *cfg);
