/**
 * @file server.c  The CTI server: connections, the session rules, DN
 * registrations and event fan-out
 *
 * A client connects, gets EventLinkConnected, must open with TOpenServer
 * (and client-password when set, read at that moment), then registers the
 * DNs it wants events for and requests on. Every call event goes to every
 * client registered on its ThisDN; the answer to a request also carries the
 * request's ReferenceID for the client that sent it. A bad line gets
 * EventError 53 and the connection stays open; a client that goes away
 * takes its registrations with it and nothing else.
 *
 * tlib-tls-port carries the same sessions inside TLS (libre's OpenSSL
 * layer, tls-certificate): a client there gets EventLinkConnected once
 * its handshake is done, and is dropped if that takes over
 * TSRV_HANDSHAKE_MAX, so that idle or non-TLS connections hold nothing.
 */
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
/* not <re.h>: its re_json.h clashes with jansson's JSON_STRING */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_hash.h>
#include <re_sa.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include <re_msg.h>
#include <re_http.h>
#include <re_websock.h>
#include <re_tls.h>
#include <re_md5.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "call/call.h"
#include "tlib/priv.h"
#include "tlib/session.h"
#include "tlib/tsrv.h"
#include "stats/stats.h"

/** A request answered later, by an event of the call (or EventError) */
/** What answers a request later */
enum answer_by {
	BY_CALL = 0, /**< TAnswerCall: EventEstablished or EventReleased */
	BY_JOIN,     /**< TSingleStepConference: EventPartyAdded */
	BY_SITE,     /**< TListenDisconnect / Reconnect carried to another
			  site: EventListen..., or EventError */
};

struct answer {
	struct le le;
	struct tsrv_session *ss;
	json_int_t refid;
	char dn[65];
	uint64_t connid;
	enum answer_by by; /**< the events that answer it */
	bool make;	/**< TMakeCall: answered already; EventError 57 if its
		        call ends before it connects */
	char other[65]; /**< TMakeCall: its OtherDN */
};

/** One DN registration of one client */
struct tsrv_reg {
	struct le le; /**< in session.regl */
	struct le he; /**< in server.regs, by DN */
	struct tsrv_session *ss;
	char *dn;
	enum tsrv_mode mode;
};

struct tsrv {
	const struct cfg *cfg;
	struct tcp_sock *ts;
	struct tcp_sock *tls_ts; /**< tlib-tls-port, NULL when off */
	struct tls *tls;	 /**< tls-certificate, loaded once */
	struct websock *ws;
	struct list sessl;
	struct hash *regs;
	uint32_t nregs;
	uint64_t seq;
	uint64_t events;
	struct list graveyard; /**< sessions cut off, freed from a timer */
	struct tsrv_calls calls;
	struct list answers; /**< struct answer: TAnswerCall and
				TSingleStepConference requests under way */
	/* the request being carried out: its events get its ReferenceID */
	struct {
		struct tsrv_session *ss;
		json_int_t refid;
		const char *dn;
		bool failed;	 /**< its party failed at once: answered */
		bool make;	 /**< it is a TMakeCall ... */
		uint64_t connid; /**< ... and this is its call */
	} cur;
	struct tmr gc;
};

static void reg_destructor(void *arg)
{
	struct tsrv_reg *r = arg;

	list_unlink(&r->le);
	hash_unlink(&r->he);
	mem_deref(r->dn);
}

/* --- sessions --- */

static void answers_drop(struct tsrv *s, const struct tsrv_session *ss)
{
	struct le *le = s->answers.head;

	while (le) {
		struct answer *a = le->data;

		le = le->next;
		if (!ss || a->ss == ss)
			mem_deref(a);
	}
}

static void session_free(struct tsrv *s, struct tsrv_session *ss)
{
	answers_drop(s, ss);
	s->nregs -= list_count(&ss->regl);
	list_flush(&ss->regl);
	mem_deref(ss);
}

static void gc_h(void *arg)
{
	struct tsrv *s = arg;
	struct le *le;

	while ((le = s->graveyard.head))
		session_free(s, le->data);
}

/* Cut off: no more events to it; freed once the stack has unwound */
static void bury(struct tsrv *s, struct tsrv_session *ss)
{
	ss->dead = true;
	list_unlink(&ss->le);
	list_append(&s->graveyard, &ss->le, ss);
	tmr_start(&s->gc, 0, gc_h, s);
}

/* --- sending --- */


static void deliver(struct tsrv *s, struct tsrv_session *ss, json_t *ev)
{
	size_t len;
	char *line = tsrv_event_line(ev, ++s->seq, &len);

	if (!line)
		return;

	if (!tsrv_session_send(ss, line, len))
		bury(s, ss);

	++s->events;
	free(line);
}

/* An answer to a request: ReferenceID and ThisDN filled in; consumes ev */
static void reply(struct tsrv *s, struct tsrv_session *ss,
		  const struct tsrv_req *req, json_t *ev)
{
	if (req->refid)
		json_object_set_new(ev, "ReferenceID",
				    json_integer(req->refid));
	if (req->this_dn && !json_object_get(ev, "ThisDN"))
		json_object_set_new(ev, "ThisDN", json_string(req->this_dn));
	deliver(s, ss, ev);
	json_decref(ev);
}

static void error(struct tsrv *s, struct tsrv_session *ss,
		  const struct tsrv_req *req, enum tsrv_err code,
		  const char *fmt, ...)
{
	json_t *ev = tsrv_event_new("EventError");
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	log_info("tlib", "client %J: %s: EventError %d: %s", &ss->peer,
		 req && req->name ? req->name : "line", code, msg);
	stats_cti_error(req ? req->name : NULL, code);
	json_object_set_new(ev, "ErrorCode", json_integer(code));
	json_object_set_new(ev, "ErrorMessage", json_string(msg));
	if (req) {
		reply(s, ss, req, ev);
		return;
	}
	deliver(s, ss, ev);
	json_decref(ev);
}

/* --- registrations --- */

static struct tsrv_reg *reg_of(const struct tsrv_session *ss, const char *dn)
{
	for (struct le *le = ss->regl.head; le; le = le->next) {
		struct tsrv_reg *r = le->data;

		if (0 == strcmp(r->dn, dn))
			return r;
	}

