/**
 * @file leg.h  One party's SIP dialog and its media leg
 *
 * sipserver is a back-to-back user agent: every party has its own dialog
 * with sipserver and its own RTP leg in the media engine, and the SDP
 * sipserver sends always points at that leg. A leg is either incoming
 * (the phone called us) or outgoing (we call the party: one INVITE per
 * registered contact, the first to answer wins). The leg reports what the
 * party's side does through struct leg_h and does what the B2BUA tells it.
 */

struct leg;
struct media;
struct media_leg;
struct sipsess_sock;

struct leg_h {
	void (*progress)(struct leg *l, bool early_media, void *arg);
	void (*answered)(struct leg *l, void *arg);
	void (*failed)(struct leg *l, uint16_t scode, void *arg);
	void (*closed)(struct leg *l, void *arg);
	void (*hold)(struct leg *l, bool hold, void *arg);
	/** an INFO in the dialog: the handler must answer it */
	void (*info)(struct leg *l, const struct sip_msg *msg, void *arg);
};

struct leg_env {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct media *media;
	const struct leg_h *h;
	void *arg;
};

/** An outgoing call's target and caller identity */
struct leg_dial {
	const char *const *uris; /**< contact URIs to fork to */
	size_t n;
	const char *from_user; /**< shown to the callee */
	uint32_t no_answer;    /**< [s] give up (480) after ringing this long */
	uint32_t rtp_timeout;  /**< [s] */
	const char *hdrs;      /**< extra header lines, or NULL */
};

int leg_incoming(struct leg **lp, const struct leg_env *env,
		 const struct sip_msg *msg, uint32_t rtp_timeout,
		 const char *hdrs);
int leg_outgoing(struct leg **lp, const struct leg_env *env,
		 const struct leg_dial *d, uint32_t party, uint64_t connid);
void leg_attach(struct leg *l, uint32_t party, uint64_t connid);
uint32_t leg_party(const struct leg *l);
struct media_leg *leg_media(const struct leg *l);

int leg_progress(struct leg *l, uint16_t scode, bool early_media);
int leg_answer(struct leg *l);
void leg_reject(struct leg *l, uint16_t scode);
void leg_hangup(struct leg *l);
int leg_hold(struct leg *l, bool hold);
int leg_answer_request(struct leg *l);
const char *leg_peer_site(const struct leg *l);
int leg_tell(struct leg *l, const char *ctype, const char *body);

/* info.c */
struct leg_info;
struct sipsess;
/** The far end's answer to leg_ask: its final response, or err */
typedef void(leg_ask_h)(int err, const struct sip_msg *msg, uint32_t party,
			void *arg);
int leg_ask(struct leg *l, const char *ctype, const char *body, leg_ask_h *h,
	    void *arg);
int leg_info_ask(struct leg_info *inf, const char *ctype, const char *body,
		 leg_ask_h *h, void *arg);
int leg_info_alloc(struct leg_info **infp, const char *ctype, uint32_t party);
void leg_info_ready(struct leg_info *inf, struct sipsess *sess);
int leg_info_send(struct leg_info *inf, const char *body, size_t len);

/* sdp.c */
struct sdp_session;
struct media_remote;
int leg_sdp_alloc(struct sdp_session **sessp, const struct sa *laddr,
		  uint16_t port);
int leg_sdp_remote(struct media_remote *r, struct sdp_session *sess,
		   const char **reason);
void leg_sdp_set_hold(struct sdp_session *sess, bool hold);
