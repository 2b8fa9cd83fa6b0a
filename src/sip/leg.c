/**
 * @file leg.c  One party's dialog: incoming or outgoing, and its media
 *
 * Incoming: the INVITE is answered "100 Trying" on a server transaction of
 * our own (libre's session would insist on 180 or more), which absorbs
 * retransmissions and catches a CANCEL, until the B2BUA says what to send:
 * 180/183 (the session is accepted then), 200, or a failure.
 * Outgoing: one session per contact of the callee, all with the same
 * offer; the first 200 wins and the others are cancelled. The leg reports
 * failure once every fork has failed, with the most telling status.
 * Re-INVITEs from the phone are answered at once from our own media state
 * (the other party is never asked): a new address moves the stream, and
 * a direction without "send to me" is a hold.
 * A leg to or from another site also carries INFO both ways (info.c
 * sends, the B2BUA answers what comes) and keeps the site's name from
 * its answer (docs/multisite.md).
 */
#include <string.h>
#include <re.h>
#include "log/log.h"
#include "media/media.h"
#include "site/site.h"
#include "sip/leg.h"
#include "sip/sipsrv.h"

#define CUSER "sipserver"
#define CTYPE "application/sdp"

struct fork {
	struct le le;
	struct leg *leg;
	struct sipsess *sess;
	uint16_t scode;		       /**< its failure, 0 while alive */
	const struct sip_msg *ringing; /**< its last 18x: the early dialog */
	struct sip_request *talk;      /**< NOTIFY Event: talk under way */
};

struct leg {
	const struct leg_env *env;
	uint32_t party;
	bool incoming;
	struct sdp_session *sdp;
	struct media_leg *media;
	struct media_remote remote;
	bool held;
	bool confirmed;	       /**< 200 sent and ACKed, or 200 received */
	struct leg_info *info; /**< INFO out, from the first leg_tell */
	char site[SITE_NAME_MAX + 1]; /**< the far end's site, if it said */

	/* incoming */
	const struct sip_msg *msg; /**< the INVITE, until accepted */
	struct sip_strans *st;	   /**< our 100 Trying transaction */
	bool offered;		   /**< the INVITE carried an offer */
	bool answered;		   /**< 200 sent */
	char *hdrs;		   /**< header lines of every answer */


	/* the dialog, once there is one (incoming accepted, fork won) */
	struct sipsess *sess;

	/* outgoing */
	struct list forkl;
	struct fork *win; /**< the fork that answered; its callbacks go on */

	struct tmr no_answer;
	bool early;
};

static void fork_destructor(void *arg)
{
	struct fork *f = arg;

	list_unlink(&f->le);
	mem_deref(f->talk);
	mem_deref((void *)f->ringing);
	mem_deref(f->sess);
}

static void leg_destructor(void *arg)
{
	struct leg *l = arg;

	tmr_cancel(&l->no_answer);
	mem_deref(l->info);
	list_flush(&l->forkl);
	mem_deref(l->win);
	if (l->st)

		(void)sip_treply(&l->st, l->env->sip, l->msg, 500,
				 "Server Internal Error");
	mem_deref(l->st);
	mem_deref(l->sess);
	mem_deref((void *)l->msg);
	mem_deref(l->media);
	mem_deref(l->sdp);
	mem_deref(l->hdrs);
}

uint32_t leg_party(const struct leg *l)
{
	return l ? l->party : 0;
}

struct media_leg *leg_media(const struct leg *l)
{
	return l ? l->media : NULL;
}

/* The SDP just decoded into l->sdp: tell the media engine */
static int remote_apply(struct leg *l, const char **reason)
{
	struct media_remote r;
	int err;

	err = leg_sdp_remote(&r, l->sdp, reason);
	if (err)
		return err;

	l->remote = r;
	media_leg_remote(l->media, &r);
	return 0;
}

static int sdp_answer(struct leg *l, const struct sip_msg *msg,
		      struct mbuf **descp)
{
	const char *reason = NULL;
	int err;

	err = sdp_decode(l->sdp, msg->mb, true);
	if (err)
		return err;

	err = remote_apply(l, &reason);
	if (err) {
		log_info("leg", "party %u: %s", l->party, reason);
		return err;
	}

	return sdp_encode(descp, l->sdp, false);
}

/* A re-INVITE (or an INVITE without SDP): answer from our media state */
static int offer_h(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	bool held;
	int err;

	if (!mbuf_get_left(msg->mb))
		return sdp_encode(descp, l->sdp, true);

	err = sdp_answer(l, msg, descp);
	if (err)
		return err;

	held = !l->remote.send;
	if (held != l->held) {
		l->held = held;
		l->env->h->hold(l, held, l->env->arg);
	}

	return 0;
}

