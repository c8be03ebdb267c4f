/* chuted-image: every image command (`chuted pull|load|images|rmi|image|login`
 * exec this), plus `mount`/`unmount`, which `chuted run` calls to get a chute's
 * root filesystem. A separate program so that libcurl, libarchive and
 * libcrypto never load on the runtime path. */
#include "common/error.h"
#include "common/file.h"
#include "common/globals.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/build.h"
#include "mgmt/chute.h"
#include "mgmt/disk.h"
#include "mgmt/image_users.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts;
struct ctx
{
  const char *root, *run_root;
  char **argv;       /* the command and its arguments, as given */
  struct opts *opts; /* the command's options */
};

static const char usage[] = "usage: chuted-image [--root DIR] [--run-root DIR] COMMAND ...\n"
                            "  pull [--insecure-registry] [--platform OS/ARCH] [--ca-file F] [-q] REF\n"
                            "  load [--tag NAME] [--platform OS/ARCH] oci-archive:PATH|docker-archive:PATH|oci:DIR[:TAG]\n"
                            "  images [--json] [-q]\n"
                            "  rmi [-f] REF...  (-f: even an image chutes use)\n"
                            "  image prune | image ls [--json] | image inspect REF\n"
                            "  login [--insecure-registry] [-u USER] [-p PASS | --password-stdin] REGISTRY  (asks on a tty)\n"
                            "  logout REGISTRY\n"
                            "  mount REF --chute NAME [--disk-limit BYTES] [--copy] [--allow-suid] [--privileged] [--volatile]\n"
                            "        [--result-fd FD]\n"
                            "  fetch REF [--disk-limit BYTES] [--privileged] [--result-fd FD]  (pull or import, unpack)\n"
                            "  unmount --chute NAME\n"
                            "  unpack [--disk-limit BYTES] [--privileged] LAYER.tar DIR\n"
                            "  package unpack [--disk-limit BYTES] [--result-fd FD] PACKAGE DIR\n"
                            "  build -t NAME[:TAG] [-f FILE] [--build-arg K=V]... [--no-cache] [-q] [--disk-limit SIZE]\n"
                            "        [--memory SIZE] [--cpus N] [--pids N] [--network MODE] DIR\n"
                            "  mkimage DIR... [--layer-tar TAR]... [--cmd CMD] [--entrypoint CMD] [--env K=V]...\n"
                            "          [--workdir DIR] [--user USER] [--tag NAME] [--arch ARCH] [--mtime SECS] -o OUT\n";

static void
print_usage (FILE *f)
{
  fputs (usage, f);
}

/* `chuted-image CMD --help`: CMD's lines of USAGE (its own line and the
 * indented ones continuing it), so the one usage text serves both. */
static void
print_command_usage (FILE *f, const char *cmd)
{
  size_t n = strlen (cmd);
  bool in = false;

  for (const char *l = strchr (usage, '\n') + 1; *l; l = strchr (l, '\n') + 1)
    {
      size_t len = (size_t) (strchr (l, '\n') - l);
      if (strncmp (l, "  ", 2) == 0 && l[2] != ' ')
        in = strncmp (l + 2, cmd, n) == 0 && (l[2 + n] == ' ' || l[2 + n] == '\n');
      if (in)
        fprintf (f, "%s%.*s\n", l[2] != ' ' ? "usage: chuted " : "              ", (int) len - 2, l + 2);
    }
}

enum
{
  O_INSECURE = 256,
  O_PLATFORM,
  O_TAG,
  O_JSON,
  O_CHUTE,
  O_DISK,
  O_COPY,
  O_VOLATILE,
  O_SUID,
  O_PRIV,
  O_LAYERTAR,
  O_CMD,
  O_EP,
  O_ENV,
  O_WD,
  O_USER,
  O_ARCH,
  O_MTIME,
  O_RESULT_FD,
};

