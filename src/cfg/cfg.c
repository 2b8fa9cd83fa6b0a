/**
 * @file cfg.c  Loading a configuration file into a snapshot
 *
 * inih does the INI syntax. Two things it does not do are done here, in the
 * line reader we hand it: counting lines (this build of inih gives handlers
 * no line numbers) and seeing section headers (it calls no handler for an
 * empty section, and "[dn:1001]" alone is a complete, valid DN). Every
 * problem is collected, not just the first, so one run of --check-config
 * shows them all.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ini.h>
#include <sndfile.h>
#include <re.h>
#include "log/log.h"
#include "cfg/cfg.h"
#include "cfg/priv.h"

void cfg_problem(struct cfg_parse *p, unsigned line, const char *section,
		 const char *option, const char *fmt, ...)
{
	va_list ap;

	(void)mbuf_printf(p->problems, "%s", p->conf->path);
	if (line)
		(void)mbuf_printf(p->problems, ":%u", line);
	(void)mbuf_printf(p->problems, ": [%s]", section);
	if (option)
		(void)mbuf_printf(p->problems, " %s", option);
	(void)mbuf_printf(p->problems, ": ");

	va_start(ap, fmt);
	(void)mbuf_vprintf(p->problems, fmt, ap);
	va_end(ap);

	(void)mbuf_write_u8(p->problems, '\n');
}

int cfg_path_resolve(char **pathp, const struct cfg *conf, const char *value)
{
	if (value[0] == '/')
		return str_dup(pathp, value);

	return re_sdprintf(pathp, "%s/%s", conf->dir, value);
}

static int audio_check(const char *path, char *reason, size_t sz)
{
	SF_INFO info;
	SNDFILE *sf;

	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	if (!sf) {
		re_snprintf(reason, sz, "\"%s\" is not an audio file: %s", path,
			    sf_strerror(NULL));
		return EINVAL;
	}
	sf_close(sf);

	if (info.frames <= 0 || info.channels < 1 || info.channels > 2) {
		re_snprintf(reason, sz,
			    "\"%s\" has no samples or more than "
			    "two channels",
			    path);
		return EINVAL;
	}

	return 0;
}

static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A folder must hold at least one audio file, and nothing else that is
 * visible: a stray file in a music folder is a mistake to report, not
 * to skip in silence. */
static int folder_check(const char *path, char *reason, size_t sz)
{
	struct dirent **names;
	char *file = NULL;
	int n, err = 0;

	n = scandir(path, &names, visible, alphasort);
	if (n < 0) {
		err = errno;
		re_snprintf(reason, sz, "cannot read folder \"%s\": %m", path,
			    err);
		return err;
	}
	if (n == 0) {
		re_snprintf(reason, sz, "folder \"%s\" holds no audio file",
			    path);
		err = ENOENT;
	}

	for (int i = 0; i < n; i++) {
		if (!err &&
		    !re_sdprintf(&file, "%s/%s", path, names[i]->d_name))
			err = audio_check(file, reason, sz);
		file = mem_deref(file);
		free(names[i]);
	}
	free(names);

	return err;
}

int cfg_music_check(const char *path, char *reason, size_t sz)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		re_snprintf(reason, sz, "cannot read \"%s\": %m", path, errno);
		return errno;
	}
	if (S_ISDIR(st.st_mode))
		return folder_check(path, reason, sz);
	if (access(path, R_OK) < 0) {
		re_snprintf(reason, sz, "cannot read \"%s\": %m", path, errno);
		return errno;
	}

	return audio_check(path, reason, sz);
}

static void tserver_option(struct cfg_parse *p, const char *name,
			   const char *value)
{
	const struct cfg_option *opt = cfg_option_find(name);
	char reason[512];
	size_t i;

	if (!opt) {
		cfg_problem(p, p->line, "TServer", name, "unknown option");
		return;
	}

	i = (size_t)(opt - cfg_options);
	if (p->opt_lines[i]) {
		cfg_problem(p, p->line, "TServer", name,
			    "set twice (first on line %u)", p->opt_lines[i]);
		return;
	}
	p->opt_lines[i] = p->line;

	if (cfg_option_parse(p, opt, value, reason, sizeof(reason)))
		cfg_problem(p, p->line, "TServer", name, "%s", reason);
}

