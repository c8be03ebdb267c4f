/* chuted-image-pull: the only program that links libcurl. `chuted-image pull`
 * and `login` exec it, so that everything else chuted-image does (mount and
 * unmount on every `chuted run`, load, images) starts without loading
 * libcurl's ~30 shared libraries (~6 ms per exec on this host).
 *   chuted-image-pull [--root R] pull [--insecure-registry] [--platform P] [--ca-file F] [-q] [--result-fd FD] REF
 * With --result-fd the outcome, digest or error, goes to FD as the image
 * record (image/image.h), as chuted-image mount wants it.
 *   chuted-image-pull [--root R] login [--insecure-registry] [--ca-file F] [-u USER] [-p PASS | --password-stdin] REGISTRY
 *   (what is not given is asked on the terminal, the password without echo)
 *   chuted-image-pull fetch-url URL   (ADD's URLs in chuted build: the body on stdout)
 *   chuted-image-pull package [--result-fd FD] REF FILE   (a chute package: its tar.gz at FILE, a hard link
 *   into the store; the cloud link's deploy of a package by digest) */
#include "common/error.h"
#include "common/globals.h"
#include "common/parse.h"
#include "common/util.h"
#include "image/dockerfile.h"
#include "image/image.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum
{
  O_INSECURE = 256,
  O_PLATFORM,
  O_CA,
  O_STDIN,
  O_RESULT_FD,
};

static const struct option long_opts[] = {
  { "insecure-registry", no_argument, NULL, O_INSECURE },
  { "platform", required_argument, NULL, O_PLATFORM },
  { "ca-file", required_argument, NULL, O_CA },
  { "quiet", no_argument, NULL, 'q' },
  { "username", required_argument, NULL, 'u' },
  { "password", required_argument, NULL, 'p' },
  { "password-stdin", no_argument, NULL, O_STDIN },
  { "result-fd", required_argument, NULL, O_RESULT_FD },
  { NULL, 0, NULL, 0 },
};

/* One line from the terminal on fd 0 after PROMPT (on stderr), without echo
 * when SECRET, as podman login asks: the password stays off the command
 * line and out of the shell history. */
static int
ask_tty (const char *prompt, bool secret, char **out, ch_error_t *err)
{
  struct termios old, quiet;
  size_t cap = 0;
  ssize_t n;
  int saved = 0;

  /* echo off before the prompt: TCSAFLUSH drops what was typed before it */
  if (secret)
    {
      if (tcgetattr (0, &old) < 0)
        return ch_error (err, errno, "login: read the terminal's settings");
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      quiet.c_lflag |= ECHONL;
      if (tcsetattr (0, TCSAFLUSH, &quiet) < 0)
        return ch_error (err, errno, "login: turn the terminal's echo off");
    }
  fputs (prompt, stderr);
  fflush (stderr);
  n = getline (out, &cap, stdin);
  saved = errno;
  if (secret)
    tcsetattr (0, TCSAFLUSH, &old);
  if (n < 0)
    return ch_error (err, feof (stdin) ? 0 : saved, "login: nothing read from the terminal");
  while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
    (*out)[--n] = '\0';
  return 0;
}

/* --result-fd's progress records: a few a second, and the last; none twice */
struct progress_out
{
  int fd;
  struct timespec last;
  uint64_t bytes, total;
};

