/**
 * @file metrics.c  /metrics: the whole server as Prometheus families
 *
 * Every family and what it means is listed in docs/operations.md; this
 * file and that list change together. Names are sipserver_*, counters end
 * in _total, times are in seconds, and every label takes a bounded set of
 * values (stats.h says how), so a scrape stays the same size whatever
 * clients send. Counters a scrape has never seen move are left out where
 * their labels are many (responses by code, CTI errors); the rest are
 * always there, so rate() has a start.
 */
#include <stdio.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include "stats/stats.h"
#include "call/call.h"
#include "call/census.h"
#include "tlib/tsrv.h"
#include "media/media.h"
#include "http/sample.h"

#define ML(...) ((const struct metrics_label[]){__VA_ARGS__})
#define MN(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const dirs[STATS_DIRS] = {"in", "out"};

/* A family of one sample without labels */
static int single(struct mbuf *mb, const char *name, const char *type,
		  const char *help, uint64_t v)
{
	return metrics_family(mb, name, type, help) |
	       metrics_u64(mb, name, NULL, 0, v);
}

static int life(struct mbuf *mb, const struct httpd_sample *s)
{
	const struct stats_life *l = s->life;
	const struct stats_counters *c = s->ctr;
	int err;

	err = metrics_family(mb, "sipserver_build_info", "gauge",
			     "Always 1; the version of sipserver running");
	err |= metrics_u64(mb, "sipserver_build_info",
			   ML({"version", SIPSERVER_VERSION}), 1, 1);
	err |= single(mb, "sipserver_start_time_seconds", "gauge",
		      "When sipserver started, Unix time", l->started);
	err |= metrics_family(mb, "sipserver_config_reloads_total", "counter",
			      "Configuration reloads (SIGHUP), by result: ok "
			      "(swapped in) or failed (rejected, the running "
			      "configuration kept)");
	err |= metrics_u64(mb, "sipserver_config_reloads_total",
			   ML({"result", "ok"}), 1,
			   atomic_load(&c->reloads_ok));
	err |= metrics_u64(mb, "sipserver_config_reloads_total",
			   ML({"result", "failed"}), 1,
			   atomic_load(&c->reloads_failed));
	err |= single(mb, "sipserver_config_last_reload_successful", "gauge",
		      "0 if the last reload was rejected, else 1",
		      !l->reload_failed);
	err |= single(mb,
		      "sipserver_config_last_reload_success_timestamp_seconds",
		      "gauge",
		      "When the running configuration was loaded (at start "
		      "or by the last successful reload), Unix time",
		      l->loaded);
	return err;
}

static int sip_requests(struct mbuf *mb, const struct stats_counters *c)
{
	const char *name = "sipserver_sip_requests_total";
	int err;

	err = metrics_family(mb, name, "counter",
			     "SIP requests on the wire (retransmissions "
			     "included), by direction and method");
	for (size_t d = 0; d < STATS_DIRS; d++) {
		for (size_t m = 0; m < STATS_SIP_METHODS; m++)
			err |= metrics_u64(
				mb, name,
				ML({"direction", dirs[d]},
				   {"method", stats_sip_method_name(m)}),
				2, atomic_load(&c->sip_req[d][m]));
	}

	return err;
}

static int sip_responses(struct mbuf *mb, const struct stats_counters *c)
{
	const char *name = "sipserver_sip_responses_total";
	char code[8];
	int err;

	err = metrics_family(mb, name, "counter",
			     "SIP responses on the wire (retransmissions "
			     "included), by direction, method (of CSeq) and "
			     "status code");
	for (size_t d = 0; d < STATS_DIRS; d++) {
		for (size_t m = 0; m < STATS_SIP_METHODS; m++) {
			for (size_t k = 0; k < STATS_SIP_CODES; k++) {
				uint64_t v = atomic_load(&c->sip_resp[d][m][k]);

				if (!v)
					continue;
				if (k == STATS_SIP_CODES - 1)
					str_ncpy(code, "other", sizeof(code));
				else
					(void)snprintf(code, sizeof(code),
						       "%zu", k + 100);
				err |= metrics_u64(
					mb, name,
					ML({"direction", dirs[d]},
					   {"method", stats_sip_method_name(m)},
					   {"code", code}),
					3, v);
			}
		}
	}

	return err;
}

static int registrations(struct mbuf *mb, const struct httpd_sample *s)
{
	return single(mb, "sipserver_registrations", "gauge",
		      "Extension DNs with at least one registered contact",
		      s->registered) |
	       single(mb, "sipserver_registration_contacts", "gauge",
		      "Registered contacts (bindings) of all DNs",
		      s->contacts) |
	       single(mb, "sipserver_extensions", "gauge",
		      "Extension DNs configured", s->extensions);
}