	return NULL;
}

/* Another client holding the DN privately, or any client if we want it
 * privately */
static const struct tsrv_reg *reg_conflict(const struct tsrv *s,
					   const struct tsrv_session *ss,
					   const char *dn, enum tsrv_mode mode)
{
	struct le *le;

	for (le = hash_list(s->regs, hash_joaat_str(dn))->head; le;
	     le = le->next) {
		const struct tsrv_reg *r = le->data;

		if (r->ss == ss || strcmp(r->dn, dn))
			continue;
		if (r->mode == MODE_PRIVATE ||
		    (mode == MODE_PRIVATE && r->mode != MODE_MONITOR))
			return r;
	}

	return NULL;
}

static void register_address(struct tsrv *s, struct tsrv_session *ss,
			     const struct tsrv_req *req)
{
	const json_t *v = json_object_get(req->obj, "RegisterMode");
	enum tsrv_mode mode = MODE_SHARE;
	const struct cfg_dn *dn;
	struct tsrv_reg *r;
	json_t *ev;

	if (v)
		(void)tsrv_mode_parse(&mode, json_string_value(v));

	dn = cfg_dn_find(s->cfg, req->this_dn);
	if (!dn)
		return error(s, ss, req, TERR_NOT_CONFIGURED,
			     "DN %s is not configured", req->this_dn);
	if (reg_of(ss, req->this_dn))
		return error(s, ss, req, TERR_IN_SAME_STATE,
			     "DN %s is already registered by this client",
			     req->this_dn);
	if (reg_conflict(s, ss, req->this_dn, mode))
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "DN %s is registered privately by another client"
			     "%s",
			     req->this_dn,
			     mode == MODE_PRIVATE ? ", or shared" : "");

	r = mem_zalloc(sizeof(*r), reg_destructor);
	if (!r || str_dup(&r->dn, req->this_dn)) {
		mem_deref(r);
		return error(s, ss, req, TERR_INTERNAL, "out of memory");
	}
	r->ss = ss;
	r->mode = mode;
	list_append(&ss->regl, &r->le, r);
	hash_append(s->regs, hash_joaat_str(r->dn), &r->he, r);
	++s->nregs;

	ev = tsrv_event_new("EventRegistered");
	json_object_set_new(ev, "RegisterMode",
			    json_string(tsrv_mode_name(mode)));
	reply(s, ss, req, ev);
}

static void unregister_address(struct tsrv *s, struct tsrv_session *ss,
			       const struct tsrv_req *req)
{
	struct tsrv_reg *r = reg_of(ss, req->this_dn);
	if (!r)
		return error(s, ss, req, TERR_NOT_REGISTERED,
			     "DN %s is not registered by this client",
			     req->this_dn);

	mem_deref(r);
	--s->nregs;
	reply(s, ss, req, tsrv_event_new("EventUnregistered"));
}

/* Constant time: digests of both, compared whole, so that how long it
 * takes does not show how much of a guess was right, nor its length */
static bool password_ok(const json_t *given, const char *want)
{
	const char *pw = json_is_string(given) ? json_string_value(given) : "";
	uint8_t a[MD5_SIZE], b[MD5_SIZE];

	md5((const uint8_t *)pw, strlen(pw), a);
	md5((const uint8_t *)want, strlen(want), b);
	return json_is_string(given) && 0 == mem_seccmp(a, b, sizeof(a));
}

static void open_server(struct tsrv *s, struct tsrv_session *ss,
			const struct tsrv_req *req)
{
	const json_t *app = json_object_get(req->obj, "ApplicationName");
	const json_t *pw = json_object_get(req->obj, "Password");
	const char *want = s->cfg->client_password;
	json_t *ev;

	if (want && want[0] && !password_ok(pw, want)) {
		error(s, ss, req, TERR_NOT_REGISTERED,
		      "wrong or missing Password");
		ss->dead = true; /* the spec: then the server closes */
		return;
	}

	ss->opened = true;
	tmr_cancel(&ss->open);
	(void)str_dup(&ss->app, json_string_value(app));
	log_info("tlib", "client %J opened as %s", &ss->peer, ss->app);

	ev = tsrv_event_new("EventServerConnected");
	json_object_set_new(ev, "ServerName", json_string("sipserver"));
	json_object_set_new(ev, "Location", json_string(s->cfg->location));
	reply(s, ss, req, ev);
}


/* ConnID, already checked to be 16 hex digits (attr.c) */
static uint64_t connid_of(const struct tsrv_req *req)
{
	struct pl pl;

	pl_set_str(&pl, json_string_value(json_object_get(req->obj, "ConnID")));
	return pl_x64(&pl);
}

/* Extensions.music, already checked to be a string if there (attr.c) */
static const char *music_of(const struct tsrv_req *req)
{
	const json_t *ext = json_object_get(req->obj, "Extensions");

	return json_string_value(json_object_get(ext, "music"));
}

/* Events sent while the request is carried out answer it: the
 * requester's copies carry its ReferenceID (cleared after the call) */
static void cur_set(struct tsrv *s, struct tsrv_session *ss,
		    const struct tsrv_req *req)
{
	s->cur.ss = ss;
	s->cur.refid = req->refid;
	s->cur.dn = req->this_dn;
}

static void call_op_error(struct tsrv *s, struct tsrv_session *ss,
			  const struct tsrv_req *req, int err,
			  const char *connid, const char *why)
{
	const char *dn = req->this_dn;

	switch (err) {
	case ENOENT:
		return error(s, ss, req, TERR_INV_CONNID,
			     "ConnID %s is not a call", connid);
	case ENOTCONN:
		return error(s, ss, req, TERR_INV_CONNID,
			     "DN %s is not a party of call %s", dn, connid);
	case EALREADY:
		return error(s, ss, req, TERR_IN_SAME_STATE,
			     "call %s is already %s on DN %s", connid,
			     strcmp(req->name, "THoldCall") ? "retrieved"
							    : "held",
			     dn);
	case EPROTO:
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "%s is not possible now: DN %s is not connected "
			     "in call %s",
			     req->name, dn, connid);
	case EINVAL:
		return error(s, ss, req, TERR_INVALID_ATTR, "music: %s", why);
	default:
		return error(s, ss, req, TERR_INTERNAL, "%s failed: %m",
			     req->name, err);
	}
}