static const struct option long_opts[] = {
  { "insecure-registry", no_argument, NULL, O_INSECURE },
  { "platform", required_argument, NULL, O_PLATFORM },
  { "tag", required_argument, NULL, O_TAG },
  { "json", no_argument, NULL, O_JSON },
  { "quiet", no_argument, NULL, 'q' },
  { "force", no_argument, NULL, 'f' },
  { "chute", required_argument, NULL, O_CHUTE },
  { "disk-limit", required_argument, NULL, O_DISK },
  { "copy", no_argument, NULL, O_COPY },
  { "volatile", no_argument, NULL, O_VOLATILE },
  { "allow-suid", no_argument, NULL, O_SUID },
  { "privileged", no_argument, NULL, O_PRIV },
  { "layer-tar", required_argument, NULL, O_LAYERTAR },
  { "cmd", required_argument, NULL, O_CMD },
  { "entrypoint", required_argument, NULL, O_EP },
  { "env", required_argument, NULL, O_ENV },
  { "workdir", required_argument, NULL, O_WD },
  { "user", required_argument, NULL, O_USER },
  { "arch", required_argument, NULL, O_ARCH },
  { "mtime", required_argument, NULL, O_MTIME },
  { "output", required_argument, NULL, 'o' },
  { "result-fd", required_argument, NULL, O_RESULT_FD },
  { NULL, 0, NULL, 0 },
};

struct opts
{
  bool insecure, json, quiet, copy, suid, priv, volatile_upper, force;
  const char *platform, *tag, *chute, *output, *arch;
  uint64_t disk_limit;
  int64_t mtime;
  int result_fd; /* mount: send the image record here, result or error (-1: JSON on stdout, errors on stderr) */
  char **layer_tars;
  json_t *config;
};

/* "[\"a\",\"b\"]" as JSON, anything else split on blanks. */
static json_t *
parse_cmd (const char *s, ch_error_t *err)
{
  json_t *a;
  if (*s == '[')
    {
      json_t *j = NULL;
      size_t i;
      json_t *v;
      if (ch_json_load_buf ("--cmd", s, strlen (s), &j, err) < 0)
        return NULL;
      if (!json_is_array (j))
        {
          json_decref (j);
          ch_error (err, 0, "`%s`: want a JSON array of strings", s);
          return NULL;
        }
      json_array_foreach (j, i, v) if (!json_is_string (v))
      {
        json_decref (j);
        ch_error (err, 0, "`%s`: want a JSON array of strings", s);
        return NULL;
      }
      return j;
    }
  a = json_array ();
  {
    cleanup_free char *c = xstrdup (s);
    char *save = NULL, *t;
    for (t = strtok_r (c, " \t", &save); t; t = strtok_r (NULL, " \t", &save))
      json_array_append_new (a, json_string (t));
  }
  return a;
}

static int
parse_opts (int argc, char **argv, struct opts *o, ch_error_t *err)
{
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":qfo:", long_opts, NULL)) != -1)
    switch (c)
      {
      case O_INSECURE: o->insecure = true; break;
      case O_PLATFORM: o->platform = optarg; break;
      case O_TAG: o->tag = optarg; break;
      case O_JSON: o->json = true; break;
      case 'q': o->quiet = true; break;
      case 'f': o->force = true; break;
      case O_CHUTE: o->chute = optarg; break;
      case O_DISK:
        if (ch_parse_size (optarg, &o->disk_limit, err) < 0)
          return ch_error_prefix (err, "--disk-limit");
        break;
      case O_COPY: o->copy = true; break;
      case O_VOLATILE: o->volatile_upper = true; break;
      case O_SUID: o->suid = true; break;
      case O_PRIV: o->priv = true; break;
      case 'o': o->output = optarg; break;
      case O_ARCH: o->arch = optarg; break;
      case O_LAYERTAR: ch_strv_append (&o->layer_tars, optarg); break;
      case O_RESULT_FD:
        {
          int64_t v;
          if (ch_parse_int (optarg, 0, INT32_MAX, &v, err) < 0)
            return ch_error_prefix (err, "--result-fd");
          o->result_fd = v;
          break;
        }
      case O_MTIME:
        {
          int64_t v;
          if (ch_parse_int (optarg, 0, INT64_MAX, &v, err) < 0)
            return ch_error_prefix (err, "--mtime");
          o->mtime = v;
          break;
        }
      case O_CMD:
      case O_EP:
        {
          json_t *a = parse_cmd (optarg, err);
          if (a == NULL)
            return -1;
          json_object_set_new (o->config, c == O_CMD ? "Cmd" : "Entrypoint", a);
          break;
        }
      case O_ENV:
        if (strchr (optarg, '=') == NULL)
          return ch_error (err, 0, "--env `%s`: want KEY=VALUE", optarg);
        if (!json_object_get (o->config, "Env"))
          json_object_set_new (o->config, "Env", json_array ());
        json_array_append_new (json_object_get (o->config, "Env"), json_string (optarg));
        break;
      case O_WD: json_object_set_new (o->config, "WorkingDir", json_string (optarg)); break;
      case O_USER: json_object_set_new (o->config, "User", json_string (optarg)); break;
      case ':': return ch_getopt_missing_value (long_opts, argv, err);
      default:
        return ch_error (err, 0, "%s: unknown option `%s`", argv[0], argv[optind - 1]);
      }
  return 0;
}

