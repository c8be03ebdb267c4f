/* RUN: the command in a real chute, by exec'ing `chuted run --rm --rootfs
 * MNT` on the stage's layers stacked under a fresh upper dir. chuted run is
 * the whole chute path (default network, cgroup, seccomp, capabilities,
 * monitor, --rm cleanup, its exit code passed through), which this program
 * must not link (it carries libarchive and libcrypto; chuted carries the
 * runtime and the network). The upper dir then becomes the step's layer. */
#include "image/dockerfile_int.h"
#include "common/file.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Copy the child's output from FD to our stdout as it comes, keeping the
 * last CH_BUILD_TAIL bytes in T, until EOF or until PID has exited and the
 * pipe is drained (a process the RUN left behind may hold it open). */
static void
tee_output (int fd, pid_t pid, int *st, bool *reaped, struct ch_buf *t)
{
  char buf[4096];

  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int n = poll (&p, 1, *reaped ? 0 : 200);
      ssize_t got;

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (*reaped)
            return;
          if (waitpid (pid, st, WNOHANG) == pid)
            *reaped = true;
          continue;
        }
      got = read (fd, buf, sizeof (buf));
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return;
      {
        cleanup_error ch_error_t e = NULL;
        /* a closed stdout (the caller went away) does not stop the build */
        (void) ch_write_all (1, buf, (size_t) got, &e);
      }
      ch_buf_append (t, buf, (size_t) got);
      if (t->len > CH_BUILD_TAIL)
        {
          memmove (t->data, t->data + t->len - CH_BUILD_TAIL, CH_BUILD_TAIL);
          t->len = CH_BUILD_TAIL;
          t->data[t->len] = '\0';
        }
    }
}

