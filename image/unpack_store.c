/* The store side of unpacking: a stored layer blob into layers/<hex> once
 * (temp dir + rename), and an image's missing layers in parallel, bounded by
 * the disk limit as a whole. A refused image leaves none of the layers it
 * unpacked. */
#include "internal.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int
ch_store_unpack_layer (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts,
                       uint64_t *size_out, ch_error_t *err)
{
  cleanup_free char *dir = ch_store_layer_dir (s, l->digest);
  cleanup_free char *tmp = NULL, *fs = NULL, *blob = NULL, *sz = NULL;
  cleanup_close int bfd = -1, rootfd = -1;
  struct ch_unpack_stats st;
  char buf[32];
  int n;

  if (ch_store_layer_size (s, l->digest, size_out) == 0)
    return 0;
  tmp = ch_store_tmp_template (s, "layer");
  if (mkdtemp (tmp) == NULL)
    return ch_error (err, errno, "layer %s: mkdtemp in `%s`", l->digest, s->tmp);
  fs = xasprintf ("%s/fs", tmp);
  blob = ch_store_blob_path (s, l->digest);
  if (mkdir (fs, 0755) < 0)
    {
      ch_error (err, errno, "mkdir `%s`", fs);
      goto fail;
    }
  rootfd = open (fs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  bfd = open (blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (rootfd < 0 || bfd < 0)
    {
      ch_error (err, errno, "open `%s`", rootfd < 0 ? fs : blob);
      goto fail;
    }
  if (ch_unpack_fd (bfd, rootfd, opts, &st, err) < 0)
    goto fail;
  n = snprintf (buf, sizeof (buf), "%llu\n", (unsigned long long) st.bytes);
  sz = xasprintf ("%s/size", tmp);
  if (ch_write_file (sz, buf, n, 0644, err) < 0)
    goto fail;
  if (rename (tmp, dir) < 0)
    {
      /* someone else finished the same layer first: theirs is as good */
      if ((errno == EEXIST || errno == ENOTEMPTY) && ch_store_layer_size (s, l->digest, size_out) == 0)
        {
          cleanup_error ch_error_t e = NULL;
          ch_rm_rf (tmp, &e);
          return 0;
        }
      ch_error (err, errno, "rename `%s` into place", tmp);
      goto fail;
    }
  if (st.dropped)
    fprintf (stderr, "chuted-image: layer %s: %llu device nodes/FIFOs dropped (unprivileged)\n", l->digest,
             (unsigned long long) st.dropped);
  *size_out = st.bytes;
  return 0;
fail:
  {
    cleanup_error ch_error_t e = NULL;
    ch_rm_rf (tmp, &e);
  }
  return ch_error_prefix (err, "layer %s", l->digest);
}

/* Unpack layer I in a child process; its error line comes back through a pipe. */
static pid_t
unpack_child (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts, int *rfd,
              ch_error_t *err)
{
  int p[2];
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      ch_error_t e = NULL;
      uint64_t sz;
      close (p[0]);
      if (ch_store_unpack_layer (s, l, opts, &sz, &e) < 0)
        {
          (void) ch_write_all (p[1], e->msg, strlen (e->msg), &(ch_error_t){ NULL });
          _exit (1);
        }
      _exit (0);
    }
  close (p[1]);
  *rfd = p[0];
  return pid;
}

/* Layers are independent directories: unpack the missing ones in parallel
 * (one process each, up to the CPU count), since unpacking is bound by file
 * creation in the kernel. One at a time, each layer gets what is left of
 * the budget; in parallel each gets the whole budget, and the caller checks
 * the sum once all are there. */
static int
unpack_missing (struct ch_store *s, struct ch_image *img, const struct ch_unpack_opts *opts, uint64_t limit,
                uint64_t budget, ch_error_t *err)
{
  uint64_t sz, used = 0;
  size_t n = img->manifest->n_layers, i, next = 0, running = 0, missing = 0;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  size_t jobs = cpus > 1 ? (size_t) cpus : 1;
  struct ch_unpack_opts o = *opts;
  pid_t *pids;
  int *fds, ret = 0;
  char **msgs;

  o.limit = budget;
  for (i = 0; i < n; i++)
    missing += ch_store_layer_size (s, img->manifest->layers[i].digest, &sz) < 0;
  if (missing && budget == 0)
    return ch_image_error (err, EFBIG, "image %s: its unpacked layers fill the disk limit already",
                           img->manifest_digest);
  if (missing <= 1 || jobs == 1)
    {
      for (i = 0; i < n; i++)
        {
          if (ch_store_layer_size (s, img->manifest->layers[i].digest, &sz) == 0)
            continue;
          o.limit = budget - used;
          if (o.limit == 0) /* 0 would mean the default limit */
            return ch_image_error (err, EFBIG, "layer %s: no room left under the disk limit",
                                   img->manifest->layers[i].digest);
          if (ch_store_unpack_layer (s, &img->manifest->layers[i], &o, &sz, err) < 0)
            {
              /* the layer got what was left: say so in terms of the whole limit */
              if ((*err)->status == EFBIG && (used > 0 || budget < limit))
                {
                  ch_error_release (err);
                  return ch_image_error (err, EFBIG, "image %s: its layers take more than the disk limit of %llu bytes "
                                         "(layer %s passes it)", img->manifest_digest, (unsigned long long) limit,
                                         img->manifest->layers[i].digest);
                }
              return -1;
            }
          used += sz;
        }
      return 0;
    }
  pids = xzalloc (sizeof (*pids) * n);
  fds = xzalloc (sizeof (*fds) * n);
  msgs = xzalloc (sizeof (*msgs) * n);
  for (i = 0; i < n; i++)
    fds[i] = -1;
  while (next < n || running > 0)
    {
      int st = 0;
      while (ret == 0 && next < n && running < jobs)
        {
          if (ch_store_layer_size (s, img->manifest->layers[next].digest, &sz) == 0)
            {
              next++;
              continue;
            }
          pids[next] = unpack_child (s, &img->manifest->layers[next], &o, &fds[next], err);
          if (pids[next] < 0)
            {
              pids[next] = 0;
              ret = -1;
              break;
            }
          next++;
          running++;
        }
      if (running == 0)
        break;
      /* a child's pipe reaches EOF when it exits: wait for exactly our children */
      {
        struct pollfd *pf = xzalloc (sizeof (*pf) * running);
        size_t *idx = xzalloc (sizeof (*idx) * running), k = 0, j;
        for (i = 0; i < n; i++)
          if (pids[i] > 0)
            {
              pf[k].fd = fds[i];
              pf[k].events = POLLIN;
              idx[k++] = i;
            }
        while (poll (pf, k, -1) < 0 && errno == EINTR)
          ;
        for (j = 0; j < k; j++)
          {
            cleanup_error ch_error_t e = NULL;
            char *msg = NULL;
            size_t len = 0;
            i = idx[j];
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
              continue;
            (void) ch_read_fd (fds[i], &msg, &len, &e);
            while (waitpid (pids[i], &st, 0) < 0 && errno == EINTR)
              ;
            pids[i] = 0;
            running--;
            close (fds[i]);
            fds[i] = -1;
            if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
              {
                msgs[i] = len ? msg : xasprintf ("layer %s: unpack died", img->manifest->layers[i].digest);
                if (len == 0)
                  free (msg);
                msg = NULL;
                if (ret == 0)
                  ret = 1;
              }
            free (msg);
          }
        free (pf);
        free (idx);
      }
    }
  /* the first failing layer in manifest order names the error */
  if (ret > 0)
    for (i = 0; i < n; i++)
      if (msgs[i])
        {
          ret = ch_error (err, 0, "%s", msgs[i]);
          break;
        }
  for (i = 0; i < n; i++)
    {
      if (pids[i] > 0)
        waitpid (pids[i], NULL, 0);
      if (fds[i] >= 0)
        close (fds[i]);
      free (msgs[i]);
    }
  free (pids);
  free (fds);
  free (msgs);
  return ret < 0 ? -1 : 0;
}

int
ch_store_unpack_image (struct ch_store *s, struct ch_image *img, const struct ch_unpack_opts *opts, ch_error_t *err)
{
  uint64_t limit = opts->limit ? opts->limit : CH_DEFAULT_DISK_LIMIT, present = 0, sz;
  size_t n = img->manifest->n_layers, i;
  bool *made = xzalloc (sizeof (*made) * (n ? n : 1));
  int r;

  for (i = 0; i < n; i++)
    {
      if (ch_store_layer_size (s, img->manifest->layers[i].digest, &sz) == 0)
        present += sz;
      else
        made[i] = true;
    }
  if (present > limit)
    r = ch_store_image_size (s, img, limit, NULL, err);
  else
    r = unpack_missing (s, img, opts, limit, limit - present, err);
  if (r == 0)
    r = ch_store_image_size (s, img, limit, NULL, err);
  if (r < 0)
    /* a refused image leaves none of the layers it unpacked (they were
     * missing, so nothing else stacks them) */
    for (i = 0; i < n; i++)
      if (made[i])
        {
          cleanup_free char *dir = ch_store_layer_dir (s, img->manifest->layers[i].digest);
          cleanup_error ch_error_t e = NULL;
          (void) ch_rm_rf (dir, &e);
        }
  free (made);
  return r;
}
