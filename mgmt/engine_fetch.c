/* The deploy engine's fetching phase: the new version's image made present
 * and unpacked while the old version still runs, so that an update's outage
 * (old stopped to new started) holds no pull. A present image costs one
 * in-process look at the store; anything else is `chuted-image fetch`'s job
 * (chuted links neither libcurl nor libarchive), whose pull reports its
 * bytes as progress records on the result pipe: the change's progress. */
#include "common/util.h"
#include "image/image.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"

#include <stdio.h>
#include <string.h>

struct fetching
{
  struct ch_engine *e;
  struct ch_change *c;
};

static void
on_progress (void *data, uint64_t bytes, uint64_t total)
{
  struct fetching *f = data;
  cleanup_free char *detail = xasprintf ("%.1f MB / %.1f MB", bytes / 1e6, total / 1e6);

  f->c->fetched = bytes;
  f->c->fetch_total = total;
  if (f->e->event)
    f->e->event (f->e->data, f->c, detail);
}

static int
fetch_one (struct ch_engine *e, struct ch_change *c, const char *ref, uint64_t disk_limit, ch_error_t *err)
{
  struct ch_ctx *ctx = e->ctx;
  cleanup_free char *tool = xasprintf ("%s/chuted-image", ctx->bin_dir);
  cleanup_free char *disk = xasprintf ("%llu", (unsigned long long) disk_limit);
  char *argv[] = { tool, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "fetch", "--result-fd", "3",
                   "--disk-limit", disk, (char *) ref, NULL };
  struct fetching f = { e, c };
  struct ch_image_result res;
  int r;

  /* an archive is read by the mount itself: reading it ahead would be twice */
  if (ref == NULL || ch_import_is_transport (ref))
    return 0;
  r = ch_image_present (ctx->root, ref, disk_limit, err);
  if (r != 0)
    return r < 0 ? ch_error_prefix (err, "image `%s`", ref) : 0;
  if (ch_engine_phase (e, c, "fetching", ref, err) < 0)
    return -1;
  r = ch_image_run_child_progress (argv, "chuted-image fetch", on_progress, &f, &res, err);
  if (r == 0 && res.status != CH_IMAGE_OK)
    r = ch_image_result_error (&res, err);
  ch_image_result_clear (&res);
  return r;
}

int
ch_engine_fetch (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, ch_error_t *err)
{
  /* a pod's services each have their image */
  if (m->n_svc <= 1)
    return fetch_one (e, c, m->chute.image, m->chute.disk, err);
  for (size_t i = 0; i < m->n_svc; i++)
    if (fetch_one (e, c, m->svc[i].image.s, m->chute.disk, err) < 0)
      return -1;
  return 0;
}
