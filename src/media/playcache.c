/**
 * @file playcache.c  One loaded player per music path, shared by all
 *
 * Every held party playing the same path gets a reference to the same
 * player. A get checks the path's signature first (a stat, or one per
 * file of a folder) and reloads only if it changed, so an operator can
 * replace the music without a restart and the next hold plays it;
 * parties already listening keep the copy they hold until they let go.
 * Unreferenced entries stay (a reload costs a decode on the control
 * thread) until player_cache_prune, which a configuration reload calls.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "media/codec.h"
#include "media/player.h"

/** What must not change for a loaded copy to stay valid */
struct sig {
	struct timespec mtime; /**< the file's, or a folder's newest file's */
	struct timespec dtime; /**< the folder's own: files added, renamed */
	uint64_t size;	       /**< the file's, or the folder's files' sum */
	uint32_t files;
};

struct entry {
	struct le le;
	char *path;
	struct sig sig;
	struct player *player;
};

struct player_cache {
	struct list entl;
};

static void entry_destructor(void *arg)
{
	struct entry *e = arg;

	list_unlink(&e->le);
	mem_deref(e->player);
	mem_deref(e->path);
}

static void cache_destructor(void *arg)
{
	struct player_cache *c = arg;

	list_flush(&c->entl);
}

int player_cache_alloc(struct player_cache **cp)
{
	struct player_cache *c;

	if (!cp)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), cache_destructor);
	if (!c)
		return ENOMEM;

	list_init(&c->entl);
	*cp = c;
	return 0;
}

static bool ts_newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec ? a->tv_sec > b->tv_sec
				      : a->tv_nsec > b->tv_nsec;
}

static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void sig_add(struct sig *sig, const struct stat *st)
{
	if (ts_newer(&st->st_mtim, &sig->mtime))
		sig->mtime = st->st_mtim;
	sig->size += (uint64_t)st->st_size;
	++sig->files;
}

static int folder_sig(struct sig *sig, const char *path)
{
	struct dirent **names;
	char *file = NULL;
	struct stat st;
	int n, err = 0;

	n = scandir(path, &names, visible, alphasort);
	if (n < 0)
		return errno;

	for (int i = 0; i < n; i++) {
		if (!err && re_sdprintf(&file, "%s/%s", path, names[i]->d_name))
			err = ENOMEM;
		if (!err && stat(file, &st) == 0)
			sig_add(sig, &st);
		file = mem_deref(file);
		free(names[i]);
	}
	free(names);

	return err;
}

static int sig_get(struct sig *sig, const char *path)
{
	struct stat st;

	memset(sig, 0, sizeof(*sig));
	if (stat(path, &st) < 0)
		return errno;

	if (!S_ISDIR(st.st_mode)) {
		sig_add(sig, &st);
		return 0;
	}

	sig->dtime = st.st_mtim;
	return folder_sig(sig, path);
}

static bool sig_equal(const struct sig *a, const struct sig *b)
{
	return a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->dtime.tv_sec == b->dtime.tv_sec &&
	       a->dtime.tv_nsec == b->dtime.tv_nsec && a->size == b->size &&
	       a->files == b->files;
}

static struct entry *entry_find(const struct player_cache *c, const char *path)
{
	for (struct le *le = c->entl.head; le; le = le->next) {
		struct entry *e = le->data;

		if (0 == strcmp(e->path, path))
			return e;
	}

	return NULL;
}

static struct entry *entry_add(struct player_cache *c, const char *path)
{
	struct entry *e = mem_zalloc(sizeof(*e), entry_destructor);

	if (!e || str_dup(&e->path, path))
		return mem_deref(e);

	list_append(&c->entl, &e->le, e);
	return e;
}

/**
 * A new reference to the player of path, loaded now if it is not in the
 * cache or its files changed since. If a reload fails the error is
 * returned and the old copy stays for those who hold it.
 */
int player_cache_get(struct player_cache *c, struct player **pp,
		     const char *path, char *reason, size_t sz)
{
	struct player *p = NULL;
	struct entry *e;
	struct sig sig;
	int err;

	if (!c || !pp || !path)
		return EINVAL;

	/* the signature is taken before loading: a file changing while
	 * we read it is then reloaded at the next get */
	err = sig_get(&sig, path);
	e = entry_find(c, path);
	if (!err && e && sig_equal(&sig, &e->sig)) {
		*pp = mem_ref(e->player);
		return 0;
	}

	err = player_load(&p, path, reason, sz);
	if (err)
		return err;

	if (!e)
		e = entry_add(c, path);
	if (!e) {
		mem_deref(p);
		return ENOMEM;
	}

	mem_deref(e->player);
	e->player = p;
	e->sig = sig;
	*pp = mem_ref(p);
	return 0;
}

/** Music paths decoded and held (for the operator's pages) */
uint32_t player_cache_count(const struct player_cache *c)
{
	return c ? list_count(&c->entl) : 0;
}

/** Drop the players nobody but the cache holds; returns how many */
uint32_t player_cache_prune(struct player_cache *c)
{
	uint32_t n = 0;
	struct le *le;

	if (!c)
		return 0;

	le = c->entl.head;
	while (le) {
		struct entry *e = le->data;

		le = le->next;
		if (mem_nrefs(e->player) == 1) {
			mem_deref(e);
			++n;
		}
	}

	return n;
}