/* TReleaseCall, THoldCall, TRetrieveCall: on a call the DN is in */
static void call_op(struct tsrv *s, struct tsrv_session *ss,
		    const struct tsrv_req *req)
{
	const json_t *cid = json_object_get(req->obj, "ConnID");
	bool release = 0 == strcmp(req->name, "TReleaseCall");
	const char *music = music_of(req);
	uint64_t connid = connid_of(req);
	char why[256] = "";
	int err;

	if (!s->calls.release || !s->calls.hold)
		return error(s, ss, req, TERR_INTERNAL, "no call control");

	cur_set(s, ss, req);
	if (release)
		err = s->calls.release(connid, req->this_dn, s->calls.arg);
	else
		err = s->calls.hold(connid, req->this_dn,
				    0 == strcmp(req->name, "THoldCall"), music,
				    why, sizeof(why), s->calls.arg);
	memset(&s->cur, 0, sizeof(s->cur));

	if (err)
		call_op_error(s, ss, req, err, json_string_value(cid), why);
}

static void party_json_h(const struct call_party_info *pi, void *arg)
{
	json_t *arr = arg;
	char connid[17];

	re_snprintf(connid, sizeof(connid), "%016llx",
		    (unsigned long long)call_connid(pi->call));
	json_array_append_new(
		arr,
		json_pack("{ss ss ss ss ss}", "ConnID", connid, "DN", pi->name,
			  "Location", pi->location ? pi->location : "",
			  "PartyState", call_party_state_name(pi->state),
			  "CallType", call_type_name(call_type(pi->call))));
}

/* TQueryAddress: the DN's phone and every call it is in */
static void query_address(struct tsrv *s, struct tsrv_session *ss,
			  const struct tsrv_req *req)
{
	json_t *ev = tsrv_event_new("EventAddressInfo");
	json_t *calls = json_array();
	bool reg = s->calls.registered &&
		   s->calls.registered(req->this_dn, s->calls.arg);

	call_parties_of_dn(s->calls.model ? s->calls.model(s->calls.arg) : NULL,
			   req->this_dn, party_json_h, calls);
	json_object_set_new(ev, "AddressState",
			    json_string(reg ? "Registered" : "NotRegistered"));
	json_object_set_new(ev, "Calls", calls);
	reply(s, ss, req, ev);
}

/* TQueryCall: every party of a call the DN is in (on every site) */
static void query_call(struct tsrv *s, struct tsrv_session *ss,
		       const struct tsrv_req *req)
{
	const struct call_model *m =
		s->calls.model ? s->calls.model(s->calls.arg) : NULL;
	const json_t *cid = json_object_get(req->obj, "ConnID");
	uint64_t connid = connid_of(req);
	uint32_t party;
	json_t *ev, *parties;
	int err;

	err = call_party_find(m, connid, req->this_dn, &party);
	if (err)
		return call_op_error(s, ss, req, err, json_string_value(cid),
				     "");

	ev = tsrv_event_new("EventPartyInfo");
	parties = json_array();
	(void)call_parties_all(m, connid, 0, party_json_h, parties);
	json_object_set_new(ev, "ConnID", json_string(json_string_value(cid)));
	json_object_set_new(ev, "Parties", parties);
	reply(s, ss, req, ev);
}

static void answer_destructor(void *arg)
{
	struct answer *a = arg;

	list_unlink(&a->le);
}

/* The answer to req comes later, with an event of the call */
static void answer_later(struct tsrv *s, struct tsrv_session *ss,
			 const struct tsrv_req *req, uint64_t connid,
			 enum answer_by by)
{
	struct answer *a;

	if (!req->refid)
		return;
	a = mem_zalloc(sizeof(*a), answer_destructor);
	if (!a)
		return;
	a->ss = ss;
	a->refid = req->refid;
	a->connid = connid;
	a->by = by;
	str_ncpy(a->dn, req->this_dn, sizeof(a->dn));
	list_append(&s->answers, &a->le, a);
}

/* TAnswerCall: the phone is asked; EventEstablished answers, later */
static void answer_call(struct tsrv *s, struct tsrv_session *ss,
			const struct tsrv_req *req)
{
	const json_t *cid = json_object_get(req->obj, "ConnID");
	uint64_t connid = connid_of(req);
	int err;

	if (!s->calls.answer)
		return error(s, ss, req, TERR_INTERNAL, "no call control");

	err = s->calls.answer(connid, req->this_dn, s->calls.arg);
	if (err == EPROTO)
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "DN %s is not ringing in call %s", req->this_dn,
			     json_string_value(cid));
	if (err == ENOTSUP)
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "the phone of DN %s cannot be asked to answer "
			     "(it sent no Contact with its ringing)",
			     req->this_dn);
	if (err)
		return call_op_error(s, ss, req, err, json_string_value(cid),
				     "");

	answer_later(s, ss, req, connid, BY_CALL);
}

/* The TAnswerCall this event answers, if any: it gets its ReferenceID */
static void answer_match(struct tsrv *s, const struct call_event *ce)
{
	uint64_t connid = call_connid(ce->call);

	enum answer_by by;

	switch (ce->type) {
	case CALL_EV_ESTABLISHED:
	case CALL_EV_RELEASED:
		by = BY_CALL;
		break;
	case CALL_EV_PARTY_ADDED:
	case CALL_EV_ADD_FAILED:
		by = BY_JOIN;
		break;
	case CALL_EV_LISTEN_DISCONNECTED:
	case CALL_EV_LISTEN_RECONNECTED:
	case CALL_EV_SITE_FAILED:
		by = BY_SITE;
		break;
	default:
		return;
	}
	if (s->cur.ss)
		return;

	for (struct le *le = s->answers.head; le; le = le->next) {
		struct answer *a = le->data;

		if (a->make || a->connid != connid ||
		    strcmp(a->dn, ce->this_dn) || a->by != by)
			continue;
		s->cur.ss = a->ss;
		s->cur.refid = a->refid;
		s->cur.dn = ce->this_dn;
		mem_deref(a);
		return;
	}
}

