/**
 * @file b2bua.c  The B2BUA: incoming INVITEs, the call model's commands,
 * and every leg's reports
 *
 * The call model decides; this file carries out. A new INVITE is checked
 * (who calls, where to, a usable offer) before the model hears of it, so a
 * refused INVITE leaves nothing behind. The model's outputs are queued and
 * carried out after the input that caused them has returned: carrying out
 * one (alerting a callee that has no contact) may itself be an input to
 * the model, and the model is never re-entered.
 * Legs are freed from a zero-delay timer, never inside their own libre
 * callbacks. CTI requests on calls (release, hold, make, conferences,
 * private conversations) come in here too: each finds the DN's party,
 * resolves what the model cannot (a dialled number, a music file), and
 * hands the rest to the model. A consult call's media is pinned next to
 * its main call's, so a leg moves between them on one worker.
 * Inter-site trunks (docs/multisite.md): a call from another site is
 * told by its X-Sipserver-Site header and its source address; what the
 * sites say to each other in the dialog is site.c's.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "call/call.h"
#include "reg/reg.h"
#include "media/codec.h"
#include "media/player.h"
#include "media/media.h"
#include "sip/leg.h"
#include "sip/route.h"
#include "sip/b2bua.h"
#include "sip/sipsrv.h"
#include "sip/site.h"
#include "sip/peer.h"
#include "site/site.h"

enum {
	MAX_FORKS = REG_MAX_BINDINGS,
};

struct b2bua {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct reg *reg;
	struct media *media;
	struct player_cache *players;
	const struct cfg *cfg;
	struct call_model *model;
	struct leg_env lenv;
	struct hash *legs; /**< struct entry, by party id */
	uint32_t nlegs;
	struct list outq; /**< struct out: model outputs to carry out */
	bool flushing;
	struct list graveyard; /**< struct entry: legs to free */
	b2bua_event_h *eventh; /**< CTI events go here */
	char auto_answer[160]; /**< headers asking a phone to answer itself */
	char site_hdr[96];     /**< naming this site to another */
	struct peer_watch *peers; /**< pings to the other sites */
	void *event_arg;
	struct tmr gc;
};

/** A leg of a party */
struct entry {
	struct le le; /**< in legs, then in graveyard */
	uint32_t party;
	struct leg *leg;
};

/** One output of the model, copied: the model may free what it named */
struct out {
	struct le le;
	bool media;
	struct call_leg_cmd leg;
	struct call_media_cmd mcmd;
	uint64_t connid;
	char target[65];
	char from[65];
	char trunk[65];
	char by[65];	/**< REQUEST */
	char other[65]; /**< REQUEST */
	char *music;
};

static void flush(struct b2bua *b);

/* --- legs by party --- */

static bool entry_cmp(struct le *le, void *arg)
{
	const struct entry *e = le->data;

	return e->party == *(uint32_t *)arg;
}

static struct entry *entry_find(const struct b2bua *b, uint32_t party)
{
	struct le *le = hash_lookup(b->legs, party, entry_cmp, &party);

	return le ? le->data : NULL;
}

static struct leg *leg_find(const struct b2bua *b, uint32_t party)
{
	const struct entry *e = entry_find(b, party);

	return e ? e->leg : NULL;
}

static void entry_destructor(void *arg)
{
	struct entry *e = arg;

	list_unlink(&e->le);
	mem_deref(e->leg);
}

static int leg_add(struct b2bua *b, uint32_t party, struct leg *l)
{
	struct entry *e = mem_zalloc(sizeof(*e), entry_destructor);

	if (!e)
		return ENOMEM;

	e->party = party;
	e->leg = l;
	hash_append(b->legs, party, &e->le, e);
	++b->nlegs;
	return 0;
}

static void gc_h(void *arg)
{
	struct b2bua *b = arg;

	list_flush(&b->graveyard);
}

/* The party is gone: its leg is freed once the stack has unwound */
static void leg_bury(struct b2bua *b, uint32_t party)
{
	struct entry *e = entry_find(b, party);

	if (!e)
		return;

	hash_unlink(&e->le);
	--b->nlegs;
	list_append(&b->graveyard, &e->le, e);
	tmr_start(&b->gc, 0, gc_h, b);
}

/* --- the model's outputs --- */

static void out_destructor(void *arg)
{
	struct out *o = arg;

	list_unlink(&o->le);
	mem_deref(o->music);
}

