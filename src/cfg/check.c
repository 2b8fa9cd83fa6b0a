/**
 * @file check.c  Checks that span several [TServer] options
 *
 * Each option is valid alone by the time these run; these catch the
 * combinations that would only fail later at bind time or mid-call: two
 * listeners on one port, an RTP range that cannot hold a call, TLS without
 * a certificate.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "cfg/cfg.h"
#include "cfg/priv.h"

static unsigned opt_line(const struct cfg_parse *p, const char *name)
{
	const struct cfg_option *opt = cfg_option_find(name);

	return opt ? p->opt_lines[opt - cfg_options] : 0;
}

struct tcp_port {
	const char *name;
	uint16_t port;
};

static void ports_unique(struct cfg_parse *p)
{
	const struct cfg *c = p->conf;
	const struct tcp_port ports[] = {
		{"sip-port", c->sip_port},
		{"tlib-port", c->tlib_port},
		{"http-port", c->http_port},
		{"sip-tls-port", c->sip_tls_port},
		{"tlib-tls-port", c->tlib_tls_port},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		for (size_t j = 0; j < i; j++) {
			if (!ports[i].port || ports[i].port != ports[j].port)
				continue;
			cfg_problem(p, opt_line(p, ports[i].name), "TServer",
				    ports[i].name, "port %u is also %s",
				    ports[i].port, ports[j].name);
		}
	}
}

static void rtp_range(struct cfg_parse *p)
{
	const struct cfg *c = p->conf;

	if (c->rtp_port_min >= c->rtp_port_max)
		cfg_problem(p, opt_line(p, "rtp-port-max"), "TServer",
			    "rtp-port-max", "%u is not above rtp-port-min %u",
			    c->rtp_port_max, c->rtp_port_min);
	else if (c->sip_port >= c->rtp_port_min &&
		 c->sip_port <= c->rtp_port_max)
		cfg_problem(p, opt_line(p, "sip-port"), "TServer", "sip-port",
			    "%u is inside the RTP range %u..%u", c->sip_port,
			    c->rtp_port_min, c->rtp_port_max);
}

/* The SIP address goes into SDP and Contact headers: phones must be able
 * to send to it, so "any" will not do. */
static void sip_address(struct cfg_parse *p)
{
	if (sa_is_any(&p->conf->sip_address))
		cfg_problem(p, opt_line(p, "sip-address"), "TServer",
			    "sip-address",
			    "%j is a wildcard; give the "
			    "address phones send to",
			    &p->conf->sip_address);
}

/* Load it as the listener will, so a bad file fails here, not at bind. */
static void tls_load(struct cfg_parse *p, unsigned line)
{
	struct tls *tls = NULL;
	int err;

	err = tls_alloc(&tls, TLS_METHOD_SSLV23, p->conf->tls_certificate,
			NULL);
	if (err)
		cfg_problem(p, line, "TServer", "tls-certificate",
			    "\"%s\" does not hold a PEM certificate and its "
			    "private key",
			    p->conf->tls_certificate);
	mem_deref(tls);
}

static void tls_check(struct cfg_parse *p)
{
	const struct cfg *c = p->conf;
	unsigned line = opt_line(p, "tls-certificate");

	if (!c->sip_tls_port && !c->tlib_tls_port)
		return;

	if (!c->tls_certificate)
		cfg_problem(p,
			    opt_line(p, c->sip_tls_port ? "sip-tls-port"
							: "tlib-tls-port"),
			    "TServer", "tls-certificate",
			    "is needed when a TLS port is set");
	else if (access(c->tls_certificate, R_OK) < 0)
		cfg_problem(p, line, "TServer", "tls-certificate",
			    "cannot read \"%s\": %m", c->tls_certificate,
			    errno);
	else
		tls_load(p, line);
}

void cfg_check(struct cfg_parse *p)
{
	ports_unique(p);
	rtp_range(p);
	sip_address(p);
	tls_check(p);
}