/* A TMakeCall's call, from its EventDialing on: whether it connects */
static void make_later(struct tsrv *s, struct tsrv_session *ss,
		       const struct tsrv_req *req, uint64_t connid,
		       const char *other)
{
	const struct call_model *m =
		s->calls.model ? s->calls.model(s->calls.arg) : NULL;
	struct answer *a;

	/* a call that ended within the request has said all it will */
	if (!req->refid || !call_find(m, connid))
		return;
	a = mem_zalloc(sizeof(*a), answer_destructor);
	if (!a)
		return;
	a->ss = ss;
	a->refid = req->refid;
	a->connid = connid;
	a->make = true;
	str_ncpy(a->dn, req->this_dn, sizeof(a->dn));
	str_ncpy(a->other, other, sizeof(a->other));
	list_append(&s->answers, &a->le, a);
}

/*
 * The end of a TMakeCall's wait: ThisDN established (it connected), or
 * released before that with a SIP failure (busy, no answer, a site that
 * is down): then the requester gets EventError 57 after EventReleased,
 * so that a script sees the request fail rather than a call that ended
 */
static void make_outcome(struct tsrv *s, const struct call_event *ce)
{
	uint64_t connid = call_connid(ce->call);
	struct tsrv_req req = {.name = "TMakeCall"};

	if (ce->type != CALL_EV_ESTABLISHED && ce->type != CALL_EV_RELEASED)
		return;

	for (struct le *le = s->answers.head; le; le = le->next) {
		struct answer *a = le->data;

		if (!a->make || a->connid != connid ||
		    strcmp(a->dn, ce->this_dn))
			continue;
		if (ce->type == CALL_EV_RELEASED && ce->cause >= 300 &&
		    !a->ss->dead) {
			req.refid = a->refid;
			req.this_dn = ce->this_dn;
			error(s, a->ss, &req, TERR_TIMEOUT,
			      "the call from %s to %s ended before it "
			      "connected (SIP %u)",
			      a->dn, a->other, ce->cause);
		}
		mem_deref(a);
		return;
	}
}

/* TMakeCall: ThisDN's phone first, then OtherDN */
static void make_call(struct tsrv *s, struct tsrv_session *ss,
		      const struct tsrv_req *req)
{
	const json_t *other = json_object_get(req->obj, "OtherDN");
	char why[256] = "";
	uint64_t connid;
	int err;

	if (!s->calls.make)
		return error(s, ss, req, TERR_INTERNAL, "no call control");

	cur_set(s, ss, req);
	s->cur.make = true;
	err = s->calls.make(req->this_dn, json_string_value(other), why,
			    sizeof(why), s->calls.arg);
	connid = s->cur.connid;
	memset(&s->cur, 0, sizeof(s->cur));

	switch (err) {
	case 0:
		make_later(s, ss, req, connid, json_string_value(other));
		return;
	case ENOENT:
		return error(s, ss, req, TERR_NOT_CONFIGURED, "%s", why);
	case EINVAL:
		return error(s, ss, req, TERR_INVALID_ATTR, "%s", why);
	case ENOTCONN:
		return error(s, ss, req, TERR_UNSUP_OPER, "%s", why);
	default:
		return error(s, ss, req, TERR_INTERNAL, "TMakeCall failed: %m",
			     err);
	}
}

static uint64_t hex_of(const struct tsrv_req *req, const char *key)
{
	struct pl pl;

	pl_set_str(&pl, json_string_value(json_object_get(req->obj, key)));
	return pl_x64(&pl);
}

static const struct {
	const char *name;
	enum call_conf_op op;
} conf_ops[] = {
	{"TInitiateConference", CALL_CONF_INITIATE},
	{"TCompleteConference", CALL_CONF_COMPLETE},
	{"TReconnectCall", CALL_CONF_RECONNECT},
	{"TSingleStepConference", CALL_CONF_SINGLE_STEP},
	{"TDeleteFromConference", CALL_CONF_DELETE},
};

static void conf_error(struct tsrv *s, struct tsrv_session *ss,
		       const struct tsrv_req *req, int err, const char *why)
{
	const char *cid =
		json_string_value(json_object_get(req->obj, "ConnID"));

	switch (err) {
	case ENOENT:
	case ENOTCONN:
		if (why[0])
			return error(s, ss, req, TERR_INV_CONNID, "%s", why);
		return call_op_error(s, ss, req, err, cid, "");
	case EADDRNOTAVAIL:
		return error(s, ss, req, TERR_NOT_CONFIGURED, "%s", why);
	case EHOSTUNREACH:
	case EPROTO:
	case ENOSPC:
		return error(s, ss, req, TERR_UNSUP_OPER, "%s", why);
	case EINVAL:
		return error(s, ss, req, TERR_INVALID_ATTR, "%s", why);
	default:
		return error(s, ss, req, TERR_INTERNAL, "%s failed: %m",
			     req->name, err);
	}
}

/* The conference requests: the B2BUA and the model do the checking */
static void conf_request(struct tsrv *s, struct tsrv_session *ss,
			 const struct tsrv_req *req)
{
	struct call_conf_req r = {
		.connid = connid_of(req),
		.dn = req->this_dn,
		.other =
			json_string_value(json_object_get(req->obj, "OtherDN")),
	};
	char why[256] = "";
	uint64_t consult = 0;
	bool failed;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(conf_ops); i++) {
		if (0 == strcmp(req->name, conf_ops[i].name))
			r.op = conf_ops[i].op;
	}
	if (json_object_get(req->obj, "ConsultConnID"))
		r.consult = hex_of(req, "ConsultConnID");
	if (!s->calls.conference)
		return error(s, ss, req, TERR_INTERNAL, "no call control");

	cur_set(s, ss, req);
	err = s->calls.conference(&r, &consult, why, sizeof(why), s->calls.arg);
	failed = s->cur.failed;
	memset(&s->cur, 0, sizeof(s->cur));

	if (err)
		return conf_error(s, ss, req, err, why);
	if (r.op == CALL_CONF_SINGLE_STEP && !failed)
		answer_later(s, ss, req, r.connid, BY_JOIN);
}