static int line_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct cfg_parse *p = user;

	if (p->long_line == p->line)
		return 1; /* reported by the reader; value is cut short */

	if (0 == strcmp(section, "TServer"))
		tserver_option(p, name, value);
	else if (p->dn)
		cfg_dn_option(p, name, value);
	else if (!section[0])
		cfg_problem(p, p->line, "", name, "option outside any section");

	/* unknown sections were reported once, at their header */
	return 1;
}

static void section_begin(struct cfg_parse *p, const char *line)
{
	const char *end = strchr(line, ']');
	size_t len;

	if (!end)
		return; /* inih reports the syntax error */

	len = MIN((size_t)(end - line - 1), sizeof(p->section) - 1);
	memcpy(p->section, line + 1, len);
	p->section[len] = '\0';
	p->dn = NULL;

	if (0 == strcmp(p->section, "TServer")) {
		if (!p->tserver_line)
			p->tserver_line = p->line;
	} else if (0 == strncmp(p->section, "dn:", 3)) {
		(void)cfg_dn_section(p, p->section + 3);
	} else {
		cfg_problem(p, p->line, p->section, NULL,
			    "unknown section (known: [TServer], [dn:NAME])");
	}
}

/* One line of the file, however long, with its real length: fgets ends
 * the string at a NUL byte, so the rest of that line was taken for a line
 * too long, which swallowed the next line and misnumbered all after it
 * (seen while writing fuzz/cfg_file.c; test_conf checks it) */
static ssize_t line_get(struct cfg_parse *p)
{
	ssize_t n = getline(&p->buf, &p->bufsz, p->f);

	if (n > 0)
		++p->line;

	return n;
}

static char *line_reader(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	ssize_t n = line_get(p);

	if (n <= 0 || num < 2)
		return NULL;

	if (memchr(p->buf, '\0', (size_t)n)) {
		cfg_problem(p, p->line, p->section, NULL,
			    "NUL byte in the line");
		p->buf[0] = '\0';
		n = 0;
	}
	/* a line longer than inih's buffer: cut short, then ignored */
	if (n > num - 1) {
		cfg_problem(p, p->line, p->section, NULL,
			    "line longer than %d characters", num - 2);
		p->long_line = p->line;
		n = num - 1;
	}
	memcpy(str, p->buf, (size_t)n);
	str[n] = '\0';

	if (str[0] == ' ' || str[0] == '\t') {
		if (str[strspn(str, " \t\r\n")] != '\0') {
			cfg_problem(p, p->line, p->section, NULL,
				    "indented line: continuation lines are "
				    "not supported");
			str[0] = '\0';
		}
	} else if (str[0] == '[') {
		section_begin(p, str);
	}

	return str;
}

static void apply_defaults(struct cfg_parse *p)
{
	char reason[512];
	long cores;

	for (size_t i = 0; i < cfg_option_count; i++) {
		const struct cfg_option *opt = &cfg_options[i];

		if (p->opt_lines[i])
			continue;

		if (!opt->def) {
			/* media-threads: one per core */
			cores = sysconf(_SC_NPROCESSORS_ONLN);
			p->conf->media_threads =
				(uint32_t)MAX(1, MIN(cores, 64));
			continue;
		}

		if (cfg_option_parse(p, opt, opt->def, reason, sizeof(reason)))
			cfg_problem(p, 0, "TServer", opt->name,
				    "default \"%s\": %s", opt->def, reason);
	}
}

static void cfg_destructor(void *arg)
{
	struct cfg *conf = arg;

	for (size_t i = 0; i < cfg_option_count; i++)
		cfg_option_free(conf, &cfg_options[i]);

	hash_clear(conf->dnh); /* the DNs are owned by dnl */
	list_flush(&conf->dnl);
	mem_deref(conf->dnh);
	mem_deref(conf->path);
	mem_deref(conf->dir);
}