static void leg_out_h(const struct call_leg_cmd *cmd, void *arg)
{
	struct b2bua *b = arg;
	struct out *o = mem_zalloc(sizeof(*o), out_destructor);

	if (!o) {
		log_error("b2bua", "out of memory: leg command lost");
		return;
	}

	o->leg = *cmd;
	o->connid = call_connid(call_of_party(b->model, cmd->party));
	str_ncpy(o->target, cmd->target ? cmd->target : "", sizeof(o->target));
	str_ncpy(o->from, cmd->from ? cmd->from : "", sizeof(o->from));
	str_ncpy(o->trunk, cmd->trunk ? cmd->trunk : "", sizeof(o->trunk));
	str_ncpy(o->by, cmd->by ? cmd->by : "", sizeof(o->by));
	str_ncpy(o->other, cmd->other ? cmd->other : "", sizeof(o->other));
	o->leg.by = o->by;
	o->leg.other = o->other;
	list_append(&b->outq, &o->le, o);
}

static void media_out_h(const struct call_media_cmd *cmd, void *arg)
{
	struct b2bua *b = arg;
	struct out *o = mem_zalloc(sizeof(*o), out_destructor);

	if (!o || (cmd->music && str_dup(&o->music, cmd->music))) {
		mem_deref(o);
		log_error("b2bua", "out of memory: media command lost");
		return;
	}

	o->media = true;
	o->mcmd = *cmd;
	list_append(&b->outq, &o->le, o);
}

static void event_h(const struct call_event *ev, void *arg)
{
	struct b2bua *b = arg;

	log_debug("call", "%s ThisDN=%s ConnID=%016llx OtherDN=%s",
		  call_event_name(ev->type), ev->this_dn,
		  (unsigned long long)call_connid(ev->call),
		  ev->other_dn ? ev->other_dn : "-");

	/* events go out at once: their order is the model's */
	if (b->eventh)
		b->eventh(ev, b->event_arg);
}

