/**
 * @file net.c  Address lists: "127.0.0.0/8, ::1" -> who may read a page
 *
 * http-status-allow is kept as the text the file gave (so it prints,
 * compares and reloads like any string option) and parsed again per
 * request: a page is read a few times a minute, and a list of a few
 * networks parses in microseconds. An IPv4 peer on an IPv6 socket
 * (::ffff:a.b.c.d) is matched as the IPv4 address it is.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "cfg/cfg.h"

enum {
	NET_TEXT_MAX = 64, /* longest "address/bits" */
};

struct net {
	struct sa addr;
	unsigned bits;
};

static bool is_sep(char c)
{
	return c == ' ' || c == ',' || c == '\t';
}

/* One "address" or "address/bits" of len characters */
static int net_parse(struct net *n, const char *p, size_t len)
{
	char buf[NET_TEXT_MAX + 1];
	const char *slash;
	unsigned max;

	if (len > NET_TEXT_MAX)
		return EINVAL;
	memcpy(buf, p, len);
	buf[len] = '\0';

	slash = strchr(buf, '/');
	if (slash)
		buf[slash - buf] = '\0';
	if (sa_set_str(&n->addr, buf, 0))
		return EINVAL;

	max = sa_af(&n->addr) == AF_INET ? 32 : 128;
	n->bits = max;
	if (!slash)
		return 0;

	if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    strlen(slash + 1) > 3)
		return EINVAL;
	n->bits = (unsigned)atoi(slash + 1);

	return n->bits <= max ? 0 : ERANGE;
}

/* Calls h for each network of the list until it returns true */
typedef bool(net_h)(const struct net *n, void *arg);

static int nets_walk(const char *text, net_h *h, void *arg, const char **badp,
		     size_t *badlen)
{
	const char *p = text;

	while (p && *p) {
		size_t len;
		struct net n;
		int err;

		while (is_sep(*p))
			++p;
		len = strcspn(p, " ,\t");
		if (!len)
			break;
		err = net_parse(&n, p, len);
		if (err) {
			*badp = p;
			*badlen = len;
			return err;
		}
		if (h && h(&n, arg))
			return 0;
		p += len;
	}

	return 0;
}

/**
 * Check an address list: IP addresses or CIDR networks, separated by
 * commas or spaces; empty is valid (nobody)
 *
 * @return 0, or EINVAL with the reason written
 */
int cfg_nets_check(const char *text, char *reason, size_t sz)
{
	const char *bad = NULL;
	size_t len = 0;
	int err = nets_walk(text, NULL, NULL, &bad, &len);

	if (err)
		re_snprintf(reason, sz,
			    "\"%b\" is not an IP address or network "
			    "(ADDRESS or ADDRESS/BITS)",
			    bad, len);
	return err ? EINVAL : 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, bytes))
		return false;
	if (!rest)
		return true;

	mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* The peer as the address family it really is */
static void unmap(struct sa *a, const struct sa *peer)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0,    0,
					     0, 0, 0, 0, 0xff, 0xff};
	uint8_t b[16];

	*a = *peer;
	if (sa_af(peer) != AF_INET6)
		return;
	sa_in6(peer, b);
	if (memcmp(b, v4mapped, sizeof(v4mapped)))
		return;
	sa_set_in(a,
		  (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
			  (uint32_t)b[14] << 8 | b[15],
		  sa_port(peer));
}

static bool match_h(const struct net *n, void *arg)
{
	const struct sa *peer = arg;
	uint8_t a[16], b[16];

	if (sa_af(&n->addr) != sa_af(peer))
		return false;

	if (sa_af(peer) == AF_INET) {
		uint32_t x = sa_in(&n->addr), y = sa_in(peer);
		uint32_t mask = n->bits ? ~(uint32_t)0 << (32 - n->bits) : 0;

		return (x & mask) == (y & mask);
	}

	sa_in6(&n->addr, a);
	sa_in6(peer, b);
	return prefix_equal(a, b, n->bits);
}

struct match {
	struct sa peer;
	bool found;
};

static bool found_h(const struct net *n, void *arg)
{
	struct match *m = arg;

	m->found = match_h(n, &m->peer);
	return m->found;
}

/** Is the peer's address in the list? (false for a list that is invalid) */
bool cfg_nets_match(const char *text, const struct sa *peer)
{
	struct match m = {.found = false};
	const char *bad;
	size_t len;

	if (!text || !peer)
		return false;

	unmap(&m.peer, peer);
	if (nets_walk(text, found_h, &m, &bad, &len))
		return false;

	return m.found;
}