int
ch_build_spawn (char **argv, int out_fd, char **tail, ch_error_t *err)
{
  int st, pipefd[2] = { -1, -1 };
  bool reaped = false;
  pid_t pid;

  fflush (stdout);
  fflush (stderr);
  if (tail && pipe2 (pipefd, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  if (tail)
    out_fd = pipefd[1];
  pid = fork ();
  if (pid < 0)
    {
      ch_error (err, errno, "fork");
      if (tail)
        {
          close (pipefd[0]);
          close (pipefd[1]);
        }
      return -1;
    }
  if (pid == 0)
    {
      int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      sigset_t none;
      /* the builder holds INT/TERM/HUP until a step ends; chuted run takes them at once */
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      if (fd < 0 || dup2 (fd, 0) < 0 || (out_fd >= 0 && dup2 (out_fd, 1) < 0) || (tail && dup2 (out_fd, 2) < 0))
        _exit (125);
      execv (argv[0], argv);
      fprintf (stderr, "chuted-image: exec `%s`: %s\n", argv[0], strerror (errno));
      _exit (125);
    }
  if (tail)
    {
      struct ch_buf t = { 0 };
      close (pipefd[1]);
      tee_output (pipefd[0], pid, &st, &reaped, &t);
      close (pipefd[0]);
      free (*tail);
      *tail = ch_buf_steal (&t);
    }
  while (!reaped && waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  if (WIFSIGNALED (st))
    return 128 + WTERMSIG (st);
  return WEXITSTATUS (st);
}

int
ch_build_run (struct builder *b, struct bstage *st, char **argv, json_t *env, struct ch_layer *out, bool *empty,
              ch_error_t *err)
{
  struct bmount m;
  cleanup_strv char **cmd = ch_strv_dup (b->req->run_prefix);
  cleanup_free char *name = xasprintf ("chuted-build-%d-%u", (int) getpid (), b->step);
  json_t *c = ch_bstage_config (st), *v;
  const char *k, *wd = json_string_value (json_object_get (c, "WorkingDir"));
  const char *user = json_string_value (json_object_get (c, "User"));
  int code;

  if (ch_bmount (b, st, &m, err) < 0)
    {
      ch_bunmount (&m, true);
      return -1;
    }
  ch_strv_append (&cmd, "run");
  ch_strv_append (&cmd, "--rm");
  ch_strv_append (&cmd, "--name");
  ch_strv_append (&cmd, name);
  ch_strv_append (&cmd, "--rootfs");
  ch_strv_append (&cmd, m.mnt);
  for (size_t i = 0; b->req->run_opts && b->req->run_opts[i]; i++)
    ch_strv_append (&cmd, b->req->run_opts[i]);
  json_object_foreach (env, k, v)
    {
      cleanup_free char *kv = xasprintf ("%s=%s", k, json_string_value (v) ? json_string_value (v) : "");
      ch_strv_append (&cmd, "-e");
      ch_strv_append (&cmd, kv);
    }
  if (wd && *wd)
    {
      ch_strv_append (&cmd, "-w");
      ch_strv_append (&cmd, wd);
    }
  if (user && *user)
    {
      ch_strv_append (&cmd, "-u");
      ch_strv_append (&cmd, user);
    }
  ch_strv_append (&cmd, "--");
  for (size_t i = 0; argv[i]; i++)
    ch_strv_append (&cmd, argv[i]);
  code = ch_build_spawn (cmd, -1, &b->run_output, err);
  if (code == 0)
    {
      /* only a failed RUN's output is reported */
      free (b->run_output);
      b->run_output = NULL;
    }
  ch_bunmount (&m, false);
  if (code == 0)
    code = ch_build_layer (b, st, &m, out, empty, err) < 0 ? -1 : 0;
  else if (code > 0)
    {
      cleanup_free char *shown = NULL;
      struct ch_buf sb = { 0 };
      for (size_t i = 0; argv[i]; i++)
        ch_buf_printf (&sb, "%s%s", i ? " " : "", argv[i]);
      shown = ch_buf_steal (&sb);
      ch_error (err, 0, "RUN %.200s: exit code %d%s", shown, code,
                code == 125 ? " (chuted run could not run it: see above)" : "");
      b->run_code = code;
      code = -1;
    }
  ch_bunmount (&m, true);
  return code;
}

/* A name for what URL names: its path's last part, made safe. */
static char *
url_name (const char *url)
{
  const char *p = strstr (url, "://") + 3, *q;
  size_t n;
  char *name;

  p = strchr (p, '/');
  if (p == NULL)
    return xstrdup ("download");
  q = p + strcspn (p, "?#");
  while (q > p && q[-1] == '/')
    q--;
  for (n = 0; q - n > p && q[-n - 1] != '/'; n++)
    ;
  if (n == 0)
    return xstrdup ("download");
  name = xstrndup (q - n, n);
  for (char *c = name; *c; c++)
    if (!isalnum ((unsigned char) *c) && !strchr ("._-+", *c))
      *c = '_';
  if (name[0] == '.')
    name[0] = '_';
  return name;
}

int
ch_build_fetch_urls (struct builder *b, char *const *urls, const char *dir, char ***names, ch_error_t *err)
{
  if (b->req->fetch_prefix == NULL)
    return ch_error (err, 0, "ADD of a URL: no fetcher (chuted-image-pull) given");
  if (mkdir (dir, 0700) < 0)
    return ch_error (err, errno, "mkdir `%s`", dir);
  *names = xzalloc (sizeof (char *));
  for (size_t i = 0; urls[i]; i++)
    {
      cleanup_strv char **argv = ch_strv_dup (b->req->fetch_prefix);
      cleanup_free char *name = url_name (urls[i]), *path = NULL;
      cleanup_close int fd = -1;
      int code;

      if (ch_strv_contains (*names, name))
        return ch_error (err, 0, "ADD: two URLs named `%s`", name);
      path = xasprintf ("%s/%s", dir, name);
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return ch_error (err, errno, "create `%s`", path);
      ch_strv_append (&argv, urls[i]);
      code = ch_build_spawn (argv, fd, NULL, err);
      if (code < 0)
        return -1;
      if (code != 0)
        return ch_error (err, 0, "ADD %s: the fetch failed (see above)", urls[i]);
      ch_strv_append (names, name);
    }
  return 0;
}
