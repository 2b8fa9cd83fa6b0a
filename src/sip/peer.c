/**
 * @file peer.c  Is the other site still there? A ping per inter-site trunk
 *
 * A site that dies during a call says nothing: no BYE comes, and its
 * parties would stay in this site's conferences, silent, until their RTP
 * times out (rtp-timeout, 30 s by default). So every PEER_INTERVAL each
 * Trunk DN with sip-server-inter-trunk = true gets an OPTIONS outside any
 * dialog, sent to its contact. A ping that has no final answer within
 * PEER_WAIT (libre retransmits it over UDP meanwhile, so one lost packet
 * is not a failure), or whose transport fails (a TCP connection refused),
 * has failed; PEER_FAILS failed pings in a row mean the site is down, and
 * the B2BUA is told once, to end every leg through that trunk with the
 * usual events. Any answer, whatever its status, means the site is up.
 * One ping per site, not one per dialog: a thousand calls across the
 * trunk cost no more than one. A site that restarted answers pings but
 * knows none of its old dialogs: those legs still end by rtp-timeout
 * (docs/multisite.md, Faults).
 */
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "sip/peer.h"

enum {
	PEER_INTERVAL = 2000, /* [ms] from one ping to the next */
	PEER_WAIT = 1500,     /* [ms] for its final answer */
	PEER_FAILS = 2,	      /* failed pings in a row: down */
};

struct peer {
	struct le le;
	struct peer_watch *pw;
	char *trunk; /**< the Trunk DN's name */
	char *uri;   /**< its contact */
	struct sip_dialog *dlg;
	struct sip_request *req;
	struct tmr tmr; /**< the next ping, or the wait for an answer */
	uint32_t cseq;
	unsigned fails;
	bool down;
};

struct peer_watch {
	struct sip *sip;
	struct list peerl;
	char from[96]; /**< this site, as the pings' From */
	peer_down_h *downh;
	void *arg;
};

static void peer_destructor(void *arg)
{
	struct peer *p = arg;

	tmr_cancel(&p->tmr);
	list_unlink(&p->le);
	mem_deref(p->req); /* cancels it: no callback after this */
	mem_deref(p->dlg);
	mem_deref(p->trunk);
	mem_deref(p->uri);
}

static void ping(void *arg);

static void next(struct peer *p)
{
	tmr_start(&p->tmr, PEER_INTERVAL, ping, p);
}

static void failed(struct peer *p, const char *how)
{
	if (++p->fails < PEER_FAILS || p->down) {
		next(p);
		return;
	}

	p->down = true;
	log_warn("peer", "site behind trunk %s (%s) is down: %s", p->trunk,
		 p->uri, how);
	next(p); /* before the handler, which may change the configuration */
	p->pw->downh(p->trunk, p->pw->arg);
}

static void answered(struct peer *p)
{
	if (p->down)
		log_info("peer", "site behind trunk %s (%s) is up again",
			 p->trunk, p->uri);
	p->down = false;
	p->fails = 0;
	next(p);
}

static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct peer *p = arg;

	if (msg && msg->scode < 200)
		return;

	tmr_cancel(&p->tmr);
	if (err || !msg) {
		char how[64];

		re_snprintf(how, sizeof(how), "OPTIONS not delivered: %m", err);
		failed(p, how);
		return;
	}

	answered(p);
}

static void wait_expired(void *arg)
{
	struct peer *p = arg;

	p->req = mem_deref(p->req);
	failed(p, "no answer to OPTIONS");
}

static void ping(void *arg)
{
	struct peer *p = arg;
	int err;

	err = sip_drequestf(&p->req, p->pw->sip, true, "OPTIONS", p->dlg,
			    ++p->cseq, NULL, NULL, resp_h, p,
			    "Max-Forwards: 70\r\n"
			    "Accept: application/sdp\r\n"
			    "Content-Length: 0\r\n\r\n");
	if (err) {
		char how[64];

		re_snprintf(how, sizeof(how), "OPTIONS not sent: %m", err);
		failed(p, how);
		return;
	}

	tmr_start(&p->tmr, PEER_WAIT, wait_expired, p);
}

static int peer_add(struct peer_watch *pw, const struct cfg_dn *dn)
{
	struct peer *p = mem_zalloc(sizeof(*p), peer_destructor);
	int err;

	if (!p)
		return ENOMEM;

	p->pw = pw;
	err = str_dup(&p->trunk, dn->name);
	err = err ? err : str_dup(&p->uri, dn->contact);
	err = err ? err
		  : sip_dialog_alloc(&p->dlg, p->uri, p->uri, NULL, pw->from,
				     NULL, 0);
	if (err) {
		log_warn("peer", "trunk %s: %s cannot be pinged: %m", dn->name,
			 dn->contact, err);
		mem_deref(p);
		return err;
	}

	list_append(&pw->peerl, &p->le, p);
	next(p);
	return 0;
}

/* A peer already watched for this trunk and contact keeps its state */
static struct peer *peer_find(const struct list *l, const struct cfg_dn *dn)
{
	for (struct le *le = l->head; le; le = le->next) {
		struct peer *p = le->data;

		if (!strcmp(p->trunk, dn->name) && !strcmp(p->uri, dn->contact))
			return p;
	}

	return NULL;
}

/**
 * Watch the inter-site trunks of a configuration (at start and after
 * each reload): new ones are pinged from now on, removed ones no more
 */
void peer_watch_set(struct peer_watch *pw, const struct cfg *cfg)
{
	struct list old;
	struct le *le;

	/* moved, not copied: each element knows the list it is in */
	list_init(&old);
	while ((le = pw->peerl.head)) {
		list_unlink(le);
		list_append(&old, le, le->data);
	}

	for (le = cfg->dnl.head; le; le = le->next) {
		const struct cfg_dn *dn = le->data;
		struct peer *p;

		if (dn->type != CFG_DN_TRUNK || !dn->inter_trunk ||
		    !dn->contact)
			continue;
		p = peer_find(&old, dn);
		if (p) {
			list_unlink(&p->le);
			list_append(&pw->peerl, &p->le, p);
		} else {
			(void)peer_add(pw, dn);
		}
	}

	list_flush(&old);
}

static void watch_destructor(void *arg)
{
	struct peer_watch *pw = arg;

	list_flush(&pw->peerl);
}

/**
 * Start pinging the inter-site trunks of cfg
 *
 * @param downh Called once when a site goes down (again after it came
 *              back up and went down again)
 */
int peer_watch_alloc(struct peer_watch **pwp, struct sip *sip,
		     const struct cfg *cfg, peer_down_h *downh, void *arg)
{
	struct peer_watch *pw;

	if (!pwp || !sip || !cfg || !downh)
		return EINVAL;

	pw = mem_zalloc(sizeof(*pw), watch_destructor);
	if (!pw)
		return ENOMEM;

	pw->sip = sip;
	pw->downh = downh;
	pw->arg = arg;
	re_snprintf(pw->from, sizeof(pw->from), "sip:sipserver@%j",
		    &cfg->sip_address);
	peer_watch_set(pw, cfg);
	*pwp = pw;
	return 0;
}
