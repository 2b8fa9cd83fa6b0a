/**
 * @file site.h  The B2BUA's side of inter-site trunks (site.c)
 */

struct call_model;
struct leg;
struct sip;
struct sip_msg;

int b2bua_site_hdr(const struct sip_msg *msg, char *buf, size_t sz);
int b2bua_site_tell(const struct call_model *m, struct leg *l, uint32_t party);
void b2bua_site_heard(struct sip *sip, struct call_model *m, uint32_t party,
		      const struct sip_msg *msg, const char *music);
struct call_leg_cmd;
int b2bua_site_ask(struct leg *l, const struct call_leg_cmd *cmd, leg_ask_h *h,
		   void *arg);
void b2bua_site_answered(struct call_model *m, uint32_t party, int err,
			 const struct sip_msg *msg);
