/* Every call the daemon makes into the deploy engine (mgmt/engine.h), in
 * one file: a change's child applies it here, and the daemon's start
 * restores what should run. The engine's progress events go to the daemon
 * as JSON lines: {id, chute, kind, version, phase, detail, result, reason},
 * then {final, error} with why the change failed when it did. */
#include "common/file.h"
#include "common/json.h"
#include "mgmt/commands.h"
#include "mgmt/daemon.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"
#include "mgmt/reap.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
put_line (int fd, json_t *o)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *s = json_dumps (o, JSON_COMPACT);
  size_t n = strlen (s);

  s[n] = '\n';
  /* the daemon may be gone (killed): the change goes on without it */
  ch_write_all (fd, s, n + 1, &err);
  s[n] = '\0';
}

static void
event (void *data, const struct ch_change *c, const char *detail)
{
  cleanup_json json_t *o = json_pack ("{s:s*, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}", "id", c->id, "chute",
                                      c->chute, "kind", c->kind, "version", c->version, "phase", c->phase, "detail",
                                      detail, "result", c->result, "reason", c->reason);
  put_line (*(int *) data, o);
}

/* A chute package (PATH) or a chute file sent as text: read as `chuted
 * deploy` reads its PATH (mgmt/deploy_source.h), applied with our events.
 * A chute file alone has no directory: its image archives must be named by
 * absolute paths (a relative one is refused). */
static int
deploy (struct ch_ctx *ctx, struct ch_engine *e, const struct dm_change *c, ch_error_t *err)
{
  struct ch_deploy_source src = { .file = "chute.yaml", .text = c->text, .len = c->len };
  int r;

  if (c->work != DM_PACKAGE)
    return ch_engine_deploy (e, &src, c->id, c->generation, err);
  if (ch_deploy_source_open (ctx, c->path, &src, err) < 0)
    return -1;
  r = ch_engine_deploy (e, &src, c->id, c->generation, err);
  ch_deploy_source_close (&src);
  return r;
}

int
dm_engine_child (struct ch_ctx *ctx, const struct dm_cloud_link *link, const struct dm_change *c, int fd)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_engine e;
  json_t *cloud = NULL; /* DM_CLOUD: ch_cloud_apply's result */
  int r;

  /* what every CLI change does first: the dead chutes' leftovers go */
  r = ch_reap_locked (ctx, &err);
  if (r == 0 && (r = ch_engine_open (&e, ctx, event, &fd, &err)) == 0)
    {
      if (c->work == DM_CLOUD)
        r = link->apply (&e, c->doc, &cloud, &err); /* only the link queues one */
      else if (c->work == DM_DEPLOY || c->work == DM_PACKAGE)
        r = deploy (ctx, &e, c, &err);
      else
        r = ch_engine_op (&e, c->kind, c->chute, c->id, &err);
      ch_engine_close (&e);
    }
  {
    cleanup_json json_t *o = json_pack ("{s:b, s:s*, s:o*}", "final", 1, "error", r < 0 && err ? err->msg : NULL,
                                        "cloud", cloud);
    put_line (fd, o);
  }
  return r < 0 ? 1 : 0;
}

int
dm_engine_check (const char *text, size_t len, char **name, ch_error_t *err)
{
  struct ch_chutefile m;
  int r = ch_engine_load_file ("chute.yaml", text, len, &m, err);

  if (r == 0)
    *name = xstrdup (m.chute.name);
  ch_chutefile_clear (&m);
  return r;
}

int
dm_engine_reconcile (struct ch_ctx *ctx, ch_error_t *err)
{
  /* the boot path: `start --all` reconciles the deployed chutes first
   * (ch_engine_reconcile: an interrupted change rolled forward or back,
   * every chute as desired), then starts the other chutes that restart
   * always or unless stopped */
  char *argv[] = { "start", "--all", NULL };

  return ch_cmd_start (ctx, 2, argv, err) < 0 ? -1 : 0;
}
