/**
 * @file priv.h  CTI server internals shared by the files of src/tlib/
 */
#include <jansson.h>

enum {
	TSRV_LINE_MAX = 65536,	    /**< longest line a client may send */
	TSRV_OUT_MAX = 4 << 20,	    /**< unsent output before a cut-off */
	TSRV_HANDSHAKE_MAX = 10000, /**< [ms] for a TLS client to finish its
				       handshake */
	TSRV_OPEN_MAX = 10000,	    /**< [ms] from EventLinkConnected to the
				  client's TOpenServer */
};

/** T-Server error codes (tlib-protocol.md, Errors) */
enum tsrv_err {
	TERR_NOT_REGISTERED = 41,
	TERR_IN_SAME_STATE = 43,
	TERR_UNSUP_OPER = 51,
	TERR_INTERNAL = 52,
	TERR_INVALID_ATTR = 53,
	TERR_INV_CONNID = 56,
	TERR_TIMEOUT = 57,
	TERR_NOT_CONFIGURED = 59,
};

enum tsrv_mode {
	MODE_SHARE = 0,
	MODE_PRIVATE,
	MODE_MONITOR,
};

/** One parsed request line */
struct tsrv_req {
	json_t *obj;	     /**< the whole object (owned) */
	const char *name;    /**< its "request" */
	json_int_t refid;    /**< ReferenceID, 0 if none */
	const char *this_dn; /**< ThisDN, if a string */
};

/* codec.c */
int tsrv_req_decode(struct tsrv_req *req, const char *line, size_t len,
		    char *why, size_t sz);
void tsrv_req_free(struct tsrv_req *req);
json_t *tsrv_event_new(const char *name);
char *tsrv_event_line(json_t *ev, uint64_t seq, size_t *lenp);
const char *tsrv_mode_name(enum tsrv_mode mode);
int tsrv_mode_parse(enum tsrv_mode *modep, const char *name);

/* attr.c: the attributes each request carries (A_ required, O_ optional) */
enum tsrv_attr {
	A_THISDN = 1 << 0,
	A_CONNID = 1 << 1,
	A_OTHERDN = 1 << 2,
	A_CONSULT = 1 << 3, /**< ConsultConnID */
	A_APPNAME = 1 << 4,
	O_PASSWORD = 1 << 5,
	O_MODE = 1 << 6,  /**< RegisterMode */
	O_EXT = 1 << 7,	  /**< Extensions */
	O_UDATA = 1 << 8, /**< UserData */
};

struct tsrv_spec {
	const char *name;
	unsigned attrs;
};

const struct tsrv_spec *tsrv_spec_find(const char *name);
int tsrv_attrs_check(const struct tsrv_req *req, const struct tsrv_spec *sp,
		     char *why, size_t sz);