/* The answer to our offer (outgoing 200, or the ACK of a late offer) */
static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	const char *reason = NULL;
	int err;

	if (!mbuf_get_left(msg->mb))
		return 0; /* answered already (183) */

	err = sdp_decode(l->sdp, msg->mb, false);
	if (!err)
		err = remote_apply(l, &reason);
	if (err)
		log_info("leg", "party %u: unusable SDP answer: %s", l->party,
			 reason ? reason : "does not parse");

	return err;
}

/* The dialog is confirmed: INFO may go */
static void confirmed(struct leg *l)
{
	l->confirmed = true;
	leg_info_ready(l->info, l->sess);
}

/* The dialog is gone for INFO */
static void unconfirmed(struct leg *l)
{
	l->confirmed = false;
	leg_info_ready(l->info, NULL);
}

static void estab_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	confirmed(arg);
}

static void info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	(void)sip;

	l->env->h->info(l, msg, l->env->arg);
}

static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;

	unconfirmed(l);

	log_debug("leg", "party %u: dialog ended (%m, %u)", l->party, err,
		  msg ? msg->scode : 0);
	l->env->h->closed(l, l->env->arg);
}

/* A CANCEL while we had only said 100 Trying */
static void cancel_h(void *arg)
{
	struct leg *l = arg;

	(void)sip_treply(&l->st, l->env->sip, l->msg, 487,
			 "Request Terminated");
	l->env->h->closed(l, l->env->arg);
}

static void leg_alloc(struct leg **lp, const struct leg_env *env)
{
	struct leg *l = mem_zalloc(sizeof(*l), leg_destructor);

	if (l)
		l->env = env;
	*lp = l;
}

static void refuse(const struct leg_env *env, const struct sip_msg *msg,
		   uint16_t scode, const char *reason, const char *text)
{
	sipsrv_refuse(env->sip, msg, "leg", scode, reason, NULL, "%s", text);
}

/* The offer of an incoming INVITE, checked before anything exists */
static int incoming_offer(struct leg *l, const struct sip_msg *msg)
{
	const char *reason = NULL;

	if (!mbuf_get_left(msg->mb))
		return 0; /* late offer: ours goes in the 200 */

	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp") ||
	    sdp_decode(l->sdp, msg->mb, true)) {
		refuse(l->env, msg, 400, "Bad Request",
		       "the body is not SDP that parses");
		return EBADMSG;
	}

	if (leg_sdp_remote(&l->remote, l->sdp, &reason)) {
		refuse(l->env, msg, 488, "Not Acceptable Here", reason);
		return ENOTSUP;
	}

	l->offered = true;
	return 0;
}

/**
 * Take an incoming INVITE: check its offer, open a media leg, say 100
 *
 * On error the INVITE has been answered (400, 488, 503) and nothing is
 * left behind.
 *
 * @param hdrs Header lines for every answer on this dialog, or NULL
 */
int leg_incoming(struct leg **lp, const struct leg_env *env,
		 const struct sip_msg *msg, uint32_t rtp_timeout,
		 const char *hdrs)
{
	struct leg *l;
	int err;

	leg_alloc(&l, env);
	if (!l)
		return ENOMEM;
	l->incoming = true;
	if (hdrs && str_dup(&l->hdrs, hdrs)) {
		mem_deref(l);
		return ENOMEM;
	}

	err = media_leg_alloc(&l->media, env->media, rtp_timeout);
	if (err) {
		refuse(env, msg, 503, "Service Unavailable",
		       "no free RTP port");
		mem_deref(l);
		return err;
	}

	err = leg_sdp_alloc(&l->sdp, media_leg_laddr(l->media),
			    media_leg_port(l->media));
	if (!err)
		err = incoming_offer(l, msg);
	if (err) {
		mem_deref(l);
		return err;
	}

	l->msg = mem_ref((void *)msg);
	err = sip_strans_alloc(&l->st, env->sip, msg, cancel_h, l);
	if (!err)
		err = sip_treply(&l->st, env->sip, msg, 100, "Trying");
	if (err) {
		mem_deref(l);
		return err;
	}

	*lp = l;
	return 0;
}

/** The party id and call the leg belongs to: its media joins the mix */
void leg_attach(struct leg *l, uint32_t party, uint64_t connid)
{
	if (!l)
		return;

	l->party = party;
	media_leg_join(l->media, connid, party);
	if (l->offered)
		media_leg_remote(l->media, &l->remote);
}