/* A refusal of TListenDisconnect / Reconnect, made here or on the site
 * that owns the conference (the same refusal, the same ErrorCode) */
static void listen_error(struct tsrv *s, struct tsrv_session *ss,
			 const struct tsrv_req *req, int err, const char *why)
{
	switch (err) {
	case EALREADY:
		return error(s, ss, req, TERR_IN_SAME_STATE, "%s", why);
	case EPROTO:
	case EBUSY:
		return error(s, ss, req, TERR_UNSUP_OPER, "%s", why);
	case EINVAL:
		return error(s, ss, req, TERR_INVALID_ATTR, "%s", why);
	case ETIMEDOUT:
		return error(s, ss, req, TERR_TIMEOUT, "%s", why);
	default:
		return conf_error(s, ss, req, err, why);
	}
}

/* A request carried to another site was refused there, or could not be
 * carried at all (then at once, within the request): its EventError */
static void site_failed(struct tsrv *s, const struct call_event *ce)
{
	struct tsrv_req req = {.name = "TListenDisconnect"};
	bool now =
		s->cur.ss && s->cur.dn && 0 == strcmp(s->cur.dn, ce->this_dn);

	if (!now)
		answer_match(s, ce);
	if (!s->cur.ss)
		return; /* nobody waits for it (no ReferenceID was given) */

	req.refid = s->cur.refid;
	req.this_dn = ce->this_dn;
	listen_error(s, s->cur.ss, &req, ce->err, ce->why ? ce->why : "");
	if (now)
		s->cur.failed = true;
	else
		memset(&s->cur, 0, sizeof(s->cur));
}

/* TListenDisconnect, TListenReconnect: private conversations */
static void listen_request(struct tsrv *s, struct tsrv_session *ss,
			   const struct tsrv_req *req)
{
	bool disconnect = 0 == strcmp(req->name, "TListenDisconnect");
	const char *other =
		json_string_value(json_object_get(req->obj, "OtherDN"));
	char why[256] = "";
	bool failed;
	int err;

	/* read now: a SIGHUP turns the feature on or off for the next one */
	if (!s->cfg->call_info || !s->cfg->call_info_extended)
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "%s needs sip-enable-call-info = true and "
			     "sip-enable-call-info-extended = true (%s is "
			     "false)",
			     req->name,
			     s->cfg->call_info ? "sip-enable-call-info-extended"
					       : "sip-enable-call-info");
	if (!s->calls.listen)
		return error(s, ss, req, TERR_INTERNAL, "no call control");

	cur_set(s, ss, req);
	err = s->calls.listen(connid_of(req), req->this_dn, other, disconnect,
			      music_of(req), why, sizeof(why), s->calls.arg);
	failed = s->cur.failed;
	memset(&s->cur, 0, sizeof(s->cur));

	/* carried to the site that owns the call: answered when it answers
	 * (unless it could not even be sent: answered already) */
	if (err == EINPROGRESS && !failed)
		return answer_later(s, ss, req, connid_of(req), BY_SITE);
	if (err == EINPROGRESS)
		return;
	if (err)
		listen_error(s, ss, req, err, why);
}

typedef void(req_h)(struct tsrv *s, struct tsrv_session *ss,
		    const struct tsrv_req *req);

/* The requests that act on a DN's calls; NULL: not carried out yet */
static const struct {
	const char *name;
	req_h *h;
} call_reqs[] = {
	{"TMakeCall", make_call},
	{"TReleaseCall", call_op},
	{"THoldCall", call_op},
	{"TRetrieveCall", call_op},
	{"TQueryAddress", query_address},
	{"TQueryCall", query_call},
	{"TAnswerCall", answer_call},
	{"TInitiateConference", conf_request},
	{"TCompleteConference", conf_request},
	{"TReconnectCall", conf_request},
	{"TSingleStepConference", conf_request},
	{"TDeleteFromConference", conf_request},
	{"TListenDisconnect", listen_request},
	{"TListenReconnect", listen_request},
};

static int call_req_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(call_reqs); i++) {
		if (0 == strcmp(name, call_reqs[i].name))
			return (int)i;
	}

	return -1;
}

/* Checks every call request shares, then its handler */
static void call_request(struct tsrv *s, struct tsrv_session *ss,
			 const struct tsrv_req *req, int i)
{
	const struct tsrv_reg *r = reg_of(ss, req->this_dn);
	if (!r)
		return error(s, ss, req, TERR_NOT_REGISTERED,
			     "DN %s is not registered by this client",
			     req->this_dn);
	if (r->mode == MODE_MONITOR)
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "DN %s is registered in ModeMonitor: no requests",
			     req->this_dn);
	if (!call_reqs[i].h)
		return error(s, ss, req, TERR_UNSUP_OPER,
			     "%s is not carried out by this version of "
			     "sipserver yet",
			     req->name);

	call_reqs[i].h(s, ss, req);
}

static void dispatch(struct tsrv *s, struct tsrv_session *ss,
		     const struct tsrv_req *req)
{
	const struct tsrv_spec *sp = tsrv_spec_find(req->name);
	bool open = 0 == strcmp(req->name, "TOpenServer");
	char why[256];
	int i;

	if (!ss->opened && !open) {
		error(s, ss, req, TERR_NOT_REGISTERED,
		      "the first request must be TOpenServer, not %s",
		      req->name);
		ss->dead = true;
		return;
	}
	if (!sp)
		return error(s, ss, req, TERR_INVALID_ATTR,
			     "unknown request \"%s\"", req->name);
	if (tsrv_attrs_check(req, sp, why, sizeof(why)))
		return error(s, ss, req, TERR_INVALID_ATTR, "%s", why);

	if (!ss->opened)
		open_server(s, ss, req);
	else if (0 == strcmp(req->name, "TRegisterAddress"))
		register_address(s, ss, req);
	else if (0 == strcmp(req->name, "TUnregisterAddress"))
		unregister_address(s, ss, req);
	else if (0 == strcmp(req->name, "TOpenServer"))
		error(s, ss, req, TERR_IN_SAME_STATE, "already open");
	else if ((i = call_req_find(req->name)) >= 0)
		call_request(s, ss, req, i);
}

