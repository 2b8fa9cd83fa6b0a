/**
 * @file log.h  Logging: one line per event, with time, level and module
 *
 * Every module logs through here so an operator reads one format, and
 * libre's own debug output is routed into the same stream.
 */

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_init(enum log_level level);
void log_close(void);
void log_level_set(enum log_level level);
enum log_level log_level_get(void);
int log_level_parse(enum log_level *levelp, const char *name);
const char *log_level_name(enum log_level level);
void log_msg(enum log_level level, const char *module, const char *fmt, ...);
void log_always(const char *module, const char *fmt, ...);


#define log_error(mod, ...) log_msg(LOG_ERROR, (mod), __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, (mod), __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LOG_INFO, (mod), __VA_ARGS__)
#define log_debug(mod, ...) log_msg(LOG_DEBUG, (mod), __VA_ARGS__)
