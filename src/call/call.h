/**
 * @file call.h  The call model: calls, parties, their states, and what each
 * party hears
 *
 * The heart of sipserver and the only place that knows the call model of
 * shared/spec/call-model.md. It is pure: no sockets, no libre I/O, no clock
 * and no randomness of its own. The shells feed it inputs (a SIP leg
 * answered, a phone hung up, later CTI requests) and it answers through
 * the three outputs of struct call_env: leg commands (what the SIP shell
 * must do to a party's dialog), media commands (what a party hears and
 * whether it is heard) and CTI events. Unit tests drive it with recorded
 * outputs and pin down the event sequences of the spec.
 */

struct call_model;
struct call;

enum call_type {
	CALL_INTERNAL = 0,
	CALL_INBOUND,
	CALL_OUTBOUND,
	CALL_CONSULT,
};

enum call_party_state {
	PARTY_DIALING = 0, /**< the caller, until answered */
	PARTY_RINGING,	   /**< a callee being alerted */
	PARTY_ESTABLISHED,
	PARTY_HELD,
	PARTY_LISTEN_DISCONNECTED,
	PARTY_RELEASED,
};

/** Who a party is, as the SIP shell identified it */
struct call_endpoint {
	const char *name;     /**< Extension DN, or the external number */
	bool external;	      /**< reached through a trunk */
	const char *trunk;    /**< the Trunk DN, when external */
	const char *location; /**< switch name of the party */
	bool moh;	      /**< false: never music, silence instead */
	bool site;	      /**< the trunk leads to another sipserver site
				   (an inter-site trunk): docs/multisite.md */
};

/* Outputs */

enum {
	CALL_MAX_PARTIES = 32, /**< parties of one call, ringing ones too */
};

enum call_leg_op {
	CALL_LEG_ALERT = 0, /**< start the party's dialog (INVITE) */
	CALL_LEG_PROGRESS,  /**< tell the caller the callee rings (180/183) */
	CALL_LEG_ANSWER,    /**< answer the caller (200) */
	CALL_LEG_REJECT,    /**< refuse the caller (scode) */
	CALL_LEG_HANGUP,    /**< end the party's dialog (BYE or CANCEL) */
	CALL_LEG_PARTIES,   /**< tell the site behind this party who is on
				 this side (call_parties_all without it) */
	CALL_LEG_REQUEST,   /**< ask the site behind this party to
				 disconnect or reconnect one of its parties
				 (by, other, disconnect): call_site_answer */
};

struct call_leg_cmd {
	enum call_leg_op op;
	uint32_t party;	    /**< the party's leg (its SIP dialog) */
	const char *target; /**< ALERT: name to call */
	const char *from;   /**< ALERT: name of the calling party */
	bool external;	    /**< ALERT: through trunk */
	const char *trunk;  /**< ALERT: that trunk */
	uint16_t scode;	    /**< PROGRESS, REJECT: SIP status */
	bool early_media;   /**< PROGRESS: with SDP */
	bool auto_answer;   /**< ALERT: ask the phone to answer by itself */
	bool site;	    /**< ALERT: through an inter-site trunk */
	const char *by;	    /**< REQUEST: the requester's alias */
	const char *other;  /**< REQUEST: the party it is about */
	bool disconnect;    /**< REQUEST: TListenDisconnect, else Reconnect */
};

enum call_source {
	CALL_SRC_NONE = 0, /**< nothing is sent: before answer */
	CALL_SRC_MIX,	   /**< the mix of the others */
	CALL_SRC_MUSIC,	   /**< music: the file in .music */
	CALL_SRC_SILENCE,  /**< silence (music is off for the party) */
};

/** What one party hears and whether it is heard */
struct call_media_cmd {
	uint32_t party;	 /**< the party's leg (its media leg) */
	uint64_t connid; /**< the call whose mix the leg is in */
	bool talk;	 /**< its voice is in the call's mix */
	bool listen;	 /**< it gets the mix minus its own voice */
	enum call_source source;
	const char *music; /**< CALL_SRC_MUSIC: file or folder */
	bool remove;	   /**< the party has left: free its media */
};

enum call_event_type {
	CALL_EV_DIALING = 0,
	CALL_EV_RINGING,
	CALL_EV_ESTABLISHED,
	CALL_EV_RELEASED,
	CALL_EV_HELD,
	CALL_EV_RETRIEVED,
	CALL_EV_PARTY_ADDED,
	CALL_EV_PARTY_CHANGED,
	CALL_EV_PARTY_DELETED,
	CALL_EV_PARTIES,    /**< the LCTParty snapshot (EventUserEvent) */
	CALL_EV_ADD_FAILED, /**< to a requester: its party never joined */
	CALL_EV_LISTEN_DISCONNECTED,
	CALL_EV_LISTEN_RECONNECTED,
	CALL_EV_SITE_FAILED, /**< to a requester: the site that owns the
				  conference refused its request (err, why) */
};

/** A CTI event for one Extension DN (ThisDN) */
struct call_event {
	enum call_event_type type;
	const struct call *call;
	const char *this_dn;
	const char *this_role;
	const char *other_dn; /**< NULL when none */
	const char *other_role;
	const char *third_dn; /**< ThirdPartyDN, NULL when none */
	const char *third_role;
	const char *call_state; /**< CallState, NULL when not sent */
	uint64_t prev_connid;	/**< PARTY_CHANGED: PreviousConnID */
	const char *reason;	/**< LISTEN_RECONNECTED: ReconnectReason */
	const char *ani, *dnis;
	uint16_t cause;	 /**< RELEASED, ADD_FAILED: SIP status, 0 */
	int err;	 /**< SITE_FAILED: the refusal, as the model's */
	const char *why; /**< SITE_FAILED: its sentence */
};

