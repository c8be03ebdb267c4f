/* The one record image programs hand back (chuted-image-pull to
 * chuted-image, chuted-image to chuted), and its one wire form: a JSON object
 * written to a pipe the caller gives the child. A result and an error travel
 * the same way, so the cause of a failure (a refused connection, a 401, an
 * unknown manifest) arrives as the child saw it, with its class. */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Each status, its wire name and the errno class ch_error_t carries for it
 * (the first errno listed is the one a decoded error gets). */
static const struct
{
  enum ch_image_status status;
  const char *name;
  int errnos[4];
} statuses[] = {
  { CH_IMAGE_OK, "ok", { 0 } },
  { CH_IMAGE_ABSENT, "absent", { 0 } },
  { CH_IMAGE_NOT_FOUND, "not-found", { ENOENT } },
  { CH_IMAGE_UNAUTHORIZED, "unauthorized", { EACCES, EPERM } },
  { CH_IMAGE_UNREACHABLE, "unreachable", { ECONNREFUSED, EPROTO, EHOSTUNREACH, ETIMEDOUT } },
  { CH_IMAGE_INVALID, "invalid", { EBADMSG, EINVAL } },
  { CH_IMAGE_TOO_BIG, "too-big", { EFBIG, ENOSPC } },
  { CH_IMAGE_FAILED, "failed", { EIO } },
};

const char *
ch_image_status_name (enum ch_image_status s)
{
  for (size_t i = 0; i < sizeof (statuses) / sizeof (*statuses); i++)
    if (statuses[i].status == s)
      return statuses[i].name;
  return "failed";
}

void
ch_image_result_clear (struct ch_image_result *r)
{
  free (r->message);
  free (r->ref);
  free (r->manifest);
  free (r->image_id);
  free (r->rootfs);
  json_decref (r->config);
  memset (r, 0, sizeof (*r));
}

void
ch_image_result_fail (struct ch_image_result *r, ch_error_t *err)
{
  enum ch_image_status st = CH_IMAGE_FAILED;

  for (size_t i = 0; i < sizeof (statuses) / sizeof (*statuses) && st == CH_IMAGE_FAILED; i++)
    for (size_t k = 0; k < 4 && statuses[i].errnos[k]; k++)
      if (statuses[i].errnos[k] == (*err)->status)
        st = statuses[i].status;
  ch_image_result_clear (r);
  r->status = st;
  r->message = xstrdup ((*err)->msg);
  ch_error_release (err);
}

int
ch_image_result_error (const struct ch_image_result *r, ch_error_t *err)
{
  int status = EIO;

  for (size_t i = 0; i < sizeof (statuses) / sizeof (*statuses); i++)
    if (statuses[i].status == r->status && statuses[i].errnos[0])
      status = statuses[i].errnos[0];
  ch_error (err, 0, "%s", r->message ? r->message : ch_image_status_name (r->status));
  (*err)->status = status;
  return -1;
}

char *
ch_image_result_encode (const struct ch_image_result *r)
{
  cleanup_json json_t *j = json_pack ("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:O?}", "status",
                                      ch_image_status_name (r->status), "message", r->message, "ref", r->ref,
                                      "manifest", r->manifest, "image", r->image_id, "rootfs", r->rootfs, "config",
                                      r->config);
  return json_dumps (j, JSON_COMPACT);
}

static int
take_string (json_t *j, const char *key, char **out, ch_error_t *err)
{
  json_t *v = json_object_get (j, key);

  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return ch_error (err, 0, "image record: `%s` is not a string", key);
  *out = xstrdup (json_string_value (v));
  return 0;
}

int
ch_image_result_decode (const char *buf, size_t len, struct ch_image_result *out, ch_error_t *err)
{
  cleanup_json json_t *j = NULL;
  const char *name;
  json_t *config;
  size_t i;

  memset (out, 0, sizeof (*out));
  if (ch_json_load_buf ("image record", buf, len, &j, err) < 0)
    return -1;
  name = json_string_value (json_object_get (j, "status"));
  if (!json_is_object (j) || name == NULL)
    return ch_error (err, 0, "image record: want an object with a `status`");
  for (i = 0; i < sizeof (statuses) / sizeof (*statuses); i++)
    if (strcmp (statuses[i].name, name) == 0)
      break;
  if (i == sizeof (statuses) / sizeof (*statuses))
    return ch_error (err, 0, "image record: unknown status `%s`", name);
  out->status = statuses[i].status;
  config = json_object_get (j, "config");
  if (config && !json_is_null (config) && !json_is_object (config))
    return ch_error (err, 0, "image record: `config` is not an object");
  if (take_string (j, "message", &out->message, err) < 0 || take_string (j, "ref", &out->ref, err) < 0
      || take_string (j, "manifest", &out->manifest, err) < 0 || take_string (j, "image", &out->image_id, err) < 0
      || take_string (j, "rootfs", &out->rootfs, err) < 0)
    goto fail;
  if (out->status != CH_IMAGE_OK && out->message == NULL)
    {
      ch_error (err, 0, "image record: status `%s` without a message", name);
      goto fail;
    }
  if (json_is_object (config))
    out->config = json_incref (config);
  return 0;
fail:
  ch_image_result_clear (out);
  return -1;
}

int
ch_image_result_send (int fd, const struct ch_image_result *r, ch_error_t *err)
{
  cleanup_free char *s = ch_image_result_encode (r);

  if (s == NULL)
    return ch_error (err, 0, "image record: cannot encode");
  return ch_write_all (fd, s, strlen (s), err);
}

int
ch_image_result_recv (int fd, const char *from, struct ch_image_result *out, ch_error_t *err)
{
  return ch_image_records_recv (fd, from, NULL, NULL, out, err);
}

/* The child side of ch_image_run_child between fork and exec: fd 3 is the
 * record pipe; a failed exec is reported through it like any error. */
static void __attribute__ ((noreturn))
child_exec (char *const argv[], int wfd)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_image_result r = { 0 };

  if (wfd == 3 ? fcntl (3, F_SETFD, 0) < 0 : dup2 (wfd, 3) < 0)
    _exit (127);
  execv (argv[0], argv);
  ch_error (&e, errno, "exec `%s`", argv[0]);
  ch_image_result_fail (&r, &e);
  ch_image_result_send (3, &r, &e);
  _exit (127);
}

int
ch_image_run_child (char *const argv[], const char *what, struct ch_image_result *out, ch_error_t *err)
{
  return ch_image_run_child_progress (argv, what, NULL, NULL, out, err);
}

int
ch_image_run_child_progress (char *const argv[], const char *what, ch_image_progress_fn fn, void *data,
                             struct ch_image_result *out, ch_error_t *err)
{
  cleanup_close int rfd = -1;
  int p[2], st, r;
  pid_t pid;

  memset (out, 0, sizeof (*out));
  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]), close (p[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    child_exec (argv, p[1]);
  close (p[1]);
  rfd = p[0];
  r = ch_image_records_recv (rfd, what, fn, data, out, err);
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      {
        ch_image_result_clear (out);
        return ch_error (err, errno, "waitpid");
      }
  if (r < 0 && WIFSIGNALED (st))
    return ch_error (err, 0, "%s: killed by signal %d", what, WTERMSIG (st));
  if (r == 0 && out->status == CH_IMAGE_OK && !(WIFEXITED (st) && WEXITSTATUS (st) == 0))
    {
      ch_image_result_clear (out);
      return ch_error (err, 0, "%s: exited with status %d after a result", what, WEXITSTATUS (st));
    }
  return r;
}
