/* chuted info [--json]: what this host gives chutes, as `podman info` does:
 * kernel, cgroup layout, overlayfs, nftables, radios, storage, runtime. */
#include "cgroups/cgroup.h"
#include "common/file.h"
#include "common/globals.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/commands.h"
#include "netns/net.h"
#include "netns/wifi.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

enum
{
  O_JSON = 256
};

const struct ch_opt ch_opts_info[] = {
  { "json", O_JSON, NULL, "JSON" },
  CH_OPT_END,
};

/* Is "NAME" a line's last word in /proc/filesystems ("nodev\toverlay")? */
static bool
has_filesystem (const char *name)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *s = NULL;
  size_t len;

  if (ch_read_file_max ("/proc/filesystems", 1 << 16, &s, &len, &err) < 0)
    return false;
  for (char *line = strtok (s, "\n"); line; line = strtok (NULL, "\n"))
    {
      char *w = strrchr (line, '\t');
      if (strcmp (w ? w + 1 : line, name) == 0)
        return true;
    }
  return false;
}

static json_t *
storage (const char *dir)
{
  struct statvfs sv;

  if (statvfs (dir, &sv) < 0)
    return json_pack ("{s:s, s:n, s:n}", "path", dir, "free_bytes", "total_bytes");
  return json_pack ("{s:s, s:I, s:I}", "path", dir, "free_bytes", (json_int_t) sv.f_bavail * (json_int_t) sv.f_frsize,
                    "total_bytes", (json_int_t) sv.f_blocks * (json_int_t) sv.f_frsize);
}

json_t *
ch_host_info (struct ch_ctx *ctx)
{
  cleanup_error ch_error_t e = NULL;
  struct utsname u;
  enum ch_cgroup_mode mode;
  json_t *radios = NULL, *wifi = NULL;
  cleanup_free char *runtime = xasprintf ("%s/chuted-runtime", ctx->bin_dir);

  uname (&u);
  if (ch_wifi_list (ctx->root, ctx->run_root, &wifi, &e) == 0)
    radios = json_incref (json_object_get (wifi, "radios"));
  json_decref (wifi);
  ch_error_release (&e);
  return json_pack ("{s:s, s:{s:s, s:s, s:s}, s:o, s:b, s:b, s:o, s:{s:o, s:o}, s:{s:s, s:s, s:b}}", "version",
                    CH_VERSION, "kernel", "release", u.release, "version", u.version, "arch", u.machine, "cgroups",
                    ch_cgroup_detect (&mode, &e) == 0 ? json_string (ch_cgroup_mode_name (mode)) : json_null (),
                    "overlay", has_filesystem ("overlay"), "nftables", ch_net_nft_available (),
                    "radios", radios ? radios : json_array (), "storage", "root", storage (ctx->root), "run_root",
                    storage (ctx->run_root), "runtime", "path", runtime,
                    /* built and installed together (make install puts them side by side) */
                    "version", CH_VERSION, "present", access (runtime, X_OK) == 0);
}

static void
print_storage (const char *what, json_t *s)
{
  json_t *f = json_object_get (s, "free_bytes");

  if (json_is_integer (f))
    printf ("%-10s %s (%.1f GiB free of %.1f GiB)\n", what, json_string_value (json_object_get (s, "path")),
            (double) json_integer_value (f) / (1 << 30),
            (double) json_integer_value (json_object_get (s, "total_bytes")) / (1 << 30));
  else
    printf ("%-10s %s (not there yet)\n", what, json_string_value (json_object_get (s, "path")));
}

int
ch_cmd_info (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_json json_t *info = NULL;
  bool as_json = false;
  json_t *v;
  size_t i;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_info);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    as_json = true;
  if (o < 0)
    return ch_cli_done (&p);
  if (optind < argc)
    return ch_cli_usage_error (ctx, err, "takes no operand (`%s`)", argv[optind]);
  info = ch_host_info (ctx);
  if (as_json)
    {
      cleanup_free char *s = json_dumps (info, JSON_INDENT (2));
      printf ("%s\n", s);
      return 0;
    }
  printf ("%-10s %s\n", "version", CH_VERSION);
  printf ("%-10s %s %s\n", "kernel", json_string_value (json_object_get (json_object_get (info, "kernel"), "release")),
          json_string_value (json_object_get (json_object_get (info, "kernel"), "arch")));
  v = json_object_get (info, "cgroups");
  printf ("%-10s %s\n", "cgroups", json_is_string (v) ? json_string_value (v) : "unknown");
  printf ("%-10s %s\n", "overlay", json_is_true (json_object_get (info, "overlay")) ? "yes" : "no (chutes get a copy)");
  printf ("%-10s %s\n", "nftables", json_is_true (json_object_get (info, "nftables")) ? "yes" : "no");
  printf ("%-10s", "radios");
  json_array_foreach (json_object_get (info, "radios"), i, v)
    printf (" %s", json_string_value (json_object_get (v, "phy")));
  printf ("%s\n", json_array_size (json_object_get (info, "radios")) ? "" : " none");
  print_storage ("root", json_object_get (json_object_get (info, "storage"), "root"));
  print_storage ("run-root", json_object_get (json_object_get (info, "storage"), "run_root"));
  printf ("%-10s %s\n", "runtime", json_string_value (json_object_get (json_object_get (info, "runtime"), "path")));
  return 0;
}
