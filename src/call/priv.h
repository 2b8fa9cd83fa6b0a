/**
 * @file priv.h  Call model internals shared by the files of src/call/
 */

struct call_model {
	struct call_env env;
	struct hash *calls;   /**< struct call, by ConnID */
	struct hash *parties; /**< struct party, by id (not owned) */
	uint64_t next_connid;
	uint32_t next_party;
	char *default_music;
	uint32_t ncalls;
	uint32_t nparties;
};

struct call {
	struct le he;
	struct call_model *m;
	uint64_t connid;
	char uuid[37];
	enum call_type type;
	struct list partyl; /**< struct party, in join order (owned) */
	bool early_media;   /**< the callee's early media reaches the caller */
	char *ani;
	char *dnis;
	struct call *main;    /**< a consult call: the call it consults from */
	struct call *consult; /**< a main call: its consult call */
};

struct party {
	struct le le; /**< in call->partyl */
	struct le he; /**< in model->parties */
	struct call_model *m;
	uint32_t id;
	struct call *call;
	char *name;
	char *alias;	     /**< name, made unique within the call */
	uint32_t leg;	     /**< the dialog and media leg it rides */
	struct party *rides; /**< consult: the initiator's main party */
	struct party *rider; /**< the consult party riding this one's leg */
	char *inviter;	     /**< single-step invitee: who added it */
	bool invited;	     /**< joins an existing call when it answers */
	bool external;
	char *trunk;
	char *location;
	bool moh;
	bool site;		    /**< on an inter-site trunk */
	struct call_remote *remote; /**< site: its parties, as reported */
	uint32_t nremote;
	bool remote_known;	       /**< site: the list has come */
	enum call_party_state seen_as; /**< site: what its site made of this
					    side ("you"), e.g. disconnected */
	struct {
		bool pending;
		uint32_t by; /**< the requester */
		bool disconnect;
		char other[65];
	} ask; /**< site: a request carried to its site, unanswered */
	enum call_party_state state;
	const char *role;	    /**< ThisDNRole in its events */
	char *music;		    /**< what it plays to others while held */
	struct call_media_cmd sent; /**< last media command, for changes */
	bool media_sent;
	bool rang;	/**< EventRinging was sent */
	bool make;	/**< TMakeCall's first party: we call its phone */
	bool picked_up; /**< that phone answered; the other is alerted */
};

struct call *call_create(struct call_model *m, enum call_type type);
struct party *party_create(struct call *call, const struct call_endpoint *ep,
			   enum call_party_state state, const char *role);
struct party *party_find(const struct call_model *m, uint32_t id);
struct party *party_other(const struct party *p);
struct party *party_of_leg(const struct call_model *m, uint32_t leg);
struct party *party_by_alias(const struct call *call, const char *alias);
void party_info(struct call_party_info *pi, const struct party *p);
int party_alias_set(struct party *p);
void party_move(struct party *p, struct call *to);
bool party_joined(const struct party *p);
uint32_t call_count(const struct call *call, bool joined);
const char *call_state_of(const struct call *call);

void call_alert(struct call_model *m, const struct party *p,
		const struct party *from);
void call_leg(struct call_model *m, enum call_leg_op op, const struct party *p,
	      uint16_t scode, bool early);
void call_release(struct call *call, const struct party *first, uint16_t cause);
void call_leave(struct party *p, const char *by);
void call_party_gone(struct party *p);
void call_invitee_failed(struct party *b, uint16_t scode);
void call_parties_emit(struct call *call);
int call_refuse(int err, char *why, size_t sz, const char *fmt, ...);

/* conf.c */
int call_invitee_rings(struct party *b);
int call_invitee_joins(struct party *b);
void call_conference_leave(struct party *p, const char *by);

/* listen.c */
bool call_listen_collapse(struct call *call);

/* site.c */
void call_sites_tell(struct call *call);
struct party *call_site_of(const struct call *call, const char *alias);
int call_site_ask(struct party *a, struct party *s, bool disconnect,
		  const char *alias, char *why, size_t sz);
void call_site_gone(struct party *p);

void call_media_update(struct call *call);
void call_media_remove(struct party *p);

void call_event_emit(const struct party *to, enum call_event_type type,
		     const struct party *other, uint16_t cause);

/** The attributes of an event beyond ThisDN, as the sender sets them */
struct call_ev_more {
	const char *other_dn, *other_role;
	const char *third_dn, *third_role;
	const char *call_state;
	uint64_t prev_connid;
	uint16_t cause;
	const char *reason;
	int err;
	const char *why;
};

void call_event_emit_more(const struct party *to, enum call_event_type type,
			  const struct call_ev_more *x);
void call_leg_emit(struct call_model *m, const struct call_leg_cmd *cmd);