static const char *hdrs_of(const struct leg *l)
{
	return l->hdrs ? l->hdrs : "";
}

/* The 100 Trying transaction gives way to libre's session */
static int session_accept(struct leg *l, uint16_t scode, const char *reason,
			  struct mbuf *desc)
{
	int err;

	l->st = mem_deref(l->st);
	err = sipsess_accept(&l->sess, l->env->sock, l->msg, scode, reason,
			     CUSER, CTYPE, desc, NULL, NULL, false, offer_h,
			     answer_h, estab_h, info_h, NULL, close_h, l, "%s",
			     hdrs_of(l));
	l->msg = mem_deref((void *)l->msg);
	return err;
}

/** Tell an incoming party its callee rings: 180, or 183 with our SDP */
int leg_progress(struct leg *l, uint16_t scode, bool early_media)
{
	struct mbuf *desc = NULL;
	const char *reason = scode == 183 ? "Session Progress" : "Ringing";
	int err = 0;

	if (!l || !l->incoming)
		return EINVAL;

	if (early_media && l->offered)
		err = sdp_encode(&desc, l->sdp, false);
	else
		scode = 180;

	if (!err)
		err = l->st ? session_accept(l, scode, reason, desc)
			    : sipsess_progress(l->sess, scode, reason, desc,
					       "%s", hdrs_of(l));
	mem_deref(desc);
	return err;
}

/** Answer an incoming party: 200 with our answer (or offer) */
int leg_answer(struct leg *l)
{
	struct mbuf *desc = NULL;
	int err;

	if (!l || !l->incoming)
		return EINVAL;

	err = sdp_encode(&desc, l->sdp, !l->offered);
	if (!err)
		err = l->st ? session_accept(l, 200, "OK", desc)
			    : sipsess_answer(l->sess, 200, "OK", desc, "%s",
					     hdrs_of(l));
	mem_deref(desc);
	l->answered = !err;
	return err;
}

static const char *reason_of(uint16_t scode)
{
	switch (scode) {
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 480:
		return "Temporarily Unavailable";
	case 486:
		return "Busy Here";
	case 487:
		return "Request Terminated";
	case 488:
		return "Not Acceptable Here";
	case 503:
		return "Service Unavailable";
	case 600:
		return "Busy Everywhere";
	case 603:
		return "Decline";
	default:
		return "Call Failed";
	}
}

/** Refuse an incoming party that was not answered */
void leg_reject(struct leg *l, uint16_t scode)
{
	if (!l || !l->incoming)
		return;

	if (scode < 300 || scode > 699)
		scode = 500;

	unconfirmed(l);

	if (l->st)
		(void)sip_treply(&l->st, l->env->sip, l->msg, scode,
				 reason_of(scode));
	else if (l->sess)
		(void)sipsess_reject(l->sess, scode, reason_of(scode), NULL);

	l->st = mem_deref(l->st);
	l->sess = mem_deref(l->sess);
}

/** End the party's dialog: BYE, CANCEL, or 487 if never answered */
void leg_hangup(struct leg *l)
{
	if (!l)
		return;

	tmr_cancel(&l->no_answer);
	unconfirmed(l);
	list_flush(&l->forkl);
	if (l->incoming && !l->answered)
		leg_reject(l, 487);
	l->sess = mem_deref(l->sess);
	l->win = mem_deref(l->win);
}


/**
 * Put the phone on hold (a re-INVITE with sendonly, so its display says
 * so) or take it off (sendrecv); the answer updates its media as usual
 */
int leg_hold(struct leg *l, bool hold)
{
	struct mbuf *desc = NULL;
	int err;

	if (!l || !l->sess)
		return ENOTCONN;

	leg_sdp_set_hold(l->sdp, hold);
	err = sdp_encode(&desc, l->sdp, true);
	if (!err)
		err = sipsess_modify(l->sess, desc);
	mem_deref(desc);
	return err;
}

/* --- outgoing --- */

static void talk_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;

	f->talk = mem_deref(f->talk);
	log_debug("leg", "party %u: NOTIFY talk answered %m %u", f->leg->party,
		  err, msg ? msg->scode : 0);
}