static int calls(struct mbuf *mb, const struct httpd_sample *s)
{
	const struct call_census *c = &s->calls;
	int err;

	err = metrics_family(mb, "sipserver_calls", "gauge",
			     "Calls now, by CallType");
	for (int t = 0; t < CALL_TYPES; t++)
		err |= metrics_u64(
			mb, "sipserver_calls",
			ML({"type", call_type_name((enum call_type)t)}), 1,
			c->types[t]);
	err |= single(mb, "sipserver_conferences", "gauge",
		      "Calls with three or more joined parties",
		      c->conferences);
	err |= metrics_family(mb, "sipserver_parties", "gauge",
			      "Parties of calls now, by state (a party is "
			      "counted in each call it is in)");
	for (int p = 0; p < PARTY_RELEASED; p++)
		err |= metrics_u64(
			mb, "sipserver_parties",
			ML({"state",
			    call_party_state_name((enum call_party_state)p)}),
			1, c->parties[p]);
	err |= single(mb, "sipserver_remote_parties", "gauge",
		      "Parties on other sites in calls with this one, as "
		      "they reported them",
		      c->remote);
	return err;
}

static int listen_changes(struct mbuf *mb, const struct stats_counters *c)
{
	const char *rn = "sipserver_listen_reconnects_total";
	int err;

	err = single(mb, "sipserver_listen_disconnects_total", "counter",
		     "Parties taken out of a conference's conversation "
		     "(TListenDisconnect)",
		     atomic_load(&c->listen_disconnects));
	err |= metrics_family(mb, rn, "counter",
			      "Parties put back into the conversation, by "
			      "reason: request (TListenReconnect) or "
			      "conference_released (the conference fell to one "
			      "active party)");
	err |= metrics_u64(
		mb, rn, ML({"reason", "request"}), 1,
		atomic_load(&c->listen_reconnects[STATS_RECONNECT_REQUEST]));
	err |= metrics_u64(
		mb, rn, ML({"reason", "conference_released"}), 1,
		atomic_load(&c->listen_reconnects[STATS_RECONNECT_RELEASED]));
	return err;
}

static int cti_errors(struct mbuf *mb, const struct stats_counters *c)
{
	const char *name = "sipserver_cti_errors_total";
	char code[8];
	int err;

	err = metrics_family(mb, name, "counter",
			     "EventErrors sent to CTI clients, by request and "
			     "ErrorCode (request other: a line that did not "
			     "decode, or an unknown request)");
	for (size_t r = 0; r < STATS_CTI_REQUESTS; r++) {
		for (size_t k = 0; k < STATS_CTI_CODES; k++) {
			uint64_t v = atomic_load(&c->cti_err[r][k]);
			int n = stats_cti_code(k);

			if (!v)
				continue;
			if (n)
				(void)snprintf(code, sizeof(code), "%d", n);
			else
				str_ncpy(code, "other", sizeof(code));
			err |= metrics_u64(
				mb, name,
				ML({"request", stats_cti_request_name(r)},
				   {"code", code}),
				2, v);
		}
	}

	return err;
}

static int cti(struct mbuf *mb, const struct httpd_sample *s)
{
	const char *name = "sipserver_cti_requests_total";
	int err;

	err = single(mb, "sipserver_cti_clients", "gauge",
		     "CTI (tlib/1) clients connected, TCP and WebSocket",
		     s->cti.clients);
	err |= single(mb, "sipserver_cti_registrations", "gauge",
		      "DN registrations of CTI clients (TRegisterAddress)",
		      s->cti.registrations);
	err |= single(mb, "sipserver_cti_events_total", "counter",
		      "Events sent to CTI clients", s->cti.events);
	err |= metrics_family(mb, name, "counter",
			      "CTI request lines received, by request (other: "
			      "a line that did not decode, or an unknown "
			      "request)");
	for (size_t r = 0; r < STATS_CTI_REQUESTS; r++)
		err |= metrics_u64(mb, name,
				   ML({"request", stats_cti_request_name(r)}),
				   1, atomic_load(&s->ctr->cti_req[r]));
	err |= cti_errors(mb, s->ctr);
	return err;
}

/* One family with one sample per worker */
typedef uint64_t(worker_u64)(const struct media_worker_stats *w);

static int per_worker(struct mbuf *mb, const struct httpd_sample *s,
		      const char *name, const char *type, const char *help,
		      worker_u64 *get)
{
	char idx[12];
	int err = metrics_family(mb, name, type, help);

	for (unsigned i = 0; i < s->nworkers; i++) {
		(void)snprintf(idx, sizeof(idx), "%u", i);
		err |= metrics_u64(mb, name, ML({"worker", idx}), 1,
				   get(&s->workers[i]));
	}

	return err;
}

#define GETTER(field)                                                          \
	static uint64_t get_##field(const struct media_worker_stats *w)        \
	{                                                                      \
		return w->field;                                               \
	}

GETTER(frames)
GETTER(late)
GETTER(legs)
GETTER(mixes)
GETTER(rx)
GETTER(tx)
GETTER(rx_lost)
GETTER(rx_late)

