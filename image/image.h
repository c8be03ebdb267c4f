/* image/: what the rest of chuted calls. mgmt/ (`chuted run/rm`) mounts a
 * present image in-process and unmounts it; the chuted-image programs import,
 * pull, log in, collect garbage and build. Hashing, the blob writer, manifests
 * and the unpacker are internal (image/internal.h).
 *
 * On disk, under ROOT/images:
 *   oci/              an OCI image layout (oci-layout, index.json, blobs/sha256/)
 *                     readable as is by skopeo (oci:<root>/images/oci:REF) and umoci
 *   layers/<hex>/fs   each layer unpacked once, keyed by its blob digest, in
 *                     overlayfs format (whiteout = char 0:0, opaque = xattr)
 *   layers/<hex>/size bytes the layer takes unpacked (checked against disk limits)
 *   tmp/              partial blobs and unpacks; a crash leaves only this
 *   lock              flock: shared while pulling/loading/mounting, exclusive for gc
 *   index.lock        flock around read-modify-write of oci/index.json
 * Per chute: <root>/chutes/NAME/overlay/{upper,work,mount.json} (+ copy/ when
 * overlay is unavailable), mounted at <run-root>/chutes/NAME/rootfs. */
#ifndef CH_IMAGE_H
#define CH_IMAGE_H

#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CH_DEFAULT_DISK_LIMIT (1ULL << 30)

/* ---- store.c: the store, opened with its lock held ---- */
struct ch_store;
/* Create the layout if missing and take the store lock (shared, or exclusive for gc). */
int ch_store_open (const char *root, bool exclusive, struct ch_store **out, ch_error_t *err);
void ch_store_free (struct ch_store *s);

/* ---- lookup.c: a present image, from reference to mounted chute rootfs ---- */
struct ch_image;
/* REF (name, image id, or a name as written) -> the store's *NAME for it and
 * the manifest for PLATFORM (NULL: this host's). ENOENT when not present. */
int ch_image_lookup (struct ch_store *s, const char *ref, const char *platform, char **name, char **manifest_digest,
                     ch_error_t *err);
int ch_image_load (struct ch_store *s, const char *manifest_digest, struct ch_image **out, ch_error_t *err);
void ch_image_free (struct ch_image *img);

struct ch_mount_opts
{
  uint64_t disk_limit; /* the layers' unpacked size must fit (0 = default 1 GiB) */
  bool force_copy;     /* don't try overlay */
  bool allow_suid;     /* mount without nosuid */
  bool volatile_upper; /* overlay "volatile": for chutes removed when they stop */
};
/* Mount IMG (stored as NAME) for CHUTE; *OUT = {rootfs, config (Cmd, Env, ...),
 * image (config digest), ref}. ENOENT when a layer is not unpacked yet. */
int ch_image_mount_chute (struct ch_store *s, const char *root, const char *run_root, const char *chute, const char *name,
                          struct ch_image *img, const struct ch_mount_opts *mo, json_t **out, ch_error_t *err);
int ch_snapshot_unmount (const char *root, const char *run_root, const char *name, ch_error_t *err);

/* ---- unpack.c: a layer tar into a directory, never leaving it ---- */
struct ch_unpack_opts
{
  uint64_t limit;     /* disk bytes: data in whole fs blocks + per-entry inode cost; 0 = CH_DEFAULT_DISK_LIMIT */
  bool keep_devices;  /* keep device nodes and FIFOs (privileged); dropped otherwise */
};
struct ch_unpack_stats
{
  uint64_t bytes, entries, dropped;
};
/* Unpack the (optionally gzip/zstd-compressed) tar read from FD into the
 * directory ROOTFD, whiteouts turned into overlayfs ones. Every entry is
 * resolved inside ROOTFD (openat2 RESOLVE_IN_ROOT). */
int ch_unpack_fd (int fd, int rootfd, const struct ch_unpack_opts *opts, struct ch_unpack_stats *stats,
                  ch_error_t *err);

/* ---- import.c: oci-archive:, docker-archive:, oci: ---- */
bool ch_import_is_transport (const char *ref);
/* Import SRC into the store; *REF_OUT = the name it is stored under (TAG if
 * given, else the archive's own name, else the manifest digest). Layers are
 * unpacked (bounded by UO, NULL for the defaults) before the name appears. */
int ch_import (struct ch_store *s, const char *src, const char *tag, const char *platform,
               const struct ch_unpack_opts *uo, char **ref_out, char **manifest_digest, ch_error_t *err);

/* ---- registry.c, auth.c: registry v2 pull and login ---- */
struct ch_pull_opts
{
  const char *platform;  /* NULL: this host's */
  const char *root;      /* for <root>/auth.json and <root>/certs.d/HOST/ca.crt */
  const char *ca_file;   /* extra CA for this pull */
  bool insecure;         /* plain http */
  bool progress;         /* progress line on stderr */
  int jobs;              /* concurrent blob fetches (default 3) */
};
int ch_pull (struct ch_store *s, const char *ref, const struct ch_pull_opts *opts, char **manifest_digest,
             ch_error_t *err);
/* Check USER/PASS against REGISTRY and store them in <root>/auth.json (0600). */
int ch_login (const struct ch_pull_opts *opts, const char *registry, const char *user, const char *pass,
              ch_error_t *err);
int ch_auth_remove (const char *root, const char *registry, ch_error_t *err);

/* ---- gc.c ---- */
struct ch_gc_stats
{
  unsigned blobs, layers;
  uint64_t bytes;
  unsigned temps;      /* partial blobs/unpacks of killed loads and pulls */
  uint64_t temp_bytes; /* ... the disk they took */
};
/* Remove blobs and unpacked layers no ref (and no mounted chute) uses, and
 * every temp entry (with those the store's open removed, counted too). */
int ch_gc_prune (struct ch_store *s, const char *root, struct ch_gc_stats *stats, ch_error_t *err);

/* ---- build.c: an OCI image archive from directories (tools/mkimage) ---- */
struct ch_build_opts
{
  char **layer_dirs;  /* each a layer, bottom first */
  char **layer_tars;  /* raw tars appended as layers after the dirs (tests craft hostile ones) */
  json_t *config;     /* {Cmd, Entrypoint, Env, WorkingDir, User} */
  const char *tag;    /* ref.name annotation */
  const char *output; /* the .tar to write */
  const char *arch;   /* default: this host's */
  int64_t mtime;      /* every timestamp, for reproducible archives */
};
int ch_build_image (const struct ch_build_opts *opts, ch_error_t *err);

#endif
