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

enum {
	SITE_VERSION = 1,
	SITE_NAME_MAX = 64,    /**< alias, location: bytes */
	SITE_BODY_MAX = 16384, /**< a longer body is refused unread */
	SITE_PARTIES_MAX = 32, /**< = CALL_MAX_PARTIES */
};

int site_name_check(const char *s, size_t len);
int site_parties_decode(struct call_remote *v, size_t *np,
			enum call_party_state *youp, const char *body,
			size_t len, char *why, size_t sz);
int site_parties_encode(char **bodyp, const struct call_remote *v, size_t n,
			enum call_party_state you);