static void
send_progress (void *data, uint64_t bytes, uint64_t total)
{
  struct progress_out *p = data;
  cleanup_error ch_error_t e = NULL;
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  if ((bytes == p->bytes && total == p->total && p->last.tv_sec)
      || (bytes < total && (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 250))
    return;
  p->last = now;
  p->bytes = bytes;
  p->total = total;
  /* the result decides; a reader that left early sees none of it anyway */
  ch_image_progress_send (p->fd, bytes, total, &e);
}

static int
run (const char *root, int argc, char **argv, ch_error_t *err)
{
  struct ch_pull_opts po = { .root = root, .jobs = 3 };
  const char *user = NULL, *pass = NULL;
  bool quiet = false, pw_stdin = false;
  cleanup_free char *pw = NULL, *asked_user = NULL;
  int c, result_fd = -1;

  opterr = 0;
  optind = 1;
  while ((c = getopt_long (argc, argv, ":qu:p:", long_opts, NULL)) != -1)
    switch (c)
      {
      case O_INSECURE: po.insecure = true; break;
      case O_PLATFORM: po.platform = optarg; break;
      case O_CA: po.ca_file = optarg; break;
      case 'q': quiet = true; break;
      case 'u': user = optarg; break;
      case 'p': pass = optarg; break;
      case O_STDIN: pw_stdin = true; break;
      case O_RESULT_FD:
        {
          int64_t v;
          if (ch_parse_int (optarg, 0, INT32_MAX, &v, err) < 0)
            return ch_error_prefix (err, "--result-fd");
          result_fd = v;
          break;
        }
      case ':': return ch_getopt_missing_value (long_opts, argv, err);
      default: return ch_error (err, 0, "%s: unknown option `%s`", argv[0], argv[optind - 1]);
      }
  po.progress = !quiet && isatty (2);
  struct progress_out pout = { .fd = result_fd };
  if (result_fd >= 0)
    {
      po.on_progress = send_progress;
      po.progress_data = &pout;
    }
  if (strcmp (argv[0], "pull") == 0)
    {
      struct ch_store *s = NULL;
      cleanup_free char *digest = NULL;
      int r;
      if (argc - optind != 1)
        return ch_error (err, 0, "pull: want exactly one image reference");
      if (ch_store_open (root, false, &s, err) < 0)
        return -1;
      r = ch_pull (s, argv[optind], &po, &digest, err);
      ch_store_free (s);
      if (result_fd >= 0)
        {
          struct ch_image_result res = { .status = CH_IMAGE_OK, .manifest = steal_pointer (&digest) };
          if (r < 0)
            ch_image_result_fail (&res, err);
          r = ch_image_result_send (result_fd, &res, err) < 0 ? -1 : res.status == CH_IMAGE_OK ? 0 : 1;
          ch_image_result_clear (&res);
          return r;
        }
      if (r == 0 && !quiet)
        printf ("%s\n", digest);
      return r;
    }
  if (strcmp (argv[0], "login") == 0)
    {
      if (argc - optind != 1)
        return ch_error (err, 0, "login: want exactly one registry");
      if (user == NULL && !pw_stdin && isatty (0))
        {
          if (ask_tty ("Username: ", false, &asked_user, err) < 0)
            return -1;
          user = asked_user;
        }
      if (user == NULL || *user == '\0')
        return ch_error (err, 0, "login: -u USER is required");
      if (pw_stdin)
        {
          size_t cap = 0;
          ssize_t n = getline (&pw, &cap, stdin);
          if (n < 0)
            return ch_error (err, 0, "login: no password on stdin");
          while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
            pw[--n] = '\0';
        }
      else if (pass)
        pw = xstrdup (pass);
      else if (isatty (0))
        {
          if (ask_tty ("Password: ", true, &pw, err) < 0)
            return -1;
        }
      else
        return ch_error (err, 0, "login: no terminal to ask the password on: give --password-stdin (or -p PASS)");
      if (ch_login (&po, argv[optind], user, pw, err) < 0)
        return -1;
      printf ("Login Succeeded\n");
      return 0;
    }
  if (strcmp (argv[0], "package") == 0)
    {
      struct ch_store *s = NULL;
      struct ch_image_result res = { .status = CH_IMAGE_OK };
      cleanup_free char *blob = NULL;
      int r;
      if (argc - optind != 2)
        return ch_error (err, 0, "package: want a package reference and a file");
      if (ch_store_open (root, false, &s, err) < 0)
        return -1;
      r = ch_pull_package (s, argv[optind], &po, CH_DEFAULT_DISK_LIMIT, &res.manifest, &blob, err);
      ch_store_free (s);
      if (r == 0 && link (blob, argv[optind + 1]) < 0)
        r = ch_error (err, errno, "package %s: link into `%s`", argv[optind], argv[optind + 1]);
      if (result_fd < 0)
        {
          ch_image_result_clear (&res);
          return r;
        }
      if (r < 0)
        ch_image_result_fail (&res, err);
      r = ch_image_result_send (result_fd, &res, err) < 0 ? -1 : res.status == CH_IMAGE_OK ? 0 : 1;
      ch_image_result_clear (&res);
      return r;
    }
  if (strcmp (argv[0], "fetch-url") == 0)
    {
      if (argc - optind != 1)
        return ch_error (err, 0, "fetch-url: want exactly one URL");
      return ch_url_fetch (argv[optind], 1, 0, err);
    }
  return ch_error (err, 0, "unknown command `%s` (pull, login, fetch-url, package)", argv[0]);
}

static void
usage (FILE *f)
{
  fprintf (f, "usage: chuted-image-pull [--root DIR] pull|login|fetch-url|package ...\n");
}

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  const char *prog = getenv ("CHUTED_PROG") ? getenv ("CHUTED_PROG") : "chuted-image";
  struct ch_globals g;
  int i, r, code;

  i = ch_globals_main (argc, argv, prog, usage, &g, &code);
  if (i < 0)
    return code;
  r = run (g.root, argc - i, argv + i, &err);
  if (r < 0)
    {
      ch_error_print (&err, prog);
      return 125; /* podman's code for its own errors */
    }
  return r;
}