/* NOTIFY Event: talk in the fork's early dialog (the 18x gave its tag) */
static int talk_send(struct fork *f)
{
	const struct sip_msg *r = f->ringing;
	const struct sip_hdr *contact = sip_msg_hdr(r, SIP_HDR_CONTACT);
	struct sip_addr addr;
	char *uri = NULL;
	int err;

	if (!contact || sip_addr_decode(&addr, &contact->val))
		return EINVAL; /* nowhere to send it in the dialog */
	err = pl_strdup(&uri, &addr.auri);
	if (err)
		return err;

	f->talk = mem_deref(f->talk);
	err = sip_requestf(&f->talk, f->leg->env->sip, true, "NOTIFY", uri,
			   NULL, NULL, NULL, talk_resp_h, f,
			   "From: %r\r\nTo: %r\r\nCall-ID: %r\r\n"
			   "CSeq: %u NOTIFY\r\nContact: <sip:" CUSER
			   "@%J>\r\nEvent: talk\r\n"
			   "Subscription-State: terminated\r\n"
			   "Content-Length: 0\r\n\r\n",
			   &r->from.val, &r->to.val, &r->callid,
			   r->cseq.num + 1, &r->dst);
	mem_deref(uri);
	return err;
}

/**
 * Ask a ringing phone to answer (TAnswerCall): NOTIFY Event: talk, as
 * BroadSoft and Polycom phones accept, to every contact that rang
 *
 * @return 0, ENOTCONN if no contact has rung yet, EPROTO if answered
 */
int leg_answer_request(struct leg *l)
{
	int err = ENOTCONN;

	if (!l || l->incoming)
		return EINVAL;
	if (l->win)
		return EPROTO;

	for (struct le *le = l->forkl.head; le; le = le->next) {
		struct fork *f = le->data;

		if (f->ringing && !f->scode && !talk_send(f))
			err = 0;
	}

	return err;
}

/* RFC 3261 16.7: 6xx first, then busy, then whatever came */
static uint16_t best_failure(const struct leg *l)
{
	uint16_t best = 0;

	for (struct le *le = l->forkl.head; le; le = le->next) {
		const struct fork *f = le->data;
		uint16_t s = f->scode;

		if (!best || (s >= 600 && best < 600) ||
		    (s == 486 && best < 600))
			best = s;
	}

	return best ? best : 480;
}

static bool all_failed(const struct leg *l)
{
	for (struct le *le = l->forkl.head; le; le = le->next) {
		const struct fork *f = le->data;

		if (!f->scode)
			return false;
	}

	return true;
}

/* The far end's site, when its answer names one that is well formed */
static void site_take(struct leg *l, const struct sip_msg *msg)
{
	const struct sip_hdr *h = msg ? sip_msg_xhdr(msg, SITE_HDR) : NULL;

	if (!h)
		return;
	if (site_name_check(h->val.p, h->val.l)) {
		log_info("leg",
			 "party %u: %s \"%r\" is not a site name: "
			 "ignored",
			 l->party, SITE_HDR, &h->val);
		return;
	}

	(void)pl_strcpy(&h->val, l->site, sizeof(l->site));
}

static void progr_h(const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;
	struct leg *l = f->leg;
	bool early = false;

	if (msg->scode == 100 || msg->scode > 199)
		return;

	if (pl_isset(&msg->to.tag)) {
		mem_deref((void *)f->ringing);
		f->ringing = mem_ref((void *)msg);
	}
	site_take(l, msg);

	if (msg->scode == 183 && mbuf_get_left(msg->mb) && !l->early &&
	    !answer_h(msg, l)) {
		l->early = true;
		early = true;
	}

	l->env->h->progress(l, early, l->env->arg);
}

static void fork_estab_h(const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;
	struct leg *l = f->leg;

	if (l->win)
		return; /* another fork won first; it is being cancelled */

	tmr_cancel(&l->no_answer);
	list_unlink(&f->le);
	l->win = f;
	l->sess = mem_ref(f->sess);
	list_flush(&l->forkl); /* CANCEL (or BYE) to the others */
	site_take(l, msg);
	confirmed(l);
	l->env->h->answered(l, l->env->arg);
}

static int fork_answer_h(const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;

	return answer_h(msg, f->leg);
}

static void fork_info_h(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;

	info_h(sip, msg, f->leg);
}

static int fork_offer_h(struct mbuf **descp, const struct sip_msg *msg,
			void *arg)
{
	struct fork *f = arg;

	return offer_h(descp, msg, f->leg);
}

/* RFC 3261 8.1.3.1: a transaction that timed out counts as 408, one
 * the transport could not carry (a peer whose port refuses TCP) as 503;
 * the caller gets that, not a vague 480 */
