/**
 * @file reg.h  The registrar: which phone answers for which DN, and where
 *
 * Three parts with one prefix: the binding store (reg_bindings_*), pure and
 * driven by an injected clock; digest authentication (reg_auth_*), pure as
 * well; and the SIP handler (reg_alloc, reg_handle) that wires them to
 * libre. The pure parts are what the unit tests pin down.
 */

struct sip;
struct sip_msg;
struct cfg;
struct cfg_dn;

enum {
	REG_MAX_EXPIRES = 3600,	    /**< [s] longest binding we grant */
	REG_DEFAULT_EXPIRES = 3600, /**< [s] when the phone asks for none */
	REG_MAX_BINDINGS = 10,	    /**< contacts per DN */
	REG_NONCE_TTL = 300,	    /**< [s] a nonce older than this is stale */
};

/* Binding store (binding.c) */

struct reg_bindings;

/** One contact of a DN */
struct reg_binding {
	struct le le;
	char *uri;    /**< contact URI, as the phone sent it */
	char *callid; /**< Call-ID of the REGISTER that set it */
	uint32_t cseq;
	uint64_t expires; /**< [ms] absolute, on the injected clock */
	struct sa src;	  /**< where the REGISTER came from */
	int tp;		  /**< enum sip_transp it came over */
};

/** A contact asked for by one REGISTER */
struct reg_contact {
	struct pl uri;
	uint32_t expires; /**< [s] already clamped; 0 = remove */
};

/** What one REGISTER carries besides its contacts */
struct reg_request {
	const char *dn;
	struct pl callid;
	uint32_t cseq;
	struct sa src;
	int tp;
};

typedef void(reg_binding_h)(const char *dn, const struct reg_binding *b,
			    void *arg);
typedef bool(reg_keep_h)(const char *dn, void *arg);

int reg_bindings_alloc(struct reg_bindings **bsp);
int reg_bindings_update(struct reg_bindings *bs, const struct reg_request *rq,
			const struct reg_contact *cv, size_t cc, uint64_t now);
int reg_bindings_clear(struct reg_bindings *bs, const struct reg_request *rq,
		       uint64_t now);
void reg_bindings_foreach(const struct reg_bindings *bs, const char *dn,
			  uint64_t now, reg_binding_h *h, void *arg);
uint32_t reg_bindings_count(const struct reg_bindings *bs, const char *dn,
			    uint64_t now);
uint32_t reg_bindings_expire(struct reg_bindings *bs, uint64_t now,
			     reg_binding_h *h, void *arg);
uint32_t reg_bindings_retain(struct reg_bindings *bs, reg_keep_h *keeph,
			     void *arg);

/* Digest authentication (auth.c) */

struct reg_auth;

enum reg_auth_result {
	REG_AUTH_OK = 0,
	REG_AUTH_CHALLENGE, /**< no usable credentials: send a challenge */
	REG_AUTH_STALE,	    /**< right password, old nonce: challenge again */
	REG_AUTH_FORBIDDEN, /**< wrong password or wrong user */
	REG_AUTH_MALFORMED, /**< Authorization header that does not parse */
};

int reg_auth_alloc(struct reg_auth **authp);
int reg_auth_nonce(const struct reg_auth *auth, uint64_t now, char *buf,
		   size_t sz);
void reg_auth_ha1(uint8_t *ha1, const char *user, const char *realm,
		  const char *password);
enum reg_auth_result reg_auth_check(const struct reg_auth *auth,
				    const struct pl *hval,
				    const struct pl *method, const char *user,
				    const char *realm, const char *password,
				    uint64_t now);

/* Failed-authentication limit per source address (limit.c) */

struct reg_limit;

int reg_limit_alloc(struct reg_limit **limp);
bool reg_limit_blocked(struct reg_limit *lim, const struct sa *src,
		       uint64_t now);
bool reg_limit_fail(struct reg_limit *lim, const struct sa *src, uint32_t limit,
		    uint64_t now);

/* The SIP registrar (reg.c) */

struct reg;

int reg_alloc(struct reg **regp, struct sip *sip, const struct cfg *conf);
void reg_conf_set(struct reg *reg, const struct cfg *conf);
void reg_handle(struct reg *reg, const struct sip_msg *msg);
bool reg_authorize(struct reg *reg, const struct sip_msg *msg,
		   const struct cfg_dn *cdn, bool proxy);
const struct reg_bindings *reg_bindings(const struct reg *reg);
const char *reg_contacts_check(const struct sip_msg *msg);
