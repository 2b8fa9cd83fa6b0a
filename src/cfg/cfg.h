/**
 * @file cfg.h  Configuration: the INI file as a typed, immutable snapshot
 *
 * A snapshot is built whole from a file and never changed afterwards; a
 * reload builds a new one and swaps it in only if it is valid, so no code
 * ever sees a half-applied configuration. Snapshots are libre mem objects:
 * whoever keeps one holds a reference (mem_ref / mem_deref).
 */

struct mbuf;
struct re_printf;

enum cfg_dn_type {
	CFG_DN_EXTENSION = 0,
	CFG_DN_TRUNK,
};

/** One [dn:NAME] section */
struct cfg_dn {
	struct le le; /**< in conf.dnl, file order */
	struct le he; /**< in conf.dnh, by name */
	char *name;
	enum cfg_dn_type type;
	char *password;	  /**< Extension: digest password, NULL = none */
	char *contact;	  /**< Trunk: SIP URI of the peer */
	char *prefix;	  /**< Trunk: dial prefix, "" = default route */
	bool inter_trunk; /**< Trunk: the peer is another sipserver */
	bool moh;	  /**< false: parties via this DN hear silence */
	unsigned line;	  /**< line of the section header */
};

/** The [TServer] options, typed; names as in shared/spec/config.md */
struct cfg {
	char *path; /**< the file, as given */
	char *dir;  /**< its folder: base of relative paths */

	char *location;
	struct sa sip_address;
	uint16_t sip_port;
	uint16_t tlib_port;
	uint16_t http_port;
	uint16_t rtp_port_min;
	uint16_t rtp_port_max;
	char *client_password;
	bool call_info;
	bool call_info_extended;
	char *music_listen_disconnect; /**< resolved path */
	char *default_music;	       /**< resolved path */
	uint32_t log_level;	       /**< enum log_level */
	char *web_root;		       /**< resolved path */
	struct sa http_address;
	char *http_status_allow; /**< who may read /status and /metrics */
	uint32_t media_threads;
	uint32_t rtp_timeout;
	uint32_t no_answer_timeout;
	uint16_t sip_tls_port;
	uint16_t tlib_tls_port;
	char *tls_certificate; /**< resolved path, NULL = none */
	uint32_t auth_fail_limit;

	struct list dnl;
	struct hash *dnh;
};

int cfg_load(struct cfg **confp, const char *path, char **problemsp);
const struct cfg_dn *cfg_dn_find(const struct cfg *conf, const char *name);
const struct cfg_dn *cfg_dn_find_pl(const struct cfg *conf,
				    const struct pl *name);
const char *cfg_dn_type_name(enum cfg_dn_type type);

/* net.c: address lists */
int cfg_nets_check(const char *text, char *reason, size_t sz);
bool cfg_nets_match(const char *text, const struct sa *peer);

typedef void(cfg_change_h)(const char *option, const char *oldval,
			   const char *newval, bool restart, void *arg);
int cfg_diff(const struct cfg *old, const struct cfg *cur,
	     cfg_change_h *changeh, void *arg);
void cfg_keep_restart_options(struct cfg *cur, const struct cfg *old);