static int
open_store (struct ctx *c, bool exclusive, struct ch_store **s, ch_error_t *err)
{
  return ch_store_open (c->root, exclusive, s, err);
}

/* pull and login live in chuted-image-pull (the only program linking
 * libcurl): with our own arguments it replaces us; with ARGS of our own it
 * runs as a child that sends its record on fd 3. */
static char **
pull_tool_argv (struct ctx *c, char **args, ch_error_t *err)
{
  cleanup_free char *dir = NULL, *tool = NULL;
  char **argv = NULL;

  if (ch_self_dir (&dir, err) < 0)
    return NULL;
  tool = xasprintf ("%s/chuted-image-pull", dir);
  ch_strv_append (&argv, tool);
  ch_strv_append (&argv, "--root");
  ch_strv_append (&argv, c->root);
  for (size_t i = 0; args[i]; i++)
    ch_strv_append (&argv, args[i]);
  return argv;
}

static int
exec_pull_tool (struct ctx *c, ch_error_t *err)
{
  cleanup_strv char **argv = pull_tool_argv (c, c->argv, err);

  if (argv == NULL)
    return -1;
  fflush (stdout);
  execv (argv[0], argv);
  return ch_error (err, errno, "exec `%s`", argv[0]);
}

static int
cmd_load (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  cleanup_free char *ref = NULL, *digest = NULL, *src = NULL;
  int r;

  if (argc != 1)
    return ch_error (err, 0, "load: want exactly one source (oci-archive:PATH, docker-archive:PATH, oci:DIR)");
  /* a bare path: a directory is an OCI layout, a file an archive of either kind */
  if (ch_import_is_transport (argv[0]))
    src = xstrdup (argv[0]);
  else
    {
      struct stat st;
      src = xasprintf ("%s:%s", stat (argv[0], &st) == 0 && S_ISDIR (st.st_mode) ? "oci" : "oci-archive", argv[0]);
    }
  if (open_store (c, false, &s, err) < 0)
    return -1;
  r = ch_import (s, src, o->tag, o->platform, &(struct ch_unpack_opts){ .progress = !o->quiet && isatty (2) }, &ref,
                 &digest, err);
  ch_store_free (s);
  if (r < 0)
    return -1;
  if (!o->quiet)
    printf ("Loaded image: %s\n", ref);
  return 0;
}

static int
cmd_images (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  cleanup_json json_t *l = NULL;
  json_t *e;
  size_t i;
  int r;

  if (argc != 0)
    return ch_error (err, 0, "images: unexpected argument `%s`", argv[0]);
  if (open_store (c, false, &s, err) < 0)
    return -1;
  r = ch_image_list (s, &l, err);
  ch_store_free (s);
  if (r < 0)
    return -1;
  if (o->json)
    {
      cleanup_free char *t = json_dumps (l, JSON_INDENT (2));
      printf ("%s\n", t);
      return 0;
    }
  if (!o->quiet)
    printf ("%-40s %-14s %10s\n", "REF", "IMAGE ID", "SIZE");
  json_array_foreach (l, i, e)
  {
    const char *id = json_string_value (json_object_get (e, "id"));
    const char *ref = json_string_value (json_object_get (e, "ref"));
    if (o->quiet)
      printf ("%s\n", ref ? ref : json_string_value (json_object_get (e, "digest")));
    else
      printf ("%-40s %-14.12s %9.1fM\n", ref ? ref : "<none>", id ? id + 7 : "broken",
              json_integer_value (json_object_get (e, "size")) / 1048576.0);
  }
  return 0;
}

static int
cmd_prune_after (struct ch_store *s, struct ctx *c, bool quiet, ch_error_t *err)
{
  struct ch_gc_stats st;
  struct ch_ctx cx = { .root = c->root, .run_root = c->run_root };
  cleanup_free char *chutes = ch_chutes_dir (&cx);
  if (ch_gc_prune (s, chutes, &st, err) < 0)
    return -1;
  if (!quiet)
    printf ("removed %u blobs (%.1f MB), %u unpacked layers and %u partial downloads/unpacks (%.1f MB)\n", st.blobs,
            st.bytes / 1e6, st.layers, st.temps, st.temp_bytes / 1e6);
  return 0;
}

