/**
 * @file sip.c  SIP requests and responses on the wire, by method and code
 *
 * libre hands every message it sends or receives, on any transport, to one
 * trace hook, before any listener sees it: counting there needs no line in
 * the SIP modules, and it counts what the wire carried (retransmissions
 * included, a message libre could not parse excluded). Only the start
 * line and, for a response, the CSeq method are read; nothing is kept.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "stats/stats.h"
#include "stats/priv.h"

static const char *const methods[STATS_SIP_METHODS - 1] = {
	"INVITE",  "ACK",    "BYE",	  "CANCEL",  "REGISTER",
	"OPTIONS", "INFO",   "UPDATE",	  "PRACK",   "REFER",
	"MESSAGE", "NOTIFY", "SUBSCRIBE", "PUBLISH",
};

#define SIP_VERSION "SIP/2.0"

const char *stats_sip_method_name(size_t i)
{
	return i < ARRAY_SIZE(methods) ? methods[i] : "other";
}

static size_t method_index(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		if (strlen(methods[i]) == len && !memcmp(p, methods[i], len))
			return i;
	}

	return STATS_SIP_METHODS - 1;
}

static size_t token_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;

	while (q<end && * q> ' ')
		++q;

	return (size_t)(q - p);
}

/* The method of the CSeq header ("CSeq: 1 INVITE"), in the head only */
static size_t cseq_method(const uint8_t *p, const uint8_t *end)
{
	static const char name[] = "\r\ncseq";
	const size_t n = sizeof(name) - 1;

	for (; p + n < end; p++) {
		if (p[0] == '\r' && p[2] == '\r' && p[1] == '\n')
			break; /* end of the head */
		if (strncasecmp((const char *)p, name, n))
			continue;
		p += n;
		while (p < end && (*p == ' ' || *p == '\t'))
			++p;
		if (p >= end || *p++ != ':')
			break;
		while (p < end && (*p == ' ' || *p == '\t'))
			++p;
		p += token_len(p, end); /* the number */
		while (p < end && (*p == ' ' || *p == '\t'))
			++p;
		return method_index(p, token_len(p, end));
	}

	return STATS_SIP_METHODS - 1;
}

/**
 * What one message is: a request and its method, or a response, its
 * status code and the method of its CSeq
 *
 * @return 0, or EBADMSG when the start line is neither
 */
int stats_sip_parse(struct stats_sip_msg *m, const uint8_t *pkt, size_t len)
{
	const size_t vl = sizeof(SIP_VERSION) - 1;
	const uint8_t *end;
	size_t tl;

	if (!m || !pkt)
		return EINVAL;

	end = pkt + len;

	memset(m, 0, sizeof(*m));
	if (len > vl + 4 && !memcmp(pkt, SIP_VERSION " ", vl + 1)) {
		const uint8_t *c = pkt + vl + 1;
		unsigned code;

		if (c + 3 > end || c[0] < '0' || c[0] > '9' || c[1] < '0' ||
		    c[1] > '9' || c[2] < '0' || c[2] > '9')
			return EBADMSG;
		code = (c[0] - '0') * 100u + (c[1] - '0') * 10u + (c[2] - '0');
		m->code = code >= 100 && code <= 699 ? code - 100
						     : STATS_SIP_CODES - 1;
		m->method = cseq_method(c, end);
		return 0;
	}

	tl = token_len(pkt, end);
	if (!tl || tl == len || pkt[tl] != ' ')
		return EBADMSG;

	m->req = true;
	m->method = method_index(pkt, tl);
	return 0;
}

/** Count one message that went out or came in */
void stats_sip_message(enum stats_dir dir, const uint8_t *pkt, size_t len)
{
	struct stats_counters *c = stats_mut();
	struct stats_sip_msg m;

	if (dir >= STATS_DIRS || stats_sip_parse(&m, pkt, len))
		return;

	if (m.req)
		stats_count(&c->sip_req[dir][m.method]);
	else
		stats_count(&c->sip_resp[dir][m.method][m.code]);
}

static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len,
		    void *arg)
{
	(void)tp;
	(void)src;
	(void)dst;
	(void)arg;

	stats_sip_message(tx ? STATS_OUT : STATS_IN, pkt, len);
}

/** Count every message of this SIP stack from now on */
void stats_sip_attach(struct sip *sip)
{
	if (sip)
		sip_set_trace_handler(sip, trace_h);
}
