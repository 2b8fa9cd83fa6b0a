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
};

struct party {
	struct le le; /**< in call->partyl */
	struct le he; /**< in model->parties */
	struct call_model *m;
	uint32_t id;
	struct call *call;
	char *name;
	bool external;
	char *trunk;
	char *location;
	bool moh;
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

void call_media_update(struct call *call);
void call_media_remove(struct party *p);

void call_event_emit(const struct party *to, enum call_event_type type,
		     const struct party *other, uint16_t cause);
void call_leg_emit(struct call_model *m, const struct call_leg_cmd *cmd);
