/**
 * @file priv.h  Configuration module internals: the option table and the
 * parse context shared by the files of src/cfg/
 */

enum opt_type {
	OPT_STR,      /**< any text */
	OPT_NAME,     /**< non-empty, printable, no spaces */
	OPT_BOOL,     /**< true / false */
	OPT_PORT,     /**< 1..65535 */
	OPT_PORT0,    /**< 0..65535, 0 = off */
	OPT_UINT,     /**< min..max */
	OPT_ADDR,     /**< IP address literal */
	OPT_LOGLEVEL, /**< error / warn / info / debug */
	OPT_MUSIC,    /**< audio file or folder of audio files */
	OPT_PATH,     /**< file path, resolved from the config's folder */
	OPT_NETS,     /**< IP addresses and networks (net.c) */
};

struct cfg_option {
	const char *name;
	enum opt_type type;
	size_t off;	   /**< offset of the field in struct cfg */
	const char *def;   /**< default as file text; NULL = computed */
	uint32_t min, max; /**< OPT_UINT range */
	bool restart;	   /**< a change needs a restart */
};

extern const struct cfg_option cfg_options[];
extern const size_t cfg_option_count;

/** State of one parse of one file */
struct cfg_parse {
	struct cfg *conf;
	struct mbuf *problems; /**< one line per problem */
	FILE *f;
	char *buf; /**< the reader's line (getline) */
	size_t bufsz;
	unsigned line;	       /**< line the reader returned last */
	unsigned long_line;    /**< that line was too long */
	unsigned *opt_lines;   /**< [cfg_option_count], 0 = not set */
	unsigned tserver_line; /**< first [TServer] header, 0 = none */
	struct cfg_dn *dn;     /**< DN of the current section, if any */
	char section[128];     /**< current section name, from the reader */
};

void cfg_problem(struct cfg_parse *p, unsigned line, const char *section,
		 const char *option, const char *fmt, ...);

const struct cfg_option *cfg_option_find(const char *name);
int cfg_option_parse(struct cfg_parse *p, const struct cfg_option *opt,
		     const char *value, char *reason, size_t sz);
int cfg_option_print(struct re_printf *pf, const struct cfg *conf,
		     const struct cfg_option *opt);
void cfg_option_copy(struct cfg *dst, const struct cfg *src,
		     const struct cfg_option *opt);
void cfg_option_free(struct cfg *conf, const struct cfg_option *opt);

int cfg_parse_bool(bool *bp, const char *value);
int cfg_path_resolve(char **pathp, const struct cfg *conf, const char *value);
int cfg_music_check(const char *path, char *reason, size_t sz);

int cfg_dn_section(struct cfg_parse *p, const char *name);
void cfg_dn_option(struct cfg_parse *p, const char *name, const char *value);
void cfg_dn_check(struct cfg_parse *p);
void cfg_check(struct cfg_parse *p);