static uint16_t failure_of(int err, const struct sip_msg *msg)
{
	if (msg && msg->scode >= 300)
		return msg->scode;
	if (err == ETIMEDOUT)
		return 408;

	return err ? 503 : 480;
}

static void fork_close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct fork *f = arg;
	struct leg *l = f->leg;

	if (f == l->win) {
		close_h(err, msg, l);
		return;
	}


	f->scode = failure_of(err, msg);
	f->sess = mem_deref(f->sess);
	log_debug("leg", "party %u: fork failed: %u (%m)", l->party, f->scode,
		  err);

	if (!l->win && all_failed(l))

		l->env->h->failed(l, best_failure(l), l->env->arg);
}

static void no_answer_h(void *arg)
{
	struct leg *l = arg;

	log_info("leg", "party %u: no answer in time", l->party);
	list_flush(&l->forkl);
	l->env->h->failed(l, 480, l->env->arg);
}

static int fork_start(struct leg *l, const char *uri, const struct leg_dial *d,
		      struct mbuf *offer)
{
	struct fork *f = mem_zalloc(sizeof(*f), fork_destructor);
	char from[128];
	struct sa laddr;
	int err;

	if (!f)
		return ENOMEM;

	f->leg = l;
	list_append(&l->forkl, &f->le, f);
	(void)sip_transp_laddr(l->env->sip, &laddr, SIP_TRANSP_UDP, NULL);
	re_snprintf(from, sizeof(from), "sip:%s@%j", d->from_user, &laddr);

	offer->pos = 0;
	err = sipsess_connect(&f->sess, l->env->sock, uri, d->from_user, from,
			      CUSER, NULL, 0, CTYPE, offer, NULL, NULL, false,
			      fork_offer_h, fork_answer_h, progr_h,
			      fork_estab_h, fork_info_h, NULL, fork_close_h, f,
			      "%s", d->hdrs ? d->hdrs : "");
	if (err) {
		log_info("leg", "cannot call %s: %m", uri, err);
		mem_deref(f);
	}

	return err;
}

/**
 * Call a party: an INVITE to each of its contacts, with our offer
 */
int leg_outgoing(struct leg **lp, const struct leg_env *env,
		 const struct leg_dial *d, uint32_t party, uint64_t connid)
{
	struct mbuf *offer = NULL;
	struct leg *l;
	int err;

	leg_alloc(&l, env);
	if (!l)
		return ENOMEM;

	err = media_leg_alloc(&l->media, env->media, d->rtp_timeout);
	err = err ? err
		  : leg_sdp_alloc(&l->sdp, media_leg_laddr(l->media),
				  media_leg_port(l->media));
	err = err ? err : sdp_encode(&offer, l->sdp, true);
	if (err) {
		mem_deref(l);
		return err;
	}

	l->party = party;
	media_leg_join(l->media, connid, party);
	for (size_t i = 0; i < d->n; i++)
		(void)fork_start(l, d->uris[i], d, offer);
	mem_deref(offer);

	if (!l->forkl.head) {
		mem_deref(l);
		return ENOTCONN;
	}

	tmr_start(&l->no_answer, (uint64_t)d->no_answer * 1000, no_answer_h, l);
	*lp = l;
	return 0;
}

/** The site the far end said it is (its answer's header), or NULL */
const char *leg_peer_site(const struct leg *l)
{
	return l && l->site[0] ? l->site : NULL;
}

/* The INFO sender, made on first use; ctype: what leg_tell sends */
static int info_get(struct leg *l, const char *ctype)
{
	int err;

	if (l->info)
		return 0;

	err = leg_info_alloc(&l->info, ctype, l->party);
	if (!err && l->confirmed)
		leg_info_ready(l->info, l->sess);
	return err;
}

/**
 * Ask the far end something in an INFO, after what is in flight (info.c);
 * h gets its answer
 */
int leg_ask(struct leg *l, const char *ctype, const char *body, leg_ask_h *h,
	    void *arg)
{
	int err;

	if (!l || !ctype || !body || !h)
		return EINVAL;

	/* participant info is what the same leg tells */
	err = info_get(l, SITE_CTYPE);
	return err ? err : leg_info_ask(l->info, ctype, body, h, arg);
}

/**
 * Tell the far end something in an INFO: as soon as the dialog is
 * confirmed, one at a time, only the newest body, never the same twice
 * (info.c)
 */
int leg_tell(struct leg *l, const char *ctype, const char *body)
{
	int err;

	if (!l || !ctype || !body)
		return EINVAL;

	err = info_get(l, ctype);
	return err ? err : leg_info_send(l->info, body, strlen(body));
}
