/**
 * @file main.c  sipserver's entry point: options, then app_run
 */
#include <getopt.h>
#include <stdio.h>
#include <re.h>
#include "app/app.h"

#define DEFAULT_CONF "etc/sipserver.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sipserver [-c FILE]\n"
		"       sipserver --check-config FILE\n"
		"\n"
		"SIP call-control server for contact centres.\n"
		"\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"      --check-config FILE\n"
		"                        print the file's problems; exit 0 if "
		"valid, 2 if not\n"
		"  -h, --help            this text\n"
		"  -V, --version         version\n"
		"\n"
		"Signals: SIGHUP reloads the file, SIGINT/SIGTERM stop.\n"
		"Exit status: 0 stopped cleanly, 1 start-up failed, "
		"2 invalid configuration.\n",
		DEFAULT_CONF);
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *cfg_path = DEFAULT_CONF, *check = NULL;
	int c, status;

	while ((c = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'C':
			check = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("sipserver %s\n", SIPSERVER_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sipserver: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (libre_init())
		return 1;

	status = check ? app_check_config(check) : app_run(cfg_path);

	libre_close();
	return status;
}