static int
cmd_rmi (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  int i, r = 0;

  if (argc < 1)
    return ch_error (err, 0, "rmi: want at least one image");
  if (open_store (c, true, &s, err) < 0)
    return -1;
  for (i = 0; i < argc && r == 0; i++)
    {
      cleanup_free char *what = NULL;
      struct ch_ctx cx = { .root = c->root, .run_root = c->run_root };
      bool untagged;
      r = o->force ? 0 : ch_image_check_unused (&cx, s, argv[i], err);
      if (r == 0)
        r = ch_image_remove (s, argv[i], &what, &untagged, err);
      if (r == 0)
        printf ("%s: %s\n", untagged ? "Untagged" : "Deleted", what);
    }
  if (r == 0)
    r = cmd_prune_after (s, c, true, err);
  ch_store_free (s);
  return r;
}

static int
cmd_image (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  int r;

  if (argc >= 1 && strcmp (argv[0], "prune") == 0)
    {
      if (open_store (c, true, &s, err) < 0)
        return -1;
      r = cmd_prune_after (s, c, o->quiet, err);
      ch_store_free (s);
      return r;
    }
  if (argc >= 1 && strcmp (argv[0], "ls") == 0)
    return cmd_images (c, o, argc - 1, argv + 1, err);
  if (argc == 2 && strcmp (argv[0], "inspect") == 0)
    {
      cleanup_json json_t *config = NULL;
      cleanup_free char *t = NULL;
      if (open_store (c, false, &s, err) < 0)
        return -1;
      r = ch_image_inspect (s, argv[1], o->platform, &config, err);
      ch_store_free (s);
      if (r < 0)
        return -1;
      t = json_dumps (config, JSON_INDENT (2));
      printf ("%s\n", t);
      return 0;
    }
  return ch_error (err, 0, "image: want `prune`, `ls` or `inspect REF`");
}

static int
cmd_logout (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  if (argc != 1)
    return ch_error (err, 0, "logout: want exactly one registry");
  if (ch_auth_remove (c->root, argv[0], err) < 0)
    return -1;
  printf ("Removed login credentials for %s\n", argv[0]);
  return 0;
}

/* The pull's progress records, passed on to our own caller. */
static void
forward_progress (void *data, uint64_t bytes, uint64_t total)
{
  struct ctx *c = data;
  cleanup_error ch_error_t e = NULL;

  if (c->opts->result_fd >= 0)
    ch_image_progress_send (c->opts->result_fd, bytes, total, &e);
}

/* ch_image_fetch_mount's pull: chuted-image-pull, whose outcome comes back
 * as an image record with its class (unreachable, unauthorized, not found).
 * It takes the store lock itself (shared, as ours). */
static int
pull_for_mount (const char *ref, void *data, ch_error_t *err)
{
  struct ctx *c = data;
  cleanup_strv char **pa = NULL, **argv = NULL;
  struct ch_image_result res;
  int r;

  ch_strv_append (&pa, "pull");
  ch_strv_append (&pa, "-q");
  if (c->opts->insecure)
    ch_strv_append (&pa, "--insecure-registry");
  if (c->opts->platform)
    {
      ch_strv_append (&pa, "--platform");
      ch_strv_append (&pa, c->opts->platform);
    }
  ch_strv_append (&pa, "--result-fd");
  ch_strv_append (&pa, "3");
  ch_strv_append (&pa, ref);
  argv = pull_tool_argv (c, pa, err);
  if (argv == NULL || ch_image_run_child_progress (argv, "chuted-image-pull", forward_progress, c, &res, err) < 0)
    return -1;
  r = res.status == CH_IMAGE_OK ? 0 : ch_image_result_error (&res, err);
  ch_image_result_clear (&res);
  return r;
}

/* A chute's names and paths are mgmt/chute.c's (image/ only gets the dirs). */
static int
chute_dirs (const struct ctx *c, const char *chute, char **state_dir, char **run_dir, struct ch_snapshot_dirs *d,
            ch_error_t *err)
{
  struct ch_ctx cx = { .root = c->root, .run_root = c->run_root };

  if (ch_chute_name_check (chute, err) < 0)
    return -1;
  *state_dir = ch_disk_state_dir (&cx, chute);
  *run_dir = ch_chute_run_dir (&cx, chute);
  *d = (struct ch_snapshot_dirs){ .chute = chute, .state_dir = *state_dir, .run_dir = *run_dir };
  return 0;
}