static void line_h(struct tsrv_session *ss, const char *line, size_t len,
		   void *arg)
{
	struct tsrv *s = arg;
	struct tsrv_req req;
	char why[256];
	int err;

	if (!line) {
		error(s, ss, NULL, TERR_INVALID_ATTR,
		      "line longer than %d bytes: ignored", TSRV_LINE_MAX);
		return;
	}
	if (!len || (len == 1 && line[0] == '\r'))
		return; /* blank lines are keep-alives */

	err = tsrv_req_decode(&req, line, len, why, sizeof(why));
	stats_cti_request(req.name); /* NULL: "other" */
	if (err)
		error(s, ss, err == EINVAL ? &req : NULL, TERR_INVALID_ATTR,
		      "%s", why);
	else
		dispatch(s, ss, &req);
	tsrv_req_free(&req);

	if (ss->dead && ss->le.list == &s->sessl)
		bury(s, ss);
}

static void recv_h(struct mbuf *mb, void *arg)
{
	struct tsrv_session *ss = arg;

	tsrv_session_recv(ss, mb, line_h, ss->srv);
}

static void close_h(int err, void *arg)
{
	struct tsrv_session *ss = arg;

	if (tmr_isrunning(&ss->hs))
		log_info("tlib", "client %J: TLS handshake failed: %m",
			 &ss->peer, err ? err : ECONNRESET);
	else if (err)
		log_info("tlib", "client %J (%s) disconnected: %m", &ss->peer,
			 ss->app ? ss->app : "-", err);
	else
		log_info("tlib", "client %J (%s) closed the connection",
			 &ss->peer, ss->app ? ss->app : "-");
	if (ss->le.list == &ss->srv->sessl)
		bury(ss->srv, ss);
}

/* A connection that never opens holds a socket and a session for
 * nothing: a desktop opens at once, so one that has not within
 * TSRV_OPEN_MAX is dropped (thousands of idle connections cost nothing
 * to make, docs/security.md) */
static void open_timeout(void *arg)
{
	struct tsrv_session *ss = arg;

	log_info("tlib", "client %J: no TOpenServer within %u s: dropped",
		 &ss->peer, TSRV_OPEN_MAX / 1000);
	bury(ss->srv, ss);
}

static void link_connected(struct tsrv *s, struct tsrv_session *ss)
{
	json_t *ev = tsrv_event_new("EventLinkConnected");

	tmr_start(&ss->open, TSRV_OPEN_MAX, open_timeout, ss);
	json_object_set_new(ev, "ProtocolVersion", json_string("tlib/1"));
	json_object_set_new(ev, "ServerName", json_string("sipserver"));
	json_object_set_new(ev, "Location", json_string(s->cfg->location));
	deliver(s, ss, ev);
	json_decref(ev);
}

/* Events go out as soon as they happen, often two back to back (an
 * event, then its LCTParty snapshot): without TCP_NODELAY the second waits
 * for the client's delayed ACK, some 40 ms (found by bench/listen.py) */
