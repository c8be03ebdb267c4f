/* The cloud link hosted by the daemon (`chuted daemon --cloud ...`): its
 * socket in the daemon's epoll set, its ticks in the loop's timeout, and
 * each desired document applied as one change of the daemon's queue (kind
 * `cloud`), in a forked child like every change, whose events go out on the
 * document's evt topic as they come (mgmt/cloud.h, docs/CLOUD.md). */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cloud.h"
#include "mgmt/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>

static void
apply (void *data, struct ch_cloud *l, json_t *doc)
{
  struct ch_daemon *d = data;
  struct dm_change *c = dm_change_new (d, DM_CLOUD, "cloud", "*");

  c->doc = json_incref (doc);
  dm_change_submit (d, c);
}

int
dm_cloud_open (struct ch_daemon *d, ch_error_t *err)
{
  d->cloud_fd = -1;
  if (d->opt->cloud.url == NULL)
    return 0;
  return ch_cloud_open (&d->cloud, d->ctx, &d->opt->cloud, apply, d, err);
}

void
dm_cloud_close (struct ch_daemon *d)
{
  ch_cloud_close (d->cloud);
  d->cloud = NULL;
}

int
dm_cloud_prepare (struct ch_daemon *d)
{
  struct epoll_event ev = { 0 };
  int t, fd;

  if (d->cloud == NULL)
    return -1;
  t = ch_cloud_tick (d->cloud);
  fd = ch_cloud_fd (d->cloud); /* the link's own epoll set: one fd for its life */
  if (fd == d->cloud_fd)
    return t;
  d->cloud_fd = fd;
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl (d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    fprintf (stderr, "chuted-daemon: cloud link: epoll_ctl: %m\n");
  return t;
}

bool
dm_cloud_ready (struct ch_daemon *d, int fd, uint32_t events)
{
  if (d->cloud == NULL || fd != d->cloud_fd)
    return false;
  ch_cloud_read (d->cloud);
  return true;
}

void
dm_cloud_event (struct ch_daemon *d, struct dm_change *c, json_t *e)
{
  if (d->cloud)
    ch_cloud_event_json (d->cloud, json_string_value (json_object_get (c->doc, "change")), e);
}

void
dm_cloud_done (struct ch_daemon *d, struct dm_change *c)
{
  cleanup_json json_t *failed = NULL;
  json_t *r = c->cloud_result;
  json_t *errors;

  if (r == NULL)
    r = failed = json_pack ("{s:s, s:{s:s}}", "result", "failed", "errors", "",
                            c->child_error ? c->child_error : "the change's process ended without a result");
  c->result = xstrdup (json_string_value (json_object_get (r, "result")) ?: "failed");
  errors = json_object_get (r, "errors");
  c->reason = json_object_size (errors) ? json_dumps (errors, JSON_COMPACT) : NULL;
  if (d->cloud)
    ch_cloud_applied (d->cloud, c->doc, r);
}
