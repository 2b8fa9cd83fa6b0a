/**
 * @file tlib.h  libtlib: the client side of the tlib/1 CTI protocol
 *
 * A small library that agent desktops, supervisors and scripts link to talk
 * to sipserver's T-Library interface (docs/tlibctl.md, the contract is
 * ../shared/spec/tlib-protocol.md). It depends on libc and jansson only, so
 * that programs outside this tree can use it with nothing else: no libre,
 * no threads, no event loop of its own.
 *
 * One connection is one `struct tlib`, used from one thread. Requests are
 * sent at once (blocking, bounded by the connection's timeout); events are
 * read by tlib_poll() or tlib_wait() and handed to the event handler in
 * arrival order. A program with its own poll loop watches tlib_fd() and
 * calls tlib_poll(c, 0) when it is readable, and also whenever
 * tlib_pending() says complete lines are already buffered (tlib_wait stops
 * right after its match and leaves what follows in the buffer).
 *
 * Return conventions (errno-style):
 *   - set-up and waiting (tlib_connect, tlib_open, tlib_wait, ...):
 *     0 or a positive errno value;
 *   - requests: the ReferenceID used (positive) or a negative errno value;
 *   - tlib_poll: the number of events dispatched or a negative errno value.
 * A line from the server that is longer than TLIB_LINE_MAX, not valid JSON,
 * has duplicate keys, is not an object or has no "event" string is reported
 * as EMSGSIZE / EBADMSG (tlib_last_error() says which line and why); the
 * connection stays usable and reading goes on with the next line.
 */
#ifndef TLIB_H
#define TLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The protocol version this library speaks (EventLinkConnected) */
#define TLIB_PROTOCOL_VERSION "tlib/1"
/** Longest line, without its '\n', either side may send */
#define TLIB_LINE_MAX 65536
/** Default bound of every blocking step (connect, handshake, send) */
#define TLIB_TIMEOUT_MS 5000
/** Default TCP port of the server (`tlib-port`) */
#define TLIB_DEFAULT_PORT 3000

struct tlib;

/**
 * A key-value list (Extensions, UserData, Reasons). Values are strings or
 * integers, as the protocol allows. Requests borrow the caller's array;
 * events point into their own JSON (valid as long as the event).
 */
struct tlib_kv_item {
	const char *key;
	const char *str; /**< string value, or NULL for an integer */
	long long num;	 /**< integer value when str is NULL */
};

struct tlib_kv {
	const struct tlib_kv_item *items;
	size_t n;
};

/**
 * One event. Every string points into `json` (NULL when the attribute is
 * absent or not a string); the handler's event is valid only during the
 * call, an event returned by tlib_wait() until tlib_event_free().
 */
struct tlib_event {
	const char *name;	/**< "event" */
	long long reference_id; /**< ReferenceID, 0 when absent */
	long long seq;		/**< EventSequenceNumber, -1 when absent */
	const char *time;	/**< Time (RFC 3339) */
	const char *this_dn;
	const char *other_dn;
	const char *third_party_dn;
	const char *this_dn_role;
	const char *other_dn_role;
	const char *third_party_dn_role;
	const char *conn_id;
	const char *previous_conn_id;
	const char *consult_conn_id;
	const char *call_uuid;
	const char *call_type;
	const char *call_state; /**< a name; a number is mapped (0 -> "Ok") */
	const char *ani;
	const char *dnis;
	int error_code; /**< ErrorCode, 0 when absent */
	const char *error_message;
	struct tlib_kv extensions;
	struct tlib_kv user_data;
	struct tlib_kv reasons;
	json_t *json;	  /**< the whole object (borrowed reference) */
	const char *line; /**< the line as received, NUL-terminated */
	size_t line_len;  /**< without the '\n' */
};

/** Handler of every event, in arrival order */
typedef void(tlib_event_h)(const struct tlib_event *ev, void *arg);

enum tlib_register_mode {
	TLIB_MODE_SHARE = 0,
	TLIB_MODE_PRIVATE,
	TLIB_MODE_MONITOR,
};

/*
 * Connection. tlib_connect* wait for EventLinkConnected (tlib_link_event
 * keeps it); tlib_connect_fd takes over an already connected stream socket
 * (and closes it on failure). tlib_open sends TOpenServer and waits for
 * EventServerConnected (0) or EventError (EACCES; see tlib_last_error).
 * tlib_last_error: the last EventError seen (code > 0), or code 0 and our
 * own words for a local failure such as a bad line. tlib_set_timeout
 * bounds sends and tlib_open's wait (default TLIB_TIMEOUT_MS, -1: none).
 */