struct call_env {
	void (*leg)(const struct call_leg_cmd *cmd, void *arg);
	void (*media)(const struct call_media_cmd *cmd, void *arg);
	void (*event)(const struct call_event *ev, void *arg);
	/** fill a 36-character CallUUID (the model has no randomness) */
	void (*uuid)(char *buf, size_t sz, void *arg);
	void *arg;
};

/** Settings the model reads from the configuration at event time */
struct call_settings {
	const char *default_music;
};

int call_model_alloc(struct call_model **mp, const struct call_env *env,
		     uint64_t connid_seed);
void call_model_settings(struct call_model *m, const struct call_settings *s);
uint32_t call_model_count(const struct call_model *m);
uint32_t call_model_parties(const struct call_model *m);

/* Inputs from the SIP shell */

int call_originate(struct call_model *m, uint32_t *callerp, uint32_t *calleep,
		   const struct call_endpoint *caller,
		   const struct call_endpoint *callee, enum call_type type);
int call_make(struct call_model *m, uint32_t *ap, uint32_t *bp,
	      const struct call_endpoint *a, const struct call_endpoint *b);
int call_party_progress(struct call_model *m, uint32_t party, bool early_media);
int call_party_answered(struct call_model *m, uint32_t party);
int call_party_failed(struct call_model *m, uint32_t party, uint16_t scode);
int call_party_hangup(struct call_model *m, uint32_t party);
int call_party_hold(struct call_model *m, uint32_t party, bool hold,
		    const char *music);

/** A conference request as the CTI server passes it on */
enum call_conf_op {
	CALL_CONF_INITIATE = 0, /**< TInitiateConference */
	CALL_CONF_COMPLETE,	/**< TCompleteConference */
	CALL_CONF_RECONNECT,	/**< TReconnectCall */
	CALL_CONF_SINGLE_STEP,	/**< TSingleStepConference */
	CALL_CONF_DELETE,	/**< TDeleteFromConference */
};

struct call_conf_req {
	enum call_conf_op op;
	uint64_t connid;
	const char *dn;	   /**< ThisDN */
	const char *other; /**< OtherDN: a number, or a party alias */
	uint64_t consult;  /**< ConsultConnID */
};

/* Inputs from CTI requests (party: as call_party_find found it) */

int call_party_release(struct call_model *m, uint32_t party);
int call_initiate_conference(struct call_model *m, uint32_t party,
			     const struct call_endpoint *b, uint64_t *consultp,
			     char *why, size_t sz);
int call_complete_conference(struct call_model *m, uint32_t party,
			     uint64_t consult, char *why, size_t sz);
int call_reconnect(struct call_model *m, uint32_t party, uint64_t consult,
		   char *why, size_t sz);
int call_single_step(struct call_model *m, uint32_t party,
		     const struct call_endpoint *b, char *why, size_t sz);
int call_delete_party(struct call_model *m, uint32_t party, const char *alias,
		      char *why, size_t sz);
int call_listen_disconnect(struct call_model *m, uint32_t party,
			   const char *alias, const char *music, char *why,
			   size_t sz);
int call_listen_reconnect(struct call_model *m, uint32_t party,
			  const char *alias, char *why, size_t sz);

/** A party on another site, as that site reported it */
struct call_remote {
	char alias[65];
	char location[65];
	enum call_party_state state; /**< Established, Held or
					  ListenDisconnected */
};

/* Inputs from the site behind an inter-site trunk party (site.c) */

int call_party_location(struct call_model *m, uint32_t party,
			const char *location);
int call_listen_by(struct call_model *m, uint32_t party, const char *by,
		   const char *alias, bool disconnect, const char *music,
		   char *why, size_t sz);
int call_site_answer(struct call_model *m, uint32_t party, int err,
		     const char *why);
int call_party_remote(struct call_model *m, uint32_t party,
		      const struct call_remote *v, size_t n,
		      enum call_party_state you);

/* Queries */

const struct call *call_find(const struct call_model *m, uint64_t connid);
const struct call *call_of_party(const struct call_model *m, uint32_t party);
uint64_t call_connid(const struct call *call);
const char *call_uuid(const struct call *call);
enum call_type call_type(const struct call *call);
const char *call_type_name(enum call_type type);
const char *call_party_state_name(enum call_party_state state);
const char *call_event_name(enum call_event_type type);
const struct call *call_main(const struct call *call);
uint32_t call_party_leg(const struct call_model *m, uint32_t party);
uint32_t call_leg_party(const struct call_model *m, uint32_t leg);
const char *call_party_trunk(const struct call_model *m, uint32_t party);
int call_party_state(const struct call_model *m, uint32_t party,
		     enum call_party_state *statep);
int call_party_find(const struct call_model *m, uint64_t connid, const char *dn,
		    uint32_t *partyp);

/** One party, as a query sees it */
struct call_party_info {
	const struct call *call;
	const char *name; /**< DN or alias */
	const char *location;
	enum call_party_state state;
	bool external;
	bool remote; /**< a party of another site, as it reported it */
};

typedef void(call_party_h)(const struct call_party_info *pi, void *arg);
void call_parties_of_dn(const struct call_model *m, const char *dn,
			call_party_h *h, void *arg);
int call_parties(const struct call_model *m, uint64_t connid, call_party_h *h,
		 void *arg);
int call_parties_all(const struct call_model *m, uint64_t connid,
		     uint32_t except, call_party_h *h, void *arg);
