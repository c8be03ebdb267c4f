/* Internal to the Wi-Fi chute code (netns/wifi*.c). */
#ifndef CH_WIFI_INTERNAL_H
#define CH_WIFI_INTERNAL_H

#include "netns/wifi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* RUN_ROOT/wifi/CHUTE (CHUTE NULL: RUN_ROOT/wifi, whose `lock` serializes
 * every change to the Wi-Fi networks); wifi.c */
char *ch_wifi_dir (const char *run_root, const char *chute);

/* --- nl80211 (wifi_nl80211.c) --- */
struct ch_wifi_radio
{
  uint32_t index;
  char name[64]; /* "phy0" */
  bool ap;       /* can run an AP interface */
};
/* The radios of the caller's netns. */
int ch_wifi_radios (struct ch_wifi_radio **out, size_t *n, ch_error_t *err);
int ch_wifi_ap_add (uint32_t wiphy, const char *ifname, ch_error_t *err);
/* A missing interface is not an error. */
int ch_wifi_ap_del (const char *ifname, ch_error_t *err);

/* --- supervisor of hostapd + dnsmasq (wifi_supervise.c) --- */
struct ch_wifi_procs
{
  char *const *hostapd_argv;
  char *const *dnsmasq_argv;
  const char *netns_path; /* dnsmasq runs in it */
  const char *log_path;   /* both programs' stdout/stderr */
};
/* Double-fork a session leader that keeps both programs running (each
 * restarted, with backoff, when it dies) until SIGTERM, then stops them.
 * *PID: the supervisor. */
int ch_wifi_supervise (const struct ch_wifi_procs *p, pid_t *pid, ch_error_t *err);

/* --- hostapd control socket (wifi_ctrl.c) --- */
/* Send CMD to the control socket CTRL_PATH, reply in *OUT (NUL-terminated). */
int ch_wifi_ctrl (const char *ctrl_path, const char *cmd, char **out, ch_error_t *err);
/* Value of KEY= in a STATUS-style reply (newly allocated) or NULL. */
char *ch_wifi_ctrl_value (const char *reply, const char *key);

#endif