static void nodelay(const struct tcp_conn *tc)
{
	int one = 1, fd = tcp_conn_fd(tc);

	if (fd < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		log_warn("tlib", "TCP_NODELAY not set: %m", errno);
}

static struct tsrv_session *accept_tcp(struct tsrv *s, struct tcp_sock *ts,
				       const struct sa *peer)
{
	struct tsrv_session *ss = NULL;
	struct tcp_conn *tc = NULL;
	int err;

	err = tcp_accept(&tc, ts, NULL, recv_h, close_h, NULL);
	if (!err)
		err = tsrv_session_alloc(&ss, tc, peer);
	mem_deref(tc);
	if (err) {
		log_warn("tlib", "client %J refused: %m", peer, err);
		tcp_reject(ts);
		return NULL;
	}

	ss->srv = s;
	nodelay(ss->tc);
	tcp_set_handlers(ss->tc, NULL, recv_h, close_h, ss);
	list_append(&s->sessl, &ss->le, ss);
	return ss;
}

static void conn_h(const struct sa *peer, void *arg)
{
	struct tsrv *s = arg;
	struct tsrv_session *ss = accept_tcp(s, s->ts, peer);

	if (!ss)
		return;

	log_debug("tlib", "client %J connected", peer);
	link_connected(s, ss);
}

/* TLS: nothing can be sent before the handshake; libre calls this once
 * it is done */
static void tls_estab_h(void *arg)
{
	struct tsrv_session *ss = arg;

	tmr_cancel(&ss->hs);
	log_debug("tlib", "client %J connected (TLS)", &ss->peer);
	link_connected(ss->srv, ss);
}

static void handshake_timeout(void *arg)
{
	struct tsrv_session *ss = arg;

	log_info("tlib", "client %J: no TLS handshake within %u s: dropped",
		 &ss->peer, TSRV_HANDSHAKE_MAX / 1000);
	bury(ss->srv, ss);
}

static void tls_conn_h(const struct sa *peer, void *arg)
{
	struct tsrv *s = arg;
	struct tsrv_session *ss = accept_tcp(s, s->tls_ts, peer);
	int err;

	if (!ss)
		return;

	/* a helper layer on the connection: it decrypts before recv_h */
	err = tls_start_tcp(&ss->sc, s->tls, ss->tc, 0);
	if (err) {
		log_warn("tlib", "client %J: cannot start TLS: %m", peer, err);
		bury(s, ss);
		return;
	}

	tcp_set_handlers(ss->tc, tls_estab_h, recv_h, close_h, ss);
	tmr_start(&ss->hs, TSRV_HANDSHAKE_MAX, handshake_timeout, ss);
}

/* WebSocket: every text frame is one line */
static void ws_recv_h(const struct websock_hdr *hdr, struct mbuf *mb, void *arg)
{
	struct tsrv_session *ss = arg;
	size_t len = mbuf_get_left(mb);

	if (ss->dead)
		return;
	if (hdr->opcode != WEBSOCK_TEXT)
		error(ss->srv, ss, NULL, TERR_INVALID_ATTR,
		      "only text frames carry tlib/1 messages");
	else if (len > TSRV_LINE_MAX)
		line_h(ss, NULL, 0, ss->srv);
	else
		line_h(ss, (const char *)mbuf_buf(mb), len, ss->srv);
}

static void ws_close_h(int err, void *arg)
{
	close_h(err, arg);
}

/**
 * Take a WebSocket upgrade (GET /tlib) from the HTTP server
 *
 * @return 0, or an error after which the HTTP server answers 400
 */
int tsrv_ws_accept(struct tsrv *s, struct http_conn *hc,
		   const struct http_msg *msg)
{
	struct tsrv_session *ss = NULL;
	int err;

	if (!s || !hc || !msg)
		return EINVAL;

	nodelay(http_conn_tcp(hc));
	err = tsrv_session_alloc_ws(&ss, http_conn_peer(hc));
	if (err)
		return err;

	ss->srv = s;
	err = websock_accept(&ss->wc, s->ws, hc, msg, 0, ws_recv_h, ws_close_h,
			     ss);
	if (err) {
		mem_deref(ss);
		return err;
	}

	tsrv_session_ws_ready(ss);
	list_append(&s->sessl, &ss->le, ss);
	log_debug("tlib", "client %J connected (WebSocket)", &ss->peer);
	link_connected(s, ss);
	return 0;
}

/* --- call events --- */

static void set_str(json_t *ev, const char *key, const char *val)
{
	if (val)
		json_object_set_new(ev, key, json_string(val));
}

struct lct {
	json_t *ext;
	unsigned n;
	bool extended;
};

static void lct_party_h(const struct call_party_info *pi, void *arg)
{
	struct lct *l = arg;
	const char *state = pi->state == PARTY_HELD ? "Held"
			    : pi->state == PARTY_LISTEN_DISCONNECTED
				    ? "ListenDisconnectedHeld"
				    : NULL;
	char key[40];

	if (pi->state != PARTY_ESTABLISHED && !state)
		return; /* not joined (yet) */

	re_snprintf(key, sizeof(key), "LCTParty%u", l->n);
	json_object_set_new(l->ext, key, json_string(pi->name));
	re_snprintf(key, sizeof(key), "LCTParty%u_location", l->n);
	json_object_set_new(l->ext, key,
			    json_string(pi->location ? pi->location : ""));
	if (state && l->extended) {
		re_snprintf(key, sizeof(key), "LCTParty%u_state", l->n);
		json_object_set_new(l->ext, key, json_string(state));
	}
	++l->n;
}

/* The LCTParty snapshot (call-model.md): every joined party, in order,
 * those of other sites as their sites reported them (docs/multisite.md) */
static json_t *lct_json(const struct tsrv *s, const struct call *call)
{
	struct lct l = {json_object(), 0, s->cfg->call_info_extended};

	(void)call_parties_all(s->calls.model ? s->calls.model(s->calls.arg)
					      : NULL,
			       call_connid(call), 0, lct_party_h, &l);
	json_object_set_new(l.ext, "LCTPartiesLength", json_integer(l.n));
	return l.ext;
}

/* A TSingleStepConference whose party never joined: its EventError,
 * later (busy, no answer) or at once (no port to call it with) */
static void join_failed(struct tsrv *s, const struct call_event *ce)
{
	struct tsrv_req req = {.name = "TSingleStepConference"};
	bool now =
		s->cur.ss && s->cur.dn && 0 == strcmp(s->cur.dn, ce->this_dn);

	if (now) {
		s->cur.failed = true;
		req.refid = s->cur.refid;
		req.this_dn = ce->this_dn;
		return error(s, s->cur.ss, &req, TERR_TIMEOUT,
			     "OtherDN %s could not be called into call "
			     "%016llx (SIP %u)",
			     ce->other_dn,
			     (unsigned long long)call_connid(ce->call),
			     ce->cause);
	}

	answer_match(s, ce);
	if (!s->cur.ss)
		return;

	req.refid = s->cur.refid;
	req.this_dn = ce->this_dn;
	error(s, s->cur.ss, &req, TERR_TIMEOUT,
	      "OtherDN %s did not join call %016llx (SIP %u)", ce->other_dn,
	      (unsigned long long)call_connid(ce->call), ce->cause);
	memset(&s->cur, 0, sizeof(s->cur));
}

static json_t *call_event_json(const struct call_event *ce)
{
	json_t *ev = tsrv_event_new(call_event_name(ce->type));
	char connid[17];

	re_snprintf(connid, sizeof(connid), "%016llx",
		    (unsigned long long)call_connid(ce->call));
	set_str(ev, "ThisDN", ce->this_dn);
	set_str(ev, "ThisDNRole", ce->this_role);
	set_str(ev, "OtherDN", ce->other_dn);
	set_str(ev, "OtherDNRole", ce->other_role);
	set_str(ev, "ThirdPartyDN", ce->third_dn);
	set_str(ev, "ThirdPartyDNRole", ce->third_role);
	set_str(ev, "ConnID", connid);
	if (ce->prev_connid) {
		re_snprintf(connid, sizeof(connid), "%016llx",
			    (unsigned long long)ce->prev_connid);
		set_str(ev, "PreviousConnID", connid);
	}
	set_str(ev, "CallState", ce->call_state);
	if (ce->reason)
		json_object_set_new(
			ev, "Extensions",
			json_pack("{ss}", "ReconnectReason", ce->reason));
	set_str(ev, "CallUUID", call_uuid(ce->call));
	set_str(ev, "CallType", call_type_name(call_type(ce->call)));
	set_str(ev, "ANI", ce->ani);
	set_str(ev, "DNIS", ce->dnis);
	return ev;
}

/* A call event to every client registered on its ThisDN */
static void call_event_send(struct tsrv *s, const struct call_event *ce)
{
	bool answer = false, answered;
	char *line, *refline = NULL;
	size_t len, reflen = 0;
	struct le *le;
	json_t *ev;

	if (ce->type == CALL_EV_ADD_FAILED)
		return join_failed(s, ce);
	if (ce->type == CALL_EV_SITE_FAILED)
		return site_failed(s, ce);
	if (ce->type == CALL_EV_PARTIES && !s->cfg->call_info)
		return; /* read now: a SIGHUP changes it at once */

	le = hash_list(s->regs, hash_joaat_str(ce->this_dn))->head;
	if (!le)
		return;

	answered = !s->cur.ss;
	answer_match(s, ce);
	answered = answered && s->cur.ss;

	/* the same event, with the ReferenceID, answers the request being
	 * carried out (one sequence number for both forms) */
	ev = call_event_json(ce);
	if (ev && ce->type == CALL_EV_PARTIES)
		json_object_set_new(ev, "Extensions", lct_json(s, ce->call));
	line = ev ? tsrv_event_line(ev, ++s->seq, &len) : NULL;
	if (line && s->cur.ss && s->cur.refid && ce->type != CALL_EV_PARTIES &&
	    0 == strcmp(s->cur.dn, ce->this_dn)) {
		json_object_set_new(ev, "ReferenceID",
				    json_integer(s->cur.refid));
		refline = tsrv_event_line(ev, s->seq, &reflen);
		answer = refline != NULL;
	}
	json_decref(ev);
	if (!line)
		return;

	for (; le; le = le->next) {
		struct tsrv_reg *r = le->data;
		bool mine = answer && r->ss == s->cur.ss;

		if (strcmp(r->dn, ce->this_dn) || r->ss->dead)
			continue;
		if (!tsrv_session_send(r->ss, mine ? refline : line,
				       mine ? reflen : len))
			bury(s, r->ss);
		++s->events;
	}
	free(line);
	free(refline);
	if (answered)
		memset(&s->cur, 0, sizeof(s->cur));
}

/** A call event of the model: sent, then what it ends (a TMakeCall) */
void tsrv_call_event(struct tsrv *s, const struct call_event *ce)
{
	if (!s || !ce || !ce->this_dn)
		return;

	/* TMakeCall's call: EventDialing to ThisDN names it */
	if (s->cur.make && ce->type == CALL_EV_DIALING && s->cur.dn &&
	    0 == strcmp(s->cur.dn, ce->this_dn))
		s->cur.connid = call_connid(ce->call);

	call_event_send(s, ce);
	make_outcome(s, ce);
}

/* --- the module --- */

static void tsrv_destructor(void *arg)
{
	struct tsrv *s = arg;
	struct le *le;

	tmr_cancel(&s->gc);
	while ((le = s->sessl.head)) {
		list_unlink(le);
		session_free(s, le->data);
	}
	gc_h(s);
	mem_deref(s->ts);
	mem_deref(s->tls_ts);
	mem_deref(s->tls);
	if (s->ws)
		websock_shutdown(s->ws);
	mem_deref(s->ws);
	mem_deref(s->regs);
	mem_deref((void *)s->cfg);
}

/* libre's tcp_listen() asks for a backlog of 5: a room of desktops
 * reconnecting at once (after a restart) would see SYNs dropped and wait
 * for retransmissions, seconds each */
static int listen_tcp(struct tcp_sock **tsp, const struct sa *laddr,
		      tcp_conn_h *connh, void *arg)
{
	struct tcp_sock *ts = NULL;
	int err;

	err = tcp_sock_alloc(&ts, laddr, connh, arg);
	err = err ? err : tcp_sock_bind(ts, laddr);
	err = err ? err : tcp_sock_listen(ts, SOMAXCONN);
	if (err) {
		mem_deref(ts);
		return err;
	}

	*tsp = ts;
	return 0;
}

/* tlib-tls-port with tls-certificate (checked at load: cfg/check.c) */
static int listen_tls(struct tsrv *s, const struct cfg *cfg)
{
	struct sa laddr = cfg->sip_address;
	int err;

	if (!cfg->tlib_tls_port)
		return 0;

	sa_set_port(&laddr, cfg->tlib_tls_port);
	err = tls_alloc(&s->tls, TLS_METHOD_SSLV23, cfg->tls_certificate, NULL);
	err = err ? err : listen_tcp(&s->tls_ts, &laddr, tls_conn_h, s);
	if (err) {
		log_error("tlib", "cannot listen on TLS %J with %s: %m", &laddr,
			  cfg->tls_certificate, err);
		return err;
	}

	log_info("tlib", "CTI (tlib/1) over TLS on %J", &laddr);
	return 0;
}

int tsrv_alloc(struct tsrv **sp, const struct cfg *cfg)
{
	struct tsrv *s;
	struct sa laddr;
	int err;

	if (!sp || !cfg)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), tsrv_destructor);
	if (!s)
		return ENOMEM;

	s->cfg = mem_ref((void *)cfg);
	laddr = cfg->sip_address;
	sa_set_port(&laddr, cfg->tlib_port);
	err = hash_alloc(&s->regs, 256);
	err = err ? err : websock_alloc(&s->ws, NULL, NULL);
	err = err ? err : listen_tcp(&s->ts, &laddr, conn_h, s);
	if (err) {
		log_error("tlib", "cannot listen on TCP %J: %m", &laddr, err);
		mem_deref(s);
		return err;
	}

	log_info("tlib", "CTI (tlib/1) on %J", &laddr);
	err = listen_tls(s, cfg);
	if (err) {
		mem_deref(s);
		return err;
	}

	*sp = s;
	return 0;
}

void tsrv_set_calls(struct tsrv *s, const struct tsrv_calls *calls)
{
	if (s && calls)
		s->calls = *calls;
}

void tsrv_cfg_set(struct tsrv *s, const struct cfg *cfg)
{
	if (!s || !cfg)
		return;

	mem_deref((void *)s->cfg);
	s->cfg = mem_ref((void *)cfg);
}

void tsrv_stats(const struct tsrv *s, struct tsrv_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!s)
		return;

	st->clients = list_count(&s->sessl);
	st->registrations = s->nregs;
	st->events = s->events;
}