int tlib_connect(struct tlib **cp, const char *host, uint16_t port);
int tlib_connect_timeout(struct tlib **cp, const char *host, uint16_t port,
			 int timeout_ms);
int tlib_connect_fd(struct tlib **cp, int fd, int timeout_ms);
void tlib_close(struct tlib *c);
int tlib_fd(const struct tlib *c);
void tlib_set_timeout(struct tlib *c, int timeout_ms);
void tlib_set_event_handler(struct tlib *c, tlib_event_h *eh, void *arg);
const struct tlib_event *tlib_link_event(const struct tlib *c);
int tlib_open(struct tlib *c, const char *app_name, const char *password);
void tlib_last_error(const struct tlib *c, int *codep, const char **msgp);

/*
 * Events. tlib_poll dispatches what has arrived (buffered lines first,
 * without waiting); it returns the number of events, 0 on timeout,
 * -ECONNRESET once the server has closed and nothing is left, -EMSGSIZE or
 * -EBADMSG for a bad line (reading goes on after it), -EDEADLK when called
 * from the handler. tlib_wait dispatches every event up to and including
 * the first that matches (see tlib_match_parse), returns it in *evp (to
 * tlib_event_free; evp may be NULL) and leaves later lines buffered:
 * 0, ETIMEDOUT, ECONNRESET, EINVAL (bad spec), EMSGSIZE, EBADMSG.
 */
int tlib_poll(struct tlib *c, int timeout_ms);
bool tlib_pending(const struct tlib *c);
int tlib_wait(struct tlib *c, const char *match, int timeout_ms,
	      struct tlib_event **evp);
void tlib_event_free(struct tlib_event *ev);
const char *tlib_kv_get(const struct tlib_kv *kv, const char *key);

/*
 * Match specs: "[EventName|*] Key=Value Extensions.key=Value ...". Strings
 * compare as text, integers by their decimal form, true/false/null by
 * those words; values may be "double quoted" to hold spaces.
 */
struct tlib_match;
int tlib_match_parse(struct tlib_match **mp, const char *spec);
bool tlib_match_event(const struct tlib_match *m, const struct tlib_event *ev);
void tlib_match_free(struct tlib_match *m);

/*
 * Text request lines: "TName Key=Value A.b=Value Key:=JSON ...". The
 * spec's integer attributes (ReferenceID) become JSON integers, other
 * values strings; Key:=JSON is sent as written. *namep to free(), *attrsp
 * to json_decref().
 */
int tlib_line_parse(const char *line, char **namep, json_t **attrsp);

/*
 * Requests: the ReferenceID used (positive, increasing per connection), or
 * a negative errno value (-EINVAL for a missing required attribute:
 * nothing is sent). tlib_request sends any request with the attributes of
 * attrs (borrowed; a positive integer ReferenceID in it is used as given).
 * userdata/ext may be NULL (the attribute is then left out).
 */
int tlib_request(struct tlib *c, const char *name, const json_t *attrs);
int tlib_register(struct tlib *c, const char *dn, enum tlib_register_mode mode);
int tlib_unregister(struct tlib *c, const char *dn);
int tlib_query_address(struct tlib *c, const char *this_dn);
int tlib_query_call(struct tlib *c, const char *this_dn, const char *connid);
int tlib_make_call(struct tlib *c, const char *this_dn, const char *other_dn,
		   const struct tlib_kv *userdata, const struct tlib_kv *ext);
int tlib_answer_call(struct tlib *c, const char *this_dn, const char *connid);
int tlib_release_call(struct tlib *c, const char *this_dn, const char *connid);
int tlib_hold_call(struct tlib *c, const char *this_dn, const char *connid,
		   const struct tlib_kv *ext);
int tlib_retrieve_call(struct tlib *c, const char *this_dn, const char *connid,
		       const struct tlib_kv *ext);
int tlib_initiate_conference(struct tlib *c, const char *this_dn,
			     const char *connid, const char *other_dn,
			     const struct tlib_kv *userdata);
int tlib_complete_conference(struct tlib *c, const char *this_dn,
			     const char *connid, const char *consult_connid);
int tlib_reconnect_call(struct tlib *c, const char *this_dn, const char *connid,
			const char *consult_connid);
int tlib_single_step_conference(struct tlib *c, const char *this_dn,
				const char *connid, const char *other_dn);
int tlib_delete_from_conference(struct tlib *c, const char *this_dn,
				const char *connid, const char *other_dn);
int tlib_listen_disconnect(struct tlib *c, const char *this_dn,
			   const char *connid, const char *other_dn,
			   const struct tlib_kv *ext);
int tlib_listen_reconnect(struct tlib *c, const char *this_dn,
			  const char *connid, const char *other_dn);

#ifdef __cplusplus
}
#endif

#endif
