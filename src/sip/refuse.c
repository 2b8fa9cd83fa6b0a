/**
 * @file refuse.c  How sipserver says no to a SIP request
 *
 * Every refusal, whichever module makes it, names what was wrong twice: in
 * a Warning header (code 399, RFC 3261 20.43) for whoever looks at the
 * phone's trace, and in a log line for the operator.
 */
#include <stdarg.h>
#include <re.h>
#include "log/log.h"
#include "sip/sipsrv.h"

/* The Warning's text is a quoted string (RFC 3261 25.1): a quote or a
 * backslash is escaped, a control character (none should come, but the
 * text may name what a peer sent) becomes '?' */
static int quoted(struct re_printf *pf, const char *text)
{
	int err = 0;

	for (const char *c = text; *c && !err; c++) {
		if (*c == '"' || *c == '\\')
			err = re_hprintf(pf, "\\%c", *c);
		else
			err = re_hprintf(pf, "%c",
					 (unsigned char)*c < ' ' || *c == 0x7f
						 ? '?'
						 : *c);
	}

	return err;
}

/**
 * Answer a request with a failure and the reason in a Warning header
 *
 * @param module Log module of the caller
 * @param hdrs   Extra header lines ("Name: value\r\n"...), or NULL
 * @param fmt    What was wrong, for people
 */
void sipsrv_refuse(struct sip *sip, const struct sip_msg *msg,
		   const char *module, uint16_t scode, const char *reason,
		   const char *hdrs, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	log_info(module, "%r %r from %J refused: %u %s: %s", &msg->met,
		 &msg->ruri, &msg->src, scode, reason, text);
	(void)sip_treplyf(NULL, NULL, sip, msg, false, scode, reason,
			  "%sWarning: 399 sipserver \"%H\"\r\n"
			  "Content-Length: 0\r\n\r\n",
			  hdrs ? hdrs : "", quoted, text);
}