/* The outcome R of a mount or fetch to the caller: the record on
 * --result-fd, either way, else JSON on stdout (errors: main's). */
static int
send_outcome (struct opts *o, int r, struct ch_image_result *res, ch_error_t *err)
{
  cleanup_free char *out = NULL;

  if (o->result_fd < 0)
    {
      if (r == 0)
        printf ("%s\n", out = ch_image_result_encode (res));
      ch_image_result_clear (res);
      return r;
    }
  if (r < 0)
    ch_image_result_fail (res, err);
  r = ch_image_result_send (o->result_fd, res, err) < 0 ? -1 : res->status == CH_IMAGE_OK ? 0 : 1;
  ch_image_result_clear (res);
  return r;
}

/* An image made ready for chutes to start from at once: pulled or
 * imported, its layers unpacked, nothing mounted. */
static int
cmd_fetch (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  struct ch_image_result res = { 0 };
  struct ch_fetch_opts fo = {
    .platform = o->platform,
    .tag = o->tag,
    .unpack = { .limit = o->disk_limit, .keep_devices = o->priv },
    .pull = pull_for_mount,
    .pull_data = c,
  };
  int r = -1;

  if (argc != 1)
    r = ch_error (err, 0, "fetch: want one REF");
  else if (open_store (c, false, &s, err) == 0)
    {
      r = ch_image_fetch (s, argv[0], &fo, &res, err);
      if (r < 0)
        ch_error_prefix (err, "fetch %s", argv[0]);
    }
  ch_store_free (s);
  return send_outcome (o, r, &res, err);
}

static int
cmd_mount (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_store *s = NULL;
  struct ch_image_result res = { 0 };
  cleanup_free char *state_dir = NULL, *run_dir = NULL;
  struct ch_snapshot_dirs dirs;
  struct ch_fetch_opts fo = {
    .platform = o->platform,
    .tag = o->tag,
    .unpack = { .limit = o->disk_limit, .keep_devices = o->priv },
    .mount = { .disk_limit = o->disk_limit, .force_copy = o->copy || getenv ("CHUTED_IMAGE_NO_OVERLAY"),
               .allow_suid = o->suid, .volatile_upper = o->volatile_upper },
    .pull = pull_for_mount,
    .pull_data = c,
  };
  int r = -1;

  if (argc != 1 || o->chute == NULL)
    r = ch_error (err, 0, "mount: want REF --chute NAME");
  else if (chute_dirs (c, o->chute, &state_dir, &run_dir, &dirs, err) == 0)
    {
      if (open_store (c, false, &s, err) == 0)
        r = ch_image_fetch_mount (s, &dirs, argv[0], &fo, &res, err);
      ch_store_free (s);
      if (r < 0)
        ch_error_prefix (err, "mount %s", argv[0]);
    }
  return send_outcome (o, r, &res, err);
}

static int
cmd_unmount (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  cleanup_free char *state_dir = NULL, *run_dir = NULL;
  struct ch_snapshot_dirs dirs;

  if (argc != 0 || o->chute == NULL)
    return ch_error (err, 0, "unmount: want --chute NAME");
  if (chute_dirs (c, o->chute, &state_dir, &run_dir, &dirs, err) < 0)
    return -1;
  return ch_snapshot_unmount (&dirs, err);
}

static int
cmd_mkimage (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_build_opts b = { 0 };
  cleanup_strv char **dirs = NULL;
  int i;

  if (o->output == NULL)
    return ch_error (err, 0, "mkimage: -o OUT is required");
  if (argc == 0 && o->layer_tars == NULL)
    return ch_error (err, 0, "mkimage: want at least one directory");
  for (i = 0; i < argc; i++)
    ch_strv_append (&dirs, argv[i]);
  b.layer_dirs = dirs;
  b.layer_tars = o->layer_tars;
  b.config = o->config;
  b.tag = o->tag;
  b.output = o->output;
  b.arch = o->arch;
  b.mtime = o->mtime;
  return ch_build_image (&b, err);
}

