/**
 * @file app.h  The running server: its configuration and its modules
 */

int app_run(const char *cfg_path);
int app_check_config(const char *cfg_path);

/* notify.c: systemd's Type=notify */
int app_notify(const char *state);

/* signal.c */
typedef void(app_signal_h)(int sig, void *arg);
int app_signals_start(app_signal_h *h, void *arg);
void app_signals_stop(void);

/* tmr.c: libre's tmr_start, interposed (linked into the executable) */
struct list;
struct tmr;
extern _Thread_local uint64_t app_tmr_starts;
void app_tmr_insert(struct list *l, struct tmr *tmr);
