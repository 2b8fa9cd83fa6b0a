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
			  "%sWarning: 399 sipserver \"%s\"\r\n"
			  "Content-Length: 0\r\n\r\n",
			  hdrs ? hdrs : "", text);
}