/* One layer tar into a new directory, exactly as the store does it (bench, debugging). */
static int
cmd_unpack (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_unpack_opts uo = { .limit = o->disk_limit, .keep_devices = o->priv };
  struct ch_unpack_stats st;
  cleanup_close int fd = -1, dfd = -1;

  if (argc != 2)
    return ch_error (err, 0, "unpack: want LAYER.tar DIR");
  fd = open (argv[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "open `%s`", argv[0]);
  if (mkdir (argv[1], 0755) < 0)
    return ch_error (err, errno, "mkdir `%s`", argv[1]);
  dfd = open (argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ch_unpack_fd (fd, dfd, &uo, &st, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      if (dfd < 0)
        ch_error (err, errno, "open `%s`", argv[1]);
      ch_rm_rf (argv[1], &e);
      return ch_error_prefix (err, "unpack `%s`", argv[0]);
    }
  if (!o->quiet)
    printf ("%llu entries, %llu bytes, %llu dropped\n", (unsigned long long) st.entries,
            (unsigned long long) st.bytes, (unsigned long long) st.dropped);
  return 0;
}

/* A chute package (tar, tar.gz) into the existing empty DIR, for `chuted
 * deploy`; the outcome goes to --result-fd as an image record (rootfs: DIR). */
static int
cmd_package (struct ctx *c, struct opts *o, int argc, char **argv, ch_error_t *err)
{
  struct ch_image_result res = { 0 };
  int r;

  if (argc != 3 || strcmp (argv[0], "unpack") != 0)
    return ch_error (err, 0, "package: want `unpack PACKAGE DIR`");
  r = ch_package_unpack (argv[1], argv[2], o->disk_limit, CH_PACKAGE_MAX_ENTRIES, err);
  if (o->result_fd < 0)
    return r;
  if (r < 0)
    ch_image_result_fail (&res, err);
  else
    res.rootfs = xstrdup (argv[2]);
  r = ch_image_result_send (o->result_fd, &res, err) < 0 ? -1 : res.status == CH_IMAGE_OK ? 0 : 1;
  ch_image_result_clear (&res);
  return r;
}

struct command
{
  const char *name;
  int (*fn) (struct ctx *, struct opts *, int, char **, ch_error_t *); /* NULL: run by chuted-image-pull */
};

static const struct command commands[] = {
  { "pull", NULL },     { "load", cmd_load },       { "images", cmd_images },   { "rmi", cmd_rmi },
  { "image", cmd_image },   { "login", NULL },     { "logout", cmd_logout },     { "mount", cmd_mount },     { "unmount", cmd_unmount },
  { "mkimage", cmd_mkimage }, { "unpack", cmd_unpack }, { "fetch", cmd_fetch }, { "build", NULL },
  { "package", cmd_package }, { NULL, NULL },
};

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  struct ctx c = { 0 };
  struct ch_globals g;
  struct opts o = { 0 };
  const struct command *cmd;
  const char *prog = strrchr (argv[0], '/') ? strrchr (argv[0], '/') + 1 : argv[0];
  int i, r = -1, code;

  i = ch_globals_main (argc, argv, prog, print_usage, &g, &code);
  if (i < 0)
    return code;
  c.root = g.root;
  c.run_root = g.run_root;
  for (cmd = commands; cmd->name; cmd++)
    if (strcmp (cmd->name, argv[i]) == 0)
      break;
  if (cmd->name == NULL)
    {
      fprintf (stderr, "%s: unknown command `%s`\n%s", prog, argv[i], usage);
      return 2;
    }
  for (int k = i + 1; k < argc && strcmp (argv[k], "--") != 0; k++)
    if (strcmp (argv[k], "--help") == 0 || strcmp (argv[k], "-h") == 0)
      {
        print_command_usage (stdout, cmd->name);
        return 0;
      }
  /* the Dockerfile builder parses its own options (mgmt/build_cli.c) */
  if (strcmp (cmd->name, "build") == 0)
    return ch_build_main (&g, argc - i, argv + i);
  c.argv = argv + i;
  c.opts = &o;
  /* pull and login are chuted-image-pull's, options and all */
  if (cmd->fn == NULL)
    {
      exec_pull_tool (&c, &err);
      ch_error_print (&err, prog);
      return 125;
    }
  o.config = json_object ();
  o.mtime = 0;
  o.result_fd = -1;
  {
    const char *sde = getenv ("SOURCE_DATE_EPOCH");
    if (sde)
      o.mtime = strtoll (sde, NULL, 10);
  }
  code = 2; /* a usage error, as podman */
  if (parse_opts (argc - i, argv + i, &o, &err) == 0)
    {
      code = 125; /* our own error */
      r = cmd->fn (&c, &o, argc - i - optind, argv + i + optind, &err);
    }
  json_decref (o.config);
  ch_strv_free (o.layer_tars);
  if (r < 0)
    {
      ch_error_print (&err, prog);
      return code;
    }
  return r;
}