static const struct {
	const char *name, *type, *help;
	worker_u64 *get;
} worker_families[] = {
	{"sipserver_media_frames_total", "counter",
	 "20 ms frames a media worker ran", get_frames},
	{"sipserver_media_frames_late_total", "counter",
	 "Frames that started more than 10 ms after their time", get_late},
	{"sipserver_media_legs", "gauge", "RTP legs in a media worker's mixes",
	 get_legs},
	{"sipserver_media_mixes", "gauge", "Calls mixed by a media worker",
	 get_mixes},
	{"sipserver_rtp_packets_received_total", "counter",
	 "RTP packets taken from phones (negotiated source, usable)", get_rx},
	{"sipserver_rtp_packets_sent_total", "counter",
	 "RTP packets sent to phones", get_tx},
	{"sipserver_rtp_packets_lost_total", "counter",
	 "RTP sequence numbers that did not come within 64 packets of the "
	 "highest",
	 get_rx_lost},
	{"sipserver_rtp_packets_late_total", "counter",
	 "RTP audio packets that came after their playout time (dropped)",
	 get_rx_late},
};

static int dropped(struct mbuf *mb, const struct httpd_sample *s)
{
	const char *name = "sipserver_rtp_packets_dropped_total";
	char idx[12];
	int err;

	err = metrics_family(mb, name, "counter",
			     "RTP packets dropped on arrival, by reason: "
			     "foreign (not from the negotiated address) or "
			     "invalid (not RTP, or a payload type not "
			     "negotiated)");
	for (unsigned i = 0; i < s->nworkers; i++) {
		(void)snprintf(idx, sizeof(idx), "%u", i);
		err |= metrics_u64(mb, name,
				   ML({"worker", idx}, {"reason", "foreign"}),
				   2, s->workers[i].rx_foreign);
		err |= metrics_u64(mb, name,
				   ML({"worker", idx}, {"reason", "invalid"}),
				   2, s->workers[i].rx_bad);
	}

	return err;
}

static int frame_times(struct mbuf *mb, const struct httpd_sample *s)
{
	const char *hn = "sipserver_media_frame_duration_seconds";
	const char *bn = "sipserver_media_busy_ratio";
	char idx[12];
	int err;

	err = metrics_family(mb, hn, "histogram",
			     "Time a media worker took for one 20 ms frame "
			     "(read, mix, send every leg)");
	for (unsigned i = 0; i < s->nworkers; i++) {
		const struct media_worker_stats *w = &s->workers[i];

		(void)snprintf(idx, sizeof(idx), "%u", i);
		err |= metrics_histogram(mb, hn, ML({"worker", idx}), 1,
					 media_frame_bounds, w->hist,
					 MEDIA_FRAME_BUCKETS, w->busy / 1e9);
	}

	err |= metrics_family(mb, bn, "gauge",
			      "Share of the last second a media worker spent "
			      "in frames (1: no time left)");
	for (unsigned i = 0; i < s->nworkers; i++) {
		(void)snprintf(idx, sizeof(idx), "%u", i);
		err |= metrics_f64(mb, bn, ML({"worker", idx}), 1,
				   s->workers[i].load);
	}

	return err;
}

static int media(struct mbuf *mb, const struct httpd_sample *s)
{
	uint64_t music = 0;
	int err;

	err = single(mb, "sipserver_media_threads", "gauge",
		     "Media worker threads (media-threads)", s->nworkers);
	err |= single(mb, "sipserver_rtp_legs", "gauge",
		      "RTP port pairs open (a party's media)", s->rtp_legs);
	for (size_t f = 0; f < MN(worker_families); f++)
		err |= per_worker(
			mb, s, worker_families[f].name, worker_families[f].type,
			worker_families[f].help, worker_families[f].get);
	err |= dropped(mb, s);
	err |= frame_times(mb, s);

	for (unsigned i = 0; i < s->nworkers; i++)
		music += s->workers[i].music;
	err |= single(mb, "sipserver_music_streams", "gauge",
		      "Parties hearing music now (held, or listen-"
		      "disconnected)",
		      music);
	err |= single(mb, "sipserver_music_files", "gauge",
		      "Music files or folders decoded and cached",
		      s->music_files);
	return err;
}

/** The whole page; the sample's every pointer must be set */
int httpd_metrics_render(struct mbuf *mb, const struct httpd_sample *s)
{
	int err;

	if (!mb || !s || !s->life || !s->ctr)
		return EINVAL;

	err = life(mb, s);
	err |= sip_requests(mb, s->ctr);
	err |= sip_responses(mb, s->ctr);
	err |= registrations(mb, s);
	err |= calls(mb, s);
	err |= listen_changes(mb, s->ctr);
	err |= cti(mb, s);
	err |= media(mb, s);
	return err ? ENOMEM : 0;
}
