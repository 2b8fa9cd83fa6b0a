/**
 * @file cfg_file.c  Fuzz target: the INI file into a configuration snapshot
 *
 * cfg_load reads a path (inih wants a stream, and relative paths in the
 * file resolve from its folder), so each input is written to a file in a
 * private folder made once. That folder holds a tiny music loop at the
 * default music/on_hold, so a valid file loads all the way to a snapshot,
 * and then meets what a SIGHUP does with it: the diff against the running
 * snapshot (a fixed one, loaded once, so every input runs alone) and the
 * restart-only options kept. Inputs run with stdin at /dev/null (run.sh):
 * a music path may name any file, /dev/stdin too.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sndfile.h>
#include <re.h>
#include "cfg/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char path[96];
static struct cfg *running; /* made once, never changed */

static void changed(const char *option, const char *oldval, const char *newval,
		    bool restart, void *arg)
{
	(void)option;
	(void)oldval;
	(void)newval;
	(void)restart;
	(void)arg;
}

/* One second of silence: the smallest file the music check takes */
static int music_make(void)
{
	SF_INFO info = {.samplerate = 8000,
			.channels = 1,
			.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
	static const short pcm[8000];
	char file[128];
	SNDFILE *sf;

	snprintf(file, sizeof(file), "%s/music", dir);
	if (mkdir(file, 0700))
		return -1;
	snprintf(file, sizeof(file), "%s/music/on_hold", dir);
	if (mkdir(file, 0700))
		return -1;
	snprintf(file, sizeof(file), "%s/music/on_hold/loop.wav", dir);
	sf = sf_open(file, SFM_WRITE, &info);
	if (!sf)
		return -1;
	sf_write_short(sf, pcm, 8000);
	sf_close(sf);
	return 0;
}

static void file_write(const void *data, size_t size)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
}

/* The folder goes when the fuzzer exits (libFuzzer ends by exit()) */
static void cleanup(void)
{
	static const char *const files[] = {"sipserver.conf",
					    "music/on_hold/loop.wav",
					    "music/on_hold", "music", ""};
	char file[128];

	mem_deref(running);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
		(void)remove(file);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char base[] = "[TServer]\nsip-port = 5070\n"
				   "[dn:1001]\n[dn:1002]\npassword = x\n";

	(void)argc;
	(void)argv;

	snprintf(dir, sizeof(dir), "/tmp/fuzz-cfg-XXXXXX");
	if (!mkdtemp(dir) || music_make())
		abort();
	snprintf(path, sizeof(path), "%s/sipserver.conf", dir);

	file_write(base, sizeof(base) - 1);
	if (cfg_load(&running, path, NULL))
		abort();
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg *conf = NULL;
	char *problems = NULL;

	file_write(data, size);
	if (!cfg_load(&conf, path, &problems)) {
		(void)cfg_diff(running, conf, changed, NULL);
		(void)cfg_diff(conf, running, changed, NULL);
		cfg_keep_restart_options(conf, running);
		mem_deref(conf);
	}

	mem_deref(problems);
	return 0;
}