static void uuid_h(char *buf, size_t sz, void *arg)
{
	uint8_t u[16];
	(void)arg;

	rand_bytes(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40; /* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	re_snprintf(buf, sz, "%w-%w-%w-%w-%w", u, (size_t)4, u + 4, (size_t)2,
		    u + 6, (size_t)2, u + 8, (size_t)2, u + 10, (size_t)6);
}

/* --- carrying out --- */

struct contacts {
	const char *v[MAX_FORKS];
	size_t n;
};

static void contact_h(const char *dn, const struct reg_binding *bd, void *arg)
{
	struct contacts *c = arg;
	(void)dn;

	if (c->n < MAX_FORKS)
		c->v[c->n++] = bd->uri;
}

/* sip:host:port;params of a trunk -> sip:number@host:port;params */
static int trunk_uri(char **urip, const char *contact, const char *number)
{
	const char *rest = strchr(contact, ':');

	if (!rest)
		return EINVAL;

	return re_sdprintf(urip, "%b:%s@%s", contact, (size_t)(rest - contact),
			   number, rest + 1);
}

static int alert(struct b2bua *b, const struct out *o)
{
	const struct cfg_dn *trunk = NULL;
	struct contacts c = {.n = 0};
	char *uri = NULL;
	const struct call *main;
	struct leg *l = NULL;
	struct leg_dial d;
	int err;

	if (o->leg.external) {
		trunk = cfg_dn_find(b->cfg, o->trunk);
		err = trunk ? trunk_uri(&uri, trunk->contact, o->target)
			    : ENOENT;
		if (err)
			return err;
		c.v[c.n++] = uri;
	} else {
		reg_bindings_foreach(reg_bindings(b->reg), o->target,
				     tmr_jiffies(), contact_h, &c);
	}

	d.uris = c.v;
	d.n = c.n;
	d.from_user = o->from;
	d.no_answer = b->cfg->no_answer_timeout;
	d.rtp_timeout = b->cfg->rtp_timeout;
	d.hdrs = o->leg.auto_answer ? b->auto_answer
		 : o->leg.site	    ? b->site_hdr
				    : NULL;

	/* a consult call's legs are mixed where its main call's are, so
	 * that completing the conference moves legs within one worker */
	main = call_main(call_find(b->model, o->connid));
	if (main && c.n)
		(void)media_pin_with(b->media, o->connid, call_connid(main));

	err = c.n ? leg_outgoing(&l, &b->lenv, &d, o->leg.party, o->connid)
		  : ENOTCONN;
	mem_deref(uri);
	if (!err)
		err = leg_add(b, o->leg.party, l);
	if (err) {
		mem_deref(l);
		media_pin_drop(b->media, o->connid);
	}

	return err;
}

/* The other site answered a request carried there (leg_ask) */
static void asked_h(int err, const struct sip_msg *msg, uint32_t party,
		    void *arg)
{
	struct b2bua *b = arg;

	b2bua_site_answered(b->model, party, err, msg);
	flush(b);
}

/* A request that could not even be sent: refused at once */
static void site_ask_failed(struct b2bua *b, uint32_t party, int err)
{
	char why[96];

	re_snprintf(why, sizeof(why),
		    "the request could not be sent to the site that owns the "
		    "conference: %m",
		    err);
	(void)call_site_answer(b->model, party, ETIMEDOUT, why);
}

static void leg_apply(struct b2bua *b, const struct out *o)
{
	struct leg *l = leg_find(b, o->leg.party);
	int err = 0;

	switch (o->leg.op) {
	case CALL_LEG_ALERT:
		err = alert(b, o);
		if (err) {
			log_info("b2bua", "cannot call %s: %m", o->target, err);
			(void)call_party_failed(b->model, o->leg.party,
						err == ENOSPC ? 503 : 480);
		}
		return;
	case CALL_LEG_PROGRESS:
		err = leg_progress(l, o->leg.scode, o->leg.early_media);
		break;
	case CALL_LEG_ANSWER:
		err = leg_answer(l);
		break;
	case CALL_LEG_REJECT:
		leg_reject(l, o->leg.scode);
		break;
	case CALL_LEG_HANGUP:
		leg_hangup(l);
		break;
	case CALL_LEG_PARTIES:
		(void)b2bua_site_tell(b->model, l, o->leg.party);
		return; /* logged; the call goes on without it */
	case CALL_LEG_REQUEST:
		err = b2bua_site_ask(l, &o->leg, asked_h, b);
		if (err)
			site_ask_failed(b, o->leg.party, err);
		return;
	}

	if (err) {
		log_warn("b2bua", "party %u: SIP failed: %m", o->leg.party,
			 err);
		leg_hangup(l);
		(void)call_party_hangup(b->model, o->leg.party);
	}
}

static enum media_source source_of(enum call_source src)
{
	switch (src) {
	case CALL_SRC_MIX:
		return MEDIA_SRC_MIX;
	case CALL_SRC_MUSIC:
		return MEDIA_SRC_MUSIC;
	case CALL_SRC_SILENCE:
		return MEDIA_SRC_SILENCE;
	default:
		return MEDIA_SRC_NONE;
	}
}

static void media_apply(struct b2bua *b, const struct out *o)
{
	const struct call_media_cmd *cmd = &o->mcmd;
	struct leg *l = leg_find(b, cmd->party);
	enum media_source src = source_of(cmd->source);
	struct player *music = NULL;
	char reason[256];

	if (cmd->remove) {
		leg_bury(b, cmd->party);
		return;
	}
	if (!l)
		return;

	if (src == MEDIA_SRC_MUSIC &&
	    player_cache_get(b->players, &music, o->music, reason,
			     sizeof(reason))) {
		log_warn("b2bua", "party %u hears silence: %s", cmd->party,
			 reason);
		src = MEDIA_SRC_SILENCE;
	}

	/* a consulting or conferenced party's leg changes mix */
	if (media_leg_move(leg_media(l), cmd->connid))
		log_warn("b2bua", "party %u: cannot move to call %016llx",
			 cmd->party, (unsigned long long)cmd->connid);
	media_leg_mode(leg_media(l), cmd->talk, cmd->listen, src, music);
	mem_deref(music);
}

/* Carry out the queued outputs, including those they cause */
static void flush(struct b2bua *b)
{
	struct le *le;

	if (b->flushing)
		return;

	b->flushing = true;
	while ((le = b->outq.head)) {
		struct out *o = le->data;

		list_unlink(le);
		if (o->media)
			media_apply(b, o);
		else
			leg_apply(b, o);
		mem_deref(o);
	}
	b->flushing = false;
}

/* --- what legs report --- */

/* The site an inter-site trunk leads to named itself in its answer: its
 * party's location (the model takes it only for such a party) */
static void site_learn(struct b2bua *b, const struct leg *l)
{
	const char *site = leg_peer_site(l);

	if (site)
		(void)call_party_location(b->model, leg_party(l), site);
}

static void progress_h(struct leg *l, bool early, void *arg)
{
	struct b2bua *b = arg;

	site_learn(b, l);
	(void)call_party_progress(b->model, leg_party(l), early);
	flush(b);
}

static void answered_h(struct leg *l, void *arg)
{
	struct b2bua *b = arg;

	site_learn(b, l);
	(void)call_party_answered(b->model, leg_party(l));
	flush(b);
}

static void failed_h(struct leg *l, uint16_t scode, void *arg)
{
	struct b2bua *b = arg;

	(void)call_party_failed(b->model, leg_party(l), scode);
	flush(b);
}

static void closed_h(struct leg *l, void *arg)
{
	struct b2bua *b = arg;

	(void)call_party_hangup(b->model, leg_party(l));
	flush(b);
}

static void hold_h(struct leg *l, bool hold, void *arg)
{
	struct b2bua *b = arg;

	(void)call_party_hold(b->model, call_leg_party(b->model, leg_party(l)),
			      hold, NULL);
	flush(b);
}

static void info_h(struct leg *l, const struct sip_msg *msg, void *arg)
{
	struct b2bua *b = arg;

	b2bua_site_heard(b->sip, b->model, leg_party(l), msg,
			 b->cfg->music_listen_disconnect);
	flush(b);
}

static const struct leg_h leg_handlers = {progress_h, answered_h, failed_h,
					  closed_h,   hold_h,	  info_h};

struct gone {
	const struct b2bua *b;
	const char *trunk;
	uint32_t *party;
	uint32_t n;
};

static bool through_h(struct le *le, void *arg)
{
	const struct entry *e = le->data;
	struct gone *g = arg;
	const char *trunk = call_party_trunk(g->b->model, e->party);

	if (trunk && !strcmp(trunk, g->trunk))
		g->party[g->n++] = e->party;
	return false;
}

/* The other site went down (peer.c): its parties leave every call here,
 * with the usual events, as if each had hung up; the BYE that goes to
 * the dead site is a formality */
static void site_down_h(const char *trunk, void *arg)
{
	struct b2bua *b = arg;
	struct gone g = {b, trunk, NULL, 0};

	g.party = mem_zalloc((b->nlegs + 1) * sizeof(*g.party), NULL);
	if (!g.party)
		return;
	(void)hash_apply(b->legs, through_h, &g);

	for (uint32_t i = 0; i < g.n; i++) {
		struct leg *l = leg_find(b, g.party[i]);

		log_info("b2bua",
			 "party %u: its site (trunk %s) is down: "
			 "released",
			 g.party[i], trunk);
		if (l)
			leg_hangup(l);
		(void)call_party_hangup(b->model, g.party[i]);
	}

	mem_deref(g.party);
	flush(b);
}

/** A phone stopped sending RTP: it is released, with a BYE */
void b2bua_rtp_timeout(struct b2bua *b, uint32_t party)
{
	struct leg *l = b ? leg_find(b, party) : NULL;

	if (!l)
		return;

	log_info("b2bua", "party %u: no RTP for %u s: released", party,
		 b->cfg->rtp_timeout);
	leg_hangup(l);
	(void)call_party_hangup(b->model, party);
	flush(b);
}

/* --- CTI requests on calls --- */

/**
 * TReleaseCall: the DN's party leaves the call (BYE, or CANCEL / 487)
 *
 * @return 0, ENOENT (no such call) or ENOTCONN (the DN is not in it)
 */
int b2bua_release(struct b2bua *b, uint64_t connid, const char *dn)
{
	uint32_t party;
	int err;

	err = call_party_find(b->model, connid, dn, &party);
	if (err)
		return err;

	err = call_party_release(b->model, party);
	flush(b);
	return err;
}

/**
 * TAnswerCall: ask the DN's ringing phone to answer (NOTIFY Event: talk);
 * EventEstablished follows when it has
 *
 * @return 0, ENOENT / ENOTCONN (no call, DN not in it), EPROTO (the DN
 *         is not ringing), ENOTSUP (its phone cannot be asked)
 */
int b2bua_answer(struct b2bua *b, uint64_t connid, const char *dn)
{
	enum call_party_state st;
	uint32_t party;
	int err;

	err = call_party_find(b->model, connid, dn, &party);
	if (err)
		return err;
	if (call_party_state(b->model, party, &st) || st != PARTY_RINGING)
		return EPROTO;

	err = leg_answer_request(leg_find(b, party));
	return err == ENOTCONN || err == EINVAL ? ENOTSUP : err;
}

/* The request's music, relative to the configuration file's folder, and
 * checked to play: EINVAL (why says why) if it does not */
static int music_path(struct b2bua *b, const char *music, char **pathp,
		      char *why, size_t sz)
{
	struct player *p = NULL;
	char *path = NULL;

	*pathp = NULL;
	if (!music)
		return 0;
	if (music[0] == '/' ? str_dup(&path, music)
			    : re_sdprintf(&path, "%s/%s", b->cfg->dir, music))
		return ENOMEM;
	if (player_cache_get(b->players, &p, path, why, sz)) {
		mem_deref(path);
		return EINVAL;
	}
	mem_deref(p); /* cached: the media command takes it from there */
	*pathp = path;
	return 0;
}

/**
 * THoldCall / TRetrieveCall: the model first (so a refusal changes
 * nothing), then the phone's re-INVITE so its display shows the hold
 *
 * @param music What the others hear; NULL = default-music
 * @param why   Set when the music cannot be played (EINVAL)
 */
int b2bua_hold(struct b2bua *b, uint64_t connid, const char *dn, bool hold,
	       const char *music, char *why, size_t sz)
{
	char *path = NULL;
	uint32_t party;
	int err;

	err = call_party_find(b->model, connid, dn, &party);
	if (err)
		return err;

	err = music_path(b, music, &path, why, sz);
	if (err)
		return err;

	err = call_party_hold(b->model, party, hold, path);
	mem_deref(path);
	if (!err &&
	    leg_hold(leg_find(b, call_party_leg(b->model, party)), hold))
		log_warn("b2bua",
			 "party %u: could not re-INVITE its phone for "
			 "%s",
			 party, hold ? "hold" : "retrieve");
	flush(b);
	return err;
}

/**
 * TListenDisconnect / TListenReconnect on the DN's party of a call. The
 * music is the request's (checked to play), else music-listen-disconnect
 * as configured now; if that one no longer plays, the party hears
 * silence (logged when the media is set): privacy wins over music.
 *
 * @return 0, ENOENT / ENOTCONN (no call, DN not in it), EPROTO, EINVAL,
 *         EALREADY as the model says; why says which
 */
int b2bua_listen(struct b2bua *b, uint64_t connid, const char *dn,
		 const char *alias, bool disconnect, const char *music,
		 char *why, size_t sz)
{
	uint32_t party;
	char *path = NULL;
	int err;

	err = call_party_find(b->model, connid, dn, &party);
	if (err)
		return err;

	if (!disconnect) {
		err = call_listen_reconnect(b->model, party, alias, why, sz);
		flush(b);
		return err;
	}

	err = music_path(b, music, &path, why, sz);
	if (err)
		return err;
	err = call_listen_disconnect(
		b->model, party, alias,
		path ? path : b->cfg->music_listen_disconnect, why, sz);
	mem_deref(path);
	flush(b);
	return err;
}

/* An Extension of this site as a party */
static struct call_endpoint ep_local(const struct b2bua *b, const char *dn)
{
	return (struct call_endpoint){
		.name = dn, .location = b->cfg->location, .moh = true};
}

/* A number behind a trunk. Its switch is this site, unless the trunk
 * leads to another sipserver site: then it is on that site, which the
 * caller's header names and an answer will (the trunk's name stands in
 * until then). */
static const char *trunk_location(const struct b2bua *b,
				  const struct cfg_dn *trunk, const char *site)
{
	if (!trunk->inter_trunk)
		return b->cfg->location;

	return site && site[0] ? site : trunk->name;
}

static struct call_endpoint ep_trunk(const struct b2bua *b, const char *number,
				     const struct cfg_dn *trunk,
				     const char *site)
{
	return (struct call_endpoint){.name = number,
				      .external = true,
				      .trunk = trunk->name,
				      .location =
					      trunk_location(b, trunk, site),
				      .moh = trunk->moh,
				      .site = trunk->inter_trunk};
}

static bool registered(const struct b2bua *b, const char *dn)
{
	return reg_bindings_count(reg_bindings(b->reg), dn, tmr_jiffies()) > 0;
}

/**
 * TMakeCall: call this_dn's phone (asking it to answer by itself), then
 * other_dn (an Extension, or a number through a trunk)
 *
 * @return 0; ENOENT when this_dn is no Extension or other_dn cannot be
 *         dialled; EINVAL when both are the same; ENOTCONN when a phone
 *         needed is not registered (why says which)
 */
/*
 * The party a CTI request dials: a configured Extension with a registered
 * phone, or a number through a trunk. EADDRNOTAVAIL: not configured;
 * EHOSTUNREACH: no registered phone. The endpoint points into r.
 */
static int dialled(struct b2bua *b, const char *number, struct route *r,
		   struct call_endpoint *ep, char *why, size_t sz)
{
	struct pl pl;

	pl_set_str(&pl, number);
	if (route_lookup(r, b->cfg, &pl)) {
		re_snprintf(why, sz,
			    "OtherDN %s is not configured and cannot "
			    "be dialled",
			    number);
		return EADDRNOTAVAIL;
	}
	if (r->kind == ROUTE_EXTENSION && !registered(b, r->dn->name)) {
		re_snprintf(why, sz, "DN %s has no registered phone",
			    r->dn->name);
		return EHOSTUNREACH;
	}

	*ep = r->kind == ROUTE_TRUNK ? ep_trunk(b, r->number, r->dn, NULL)
				     : ep_local(b, r->dn->name);
	return 0;
}

/**
 * TMakeCall: ThisDN's phone first (it answers by itself), then OtherDN
 *
 * @return 0, ENOENT (ThisDN or OtherDN not configured), EINVAL (the same
 *         DN), ENOTCONN (a phone is not registered); why says which
 */
int b2bua_make_call(struct b2bua *b, const char *this_dn, const char *other_dn,
		    char *why, size_t sz)
{
	const struct cfg_dn *dn = cfg_dn_find(b->cfg, this_dn);
	struct call_endpoint a, c;
	struct route r;
	int err;

	if (!dn || dn->type != CFG_DN_EXTENSION) {
		re_snprintf(why, sz, "ThisDN %s is not a configured Extension",
			    this_dn);
		return ENOENT;
	}
	if (0 == strcmp(this_dn, other_dn)) {
		re_snprintf(why, sz, "OtherDN %s is ThisDN", other_dn);
		return EINVAL;
	}
	err = dialled(b, other_dn, &r, &c, why, sz);
	if (err == EADDRNOTAVAIL)
		return ENOENT;
	if (!err && !registered(b, this_dn)) {
		re_snprintf(why, sz, "DN %s has no registered phone", this_dn);
		err = ENOTCONN;
	}
	if (err)
		return err == EHOSTUNREACH ? ENOTCONN : err;

	a = ep_local(b, dn->name);
	err = call_make(b->model, NULL, NULL, &a, &c);
	flush(b);
	return err;
}

/**
 * A conference request on the DN's party of a call
 *
 * @return 0 (consultp set by TInitiateConference), ENOENT / ENOTCONN
 *         (no such call, DN not in it, consult call unknown),
 *         EADDRNOTAVAIL (OtherDN not configured), EHOSTUNREACH (its
 *         phone not registered), EPROTO / ENOSPC (not possible now),
 *         EINVAL (OtherDN not right for it); why says which
 */
int b2bua_conference(struct b2bua *b, const struct call_conf_req *r,
		     uint64_t *consultp, char *why, size_t sz)
{
	struct call_endpoint ep;
	struct route route;
	uint32_t party;
	int err;

	err = call_party_find(b->model, r->connid, r->dn, &party);
	if (err)
		return err;

	if (r->op == CALL_CONF_INITIATE || r->op == CALL_CONF_SINGLE_STEP) {
		err = dialled(b, r->other, &route, &ep, why, sz);
		if (err)
			return err;
	}

	switch (r->op) {
	case CALL_CONF_INITIATE:
		err = call_initiate_conference(b->model, party, &ep, consultp,
					       why, sz);
		break;
	case CALL_CONF_COMPLETE:
		err = call_complete_conference(b->model, party, r->consult, why,
					       sz);
		break;
	case CALL_CONF_RECONNECT:
		err = call_reconnect(b->model, party, r->consult, why, sz);
		break;
	case CALL_CONF_SINGLE_STEP:
		err = call_single_step(b->model, party, &ep, why, sz);
		break;
	case CALL_CONF_DELETE:
		err = call_delete_party(b->model, party, r->other, why, sz);
		break;
	}

	flush(b);
	return err;
}

/* --- a new INVITE --- */

#define refuse(b, msg, scode, reason, ...)                                     \
	sipsrv_refuse((b)->sip, (msg), "b2bua", (scode), (reason), NULL,       \
		      __VA_ARGS__)

struct invite {
	struct call_endpoint caller, callee;
	enum call_type type;
	struct route route;
	char from[65];
	char site[SITE_NAME_MAX + 1]; /**< from another site: its name */
};

/* The trunk a call comes through: an inter-site trunk when the INVITE
 * names its site and comes from that trunk's address, else a plain
 * trunk by address alone; NULL for an Extension (or a refusal) */
static const struct cfg_dn *trunk_of(struct b2bua *b, const struct sip_msg *msg,
				     struct invite *iv, bool *refused)
{
	const struct cfg_dn *trunk;
	int err;

	err = b2bua_site_hdr(msg, iv->site, sizeof(iv->site));
	if (err == EBADMSG) {
		refuse(b, msg, 400, "Bad Request",
		       "%s is not a site name (1-64 printable characters, no "
		       "space)",
		       SITE_HDR);
		*refused = true;
		return NULL;
	}

	trunk = route_trunk_from(b->cfg, &msg->src, !err);
	if (!err && !trunk) {
		refuse(b, msg, 403, "Forbidden",
		       "%s from %j, which is no inter-site trunk's address",
		       SITE_HDR, &msg->src);
		*refused = true;
	}

	return trunk;
}

/* Who calls: a configured Extension, or anyone behind a trunk */
static bool caller_of(struct b2bua *b, const struct sip_msg *msg,
		      struct invite *iv)
{
	bool refused = false;
	const struct cfg_dn *trunk = trunk_of(b, msg, iv, &refused);
	const struct cfg_dn *dn;

	if (refused)
		return false;
	if (trunk) {
		if (!pl_isset(&msg->from.uri.user) ||
		    msg->from.uri.user.l >= sizeof(iv->from)) {
			refuse(b, msg, 400, "Bad Request",
			       "the From header has no usable number");
			return false;
		}
		pl_strcpy(&msg->from.uri.user, iv->from, sizeof(iv->from));
		iv->caller = ep_trunk(b, iv->from, trunk, iv->site);
		iv->type = CALL_INBOUND;
		return true;
	}

	dn = cfg_dn_find_pl(b->cfg, &msg->from.uri.user);
	if (!dn || dn->type != CFG_DN_EXTENSION) {
		refuse(b, msg, 403, "Forbidden",
		       "caller %r is not a configured Extension",
		       &msg->from.uri.user);
		return false;
	}

	if (!reg_authorize(b->reg, msg, dn, true))
		return false; /* challenged or refused */

	iv->caller = ep_local(b, dn->name);
	iv->type = CALL_INTERNAL;
	return true;
}

/* Where to: a registered Extension, or out through a trunk */
static bool callee_of(struct b2bua *b, const struct sip_msg *msg,
		      struct invite *iv)
{
	const struct route *r = &iv->route;

	if (route_lookup(&iv->route, b->cfg, &msg->uri.user)) {
		refuse(b, msg, 404, "Not Found", "number %r is not known here",
		       &msg->uri.user);
		return false;
	}

	if (r->kind == ROUTE_TRUNK) {
		if (iv->caller.external) {
			refuse(b, msg, 403, "Forbidden",
			       "calls from a trunk to a trunk are not routed");
			return false;
		}
		iv->callee = ep_trunk(b, r->number, r->dn, NULL);
		iv->type = CALL_OUTBOUND;
		return true;
	}

	if (!reg_bindings_count(reg_bindings(b->reg), r->dn->name,
				tmr_jiffies())) {
		refuse(b, msg, 480, "Temporarily Unavailable",
		       "DN %s is not registered", r->dn->name);
		return false;
	}

	iv->callee = ep_local(b, r->dn->name);
	return true;
}

static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct b2bua *b = arg;
	struct invite iv;
	struct leg *l = NULL;
	uint32_t a = 0, callee = 0;
	int err;

	memset(&iv, 0, sizeof(iv));
	if (!caller_of(b, msg, &iv) || !callee_of(b, msg, &iv))
		return;

	/* another site learns this one's name from the answers */
	if (leg_incoming(&l, &b->lenv, msg, b->cfg->rtp_timeout,
			 iv.caller.site ? b->site_hdr : NULL))
		return; /* refused, with the reason */

	err = call_originate(b->model, &a, &callee, &iv.caller, &iv.callee,
			     iv.type);
	if (!err)
		err = leg_add(b, a, l);
	if (err) {
		log_error("b2bua", "cannot start a call: %m", err);
		leg_reject(l, 500);
		mem_deref(l); /* never added */
		if (a)
			(void)call_party_hangup(b->model, a);
		flush(b);
		return;
	}


	log_info("b2bua", "call %016llx: %s -> %s (%s)",
		 (unsigned long long)call_connid(call_of_party(b->model, a)),
		 iv.caller.name, iv.callee.name, call_type_name(iv.type));
	leg_attach(l, a, call_connid(call_of_party(b->model, a)));
	flush(b);
}

/* --- the module --- */

static void b2bua_destructor(void *arg)
{
	struct b2bua *b = arg;

	tmr_cancel(&b->gc);
	mem_deref(b->peers);
	list_flush(&b->outq);
	hash_flush(b->legs);
	list_flush(&b->graveyard);
	mem_deref(b->legs);
	mem_deref(b->model);
	mem_deref(b->sock);
	mem_deref((void *)b->cfg);
}

static void settings_apply(struct b2bua *b)
{
	const struct call_settings s = {b->cfg->default_music};

	call_model_settings(b->model, &s);
	re_snprintf(b->site_hdr, sizeof(b->site_hdr), "%s: %s\r\n", SITE_HDR,
		    b->cfg->location);
}

/**
 * Start the B2BUA: take INVITEs on the SIP stack, run calls
 *
 * Must be called before the SIP stack's catch-all request listener is
 * added, so that INVITE, ACK, BYE and re-INVITEs reach the sessions.
 */
int b2bua_alloc(struct b2bua **bp, struct sip *sip, struct reg *reg,
		struct media *media, struct player_cache *players,
		const struct cfg *cfg)
{
	const struct call_env env = {leg_out_h, media_out_h, event_h, uuid_h,
				     NULL};
	struct call_env e = env;
	struct b2bua *b;
	int err;

	if (!bp || !sip || !reg || !media || !players || !cfg)
		return EINVAL;

	b = mem_zalloc(sizeof(*b), b2bua_destructor);
	if (!b)
		return ENOMEM;

	b->sip = sip;
	b->reg = reg;
	b->media = media;
	b->players = players;
	b->cfg = mem_ref((void *)cfg);
	b->lenv = (struct leg_env){sip, NULL, media, &leg_handlers, b};
	e.arg = b;

	/* ConnIDs unique for the server's lifetime: time in the high bits */
	err = call_model_alloc(&b->model, &e,
			       (uint64_t)time(NULL) << 24 | rand_u16());
	err = err ? err : hash_alloc(&b->legs, 256);
	err = err ? err : sipsess_listen(&b->sock, sip, 256, conn_h, b);
	err = err ? err : peer_watch_alloc(&b->peers, sip, cfg, site_down_h, b);
	if (err) {
		mem_deref(b);
		return err;
	}

	b->lenv.sock = b->sock;
	/* RFC 3725 third-party call control: the phones that answer by
	 * themselves on request read one header or the other */
	re_snprintf(b->auto_answer, sizeof(b->auto_answer),
		    "Call-Info: <sip:%j>;answer-after=0\r\n"
		    "Alert-Info: <http://localhost>;info=alert-autoanswer\r\n",
		    &cfg->sip_address);
	settings_apply(b);
	*bp = b;
	return 0;
}

/** Where the call model's CTI events go (the CTI server) */
void b2bua_set_event_handler(struct b2bua *b, b2bua_event_h *h, void *arg)
{
	if (!b)
		return;

	b->eventh = h;
	b->event_arg = arg;
}

void b2bua_cfg_set(struct b2bua *b, const struct cfg *cfg)
{
	if (!b || !cfg)
		return;

	mem_deref((void *)b->cfg);
	b->cfg = mem_ref((void *)cfg);
	settings_apply(b);
	peer_watch_set(b->peers, cfg);
}

/** The call model, for read-only queries (TQueryAddress, TQueryCall) */
const struct call_model *b2bua_model(const struct b2bua *b)
{
	return b ? b->model : NULL;
}

bool b2bua_registered(const struct b2bua *b, const char *dn)
{
	return b && dn && registered(b, dn);
}

void b2bua_stats(const struct b2bua *b, struct b2bua_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!b)
		return;

	st->calls = call_model_count(b->model);
	st->parties = call_model_parties(b->model);
	st->legs = b->nlegs;
}
