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
		      const struct sip_msg *msg);