static int cfg_alloc(struct cfg **confp, const char *path)
{
	struct cfg *conf;
	const char *slash;
	int err;

	conf = mem_zalloc(sizeof(*conf), cfg_destructor);
	if (!conf)
		return ENOMEM;

	slash = strrchr(path, '/');
	err = str_dup(&conf->path, path);
	if (!slash)
		err |= str_dup(&conf->dir, ".");
	else if (slash == path)
		err |= str_dup(&conf->dir, "/");
	else
		err |= re_sdprintf(&conf->dir, "%b", path,
				   (size_t)(slash - path));
	err |= hash_alloc(&conf->dnh, 64);
	if (err) {
		mem_deref(conf);
		return ENOMEM;
	}

	*confp = conf;
	return 0;
}

static int parse_file(struct cfg_parse *p)
{
	int ret;

	p->f = fopen(p->conf->path, "r");
	if (!p->f) {
		(void)mbuf_printf(p->problems, "%s: cannot open: %m\n",
				  p->conf->path, errno);
		return errno;
	}

	ret = ini_parse_stream(line_reader, p, line_handler, p);
	fclose(p->f);
	p->f = NULL;
	free(p->buf);
	p->buf = NULL;

	if (ret > 0)
		cfg_problem(p, (unsigned)ret, p->section, NULL,
			    "syntax error: expected [section], "
			    "name = value or a comment");
	else if (ret < 0)
		(void)mbuf_printf(p->problems,
				  "%s: cannot parse: out of "
				  "memory\n",
				  p->conf->path);

	return 0;
}

/**
 * Load a configuration file
 *
 * @param confp     New snapshot, set only when the file is valid
 * @param path      File to read; relative paths in it resolve from its folder
 * @param problemsp Optional: every problem found, one per line, NUL-ended
 *
 * @return 0 when valid, EINVAL when the file has problems, or errno
 */
int cfg_load(struct cfg **confp, const char *path, char **problemsp)
{
	struct cfg_parse p;
	int err;

	if (!confp || !path)
		return EINVAL;

	memset(&p, 0, sizeof(p));
	p.problems = mbuf_alloc(256);
	p.opt_lines = mem_zalloc(cfg_option_count * sizeof(unsigned), NULL);
	err = (p.problems && p.opt_lines) ? cfg_alloc(&p.conf, path) : ENOMEM;
	if (err)
		goto out;

	err = parse_file(&p);
	if (!err) {
		apply_defaults(&p);
		cfg_dn_check(&p);
		cfg_check(&p);
	}

	if (!err && p.problems->end)
		err = EINVAL;

	if (problemsp && p.problems->end) {
		p.problems->pos = 0;
		(void)mbuf_strdup(p.problems, problemsp, p.problems->end);
	}

out:
	if (err)
		mem_deref(p.conf);
	else
		*confp = p.conf;
	mem_deref(p.problems);
	mem_deref(p.opt_lines);

	return err;
}

static bool dn_cmp(struct le *le, void *arg)
{
	const struct cfg_dn *dn = le->data;

	return 0 == pl_strcmp(arg, dn->name);
}

const struct cfg_dn *cfg_dn_find_pl(const struct cfg *conf,
				    const struct pl *name)
{
	struct le *le;

	if (!conf || !pl_isset(name))
		return NULL;

	le = hash_lookup(conf->dnh, hash_joaat_pl(name), dn_cmp, (void *)name);

	return le ? le->data : NULL;
}

const struct cfg_dn *cfg_dn_find(const struct cfg *conf, const char *name)
{
	struct pl pl;

	if (!name)
		return NULL;

	pl_set_str(&pl, name);
	return cfg_dn_find_pl(conf, &pl);
}

const char *cfg_dn_type_name(enum cfg_dn_type type)
{
	return type == CFG_DN_TRUNK ? "Trunk" : "Extension";
}
