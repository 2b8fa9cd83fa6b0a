/**
 * @file site.h  What two sipserver sites say to each other over an
 * inter-site trunk (docs/multisite.md): the header that names the
 * sending site, and participant info, a body of our own carried by INFO
 * in the trunk's dialog
 *
 * Pure: no libre, no sockets. The decoder is the one place a peer's body
 * is read, so it is strict and total (every input gets 0 or a reason),
 * and it is what a fuzz target drives.
 */

struct call_remote;
enum call_party_state;

/** Names the sending site in its INVITE and in its answers to one */
#define SITE_HDR "X-Sipserver-Site"
/** Participant info, version 1 */
#define SITE_CTYPE "application/x-sipserver-parties+json"
/** A request on a party of the receiving site, and its answer (in the
 * 200 to the INFO), version 1 */
#define SITE_REQ_CTYPE "application/x-sipserver-request+json"

enum {
	SITE_VERSION = 1,
	SITE_NAME_MAX = 64,    /**< alias, location: bytes */
	SITE_BODY_MAX = 16384, /**< a longer body is refused unread */
	SITE_PARTIES_MAX = 32, /**< = CALL_MAX_PARTIES */
};

/** TListenDisconnect or TListenReconnect, made on the sending site by one
 * of its parties (by) on a party of the receiving site (other) */
struct site_request {
	bool disconnect;
	char by[SITE_NAME_MAX + 1];
	char other[SITE_NAME_MAX + 1];
};

int site_name_check(const char *s, size_t len);
int site_request_encode(char **bodyp, const struct site_request *r);
int site_request_decode(struct site_request *r, const char *body, size_t len,
			char *why, size_t sz);
int site_answer_encode(char **bodyp, int err, const char *message);
int site_answer_decode(int *errp, char *msg, size_t msz, const char *body,
		       size_t len, char *why, size_t sz);
int site_parties_decode(struct call_remote *v, size_t *np,
			enum call_party_state *youp, const char *body,
			size_t len, char *why, size_t sz);
int site_parties_encode(char **bodyp, const struct call_remote *v, size_t n,
			enum call_party_state you);
