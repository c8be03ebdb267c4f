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
 * Per chute (directories mgmt/ hands down, see struct ch_snapshot_dirs):
 * STATE_DIR/overlay/{upper,work,mount.json} (+ copy/ when overlay is
 * unavailable), mounted at RUN_DIR/rootfs. */
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
/* Is S a valid reference pinned by its digest ([REGISTRY/]REPO[:TAG]@sha256:HEX)? */
bool ch_ref_pinned (const char *s);

int ch_store_open (const char *root, bool exclusive, struct ch_store **out, ch_error_t *err);
void ch_store_free (struct ch_store *s);

/* ---- record.c: what an image program hands back, result or error ---- */
/* Why there is no result: what a caller (chuted run, a REST API, the cloud)
 * branches on; the message says the rest. */
enum ch_image_status
{
  CH_IMAGE_OK = 0,
  CH_IMAGE_ABSENT,       /* not in the store with its layers unpacked: fetch it first */
  CH_IMAGE_NOT_FOUND,    /* no such image where it was looked for (not stored, manifest unknown) */
  CH_IMAGE_UNAUTHORIZED, /* the registry wants (other) credentials */
  CH_IMAGE_UNREACHABLE,  /* the registry cannot be reached (refused, DNS, TLS) */
  CH_IMAGE_INVALID,      /* bad reference or content (digest mismatch) */
  CH_IMAGE_TOO_BIG,      /* over the disk limit */
  CH_IMAGE_FAILED,       /* anything else */
};
struct ch_image_result
{
  enum ch_image_status status;
  char *message;  /* status != OK: one line, what, where, why */
  char *ref;      /* the store's name for the image */
  char *manifest; /* its manifest digest */
  char *image_id; /* its config digest */
  char *rootfs;   /* mount: the chute's root filesystem */
  json_t *config; /* mount: {Cmd, Entrypoint, Env, WorkingDir, User}, as checked at load */
};
void ch_image_result_clear (struct ch_image_result *r);
const char *ch_image_status_name (enum ch_image_status s);
/* R becomes the error in *ERR (released), its status the class of
 * (*ERR)->status: ENOENT not found, EACCES unauthorized, ECONNREFUSED
 * unreachable, EBADMSG invalid, EFBIG too big, else failed. */
void ch_image_result_fail (struct ch_image_result *r, ch_error_t *err);
/* The reverse: < 0 with *ERR = R's message, its errno class R's status. */
int ch_image_result_error (const struct ch_image_result *r, ch_error_t *err);
/* The one wire form, a JSON object: {status, message, ref, manifest, image, rootfs, config}. */
char *ch_image_result_encode (const struct ch_image_result *r);
int ch_image_result_decode (const char *buf, size_t len, struct ch_image_result *out, ch_error_t *err);
/* Over a pipe: the child sends one record and closes; the parent reads to EOF
 * (FROM names the child in errors). */
int ch_image_result_send (int fd, const struct ch_image_result *r, ch_error_t *err);
int ch_image_result_recv (int fd, const char *from, struct ch_image_result *out, ch_error_t *err);
/* Run ARGV (an image program told to send its record to fd 3: chuted-image
 * mount, chuted-image-pull pull) sharing our stdin, stdout and stderr, and
 * read its record into OUT. < 0 only when no record came (WHAT names the
 * program); a record that is an error is OUT->status, not an error here. */
int ch_image_run_child (char *const argv[], const char *what, struct ch_image_result *out, ch_error_t *err);

/* ---- progress.c: a fetch's bytes on the record pipe, before the result ---- */
typedef void (*ch_image_progress_fn) (void *data, uint64_t bytes, uint64_t total);
/* One progress record {"type":"progress","bytes":N,"total":M} and a newline. */
int ch_image_progress_send (int fd, uint64_t bytes, uint64_t total, ch_error_t *err);
/* Read FD to EOF: each progress record to FN (NULL: dropped) as it comes,
 * then the one result into OUT (ch_image_result_recv is this without FN). */
int ch_image_records_recv (int fd, const char *from, ch_image_progress_fn fn, void *data, struct ch_image_result *out,
                           ch_error_t *err);
/* ch_image_run_child, the child's progress records to FN as they come. */
int ch_image_run_child_progress (char *const argv[], const char *what, ch_image_progress_fn fn, void *data,
                                 struct ch_image_result *out, ch_error_t *err);

/* ---- lookup.c, snapshot.c: a chute's root filesystem from a present image ---- */
struct ch_mount_opts
{
  uint64_t disk_limit; /* the layers' unpacked size must fit (0 = default 1 GiB) */
  bool force_copy;     /* don't try overlay */
  bool allow_suid;     /* mount without nosuid */
  bool volatile_upper; /* overlay "volatile": for chutes removed when they stop */
};
/* A chute's directories, from mgmt/ (which alone knows names and layout). */
struct ch_snapshot_dirs
{
  const char *chute;     /* its name, for messages */
  const char *state_dir; /* persistent, absolute: the snapshot is STATE_DIR/overlay */
  const char *run_dir;   /* volatile, absolute: the mount point is RUN_DIR/rootfs */
};
/* Mount the image REF names (a name, an image id) from the store under ROOT
 * for the chute D at D->run_dir/rootfs. OUT->status is CH_IMAGE_OK (rootfs,
 * config, ref, manifest, image_id set) or CH_IMAGE_ABSENT when the image is
 * not in the store or a layer is not unpacked yet: then chuted-image mount
 * fetches it. Nothing here fetches, unpacks or hashes. */
int ch_image_mount (const char *root, const struct ch_snapshot_dirs *d, const char *ref,
                    const struct ch_mount_opts *mo, struct ch_image_result *out, ch_error_t *err);
/* 1 when REF is in the store under ROOT with every layer unpacked, fitting
 * in DISK_LIMIT (0: the default): a chute of it mounts without a fetch;
 * 0 when not (yet); < 0 on error. Nothing is fetched, unpacked or hashed. */
int ch_image_present (const char *root, const char *ref, uint64_t disk_limit, ch_error_t *err);
/* Unmount and remove the snapshot; D's directories go too if left empty. */
int ch_snapshot_unmount (const struct ch_snapshot_dirs *d, ch_error_t *err);

/* ---- catalog.c: what is stored ---- */
/* [{ref, digest, id, size, created} or {ref, digest, error}] for each index entry. */
int ch_image_list (struct ch_store *s, json_t **out, ch_error_t *err);
/* REF's image config (for PLATFORM, NULL: this host's), plus "_manifest". */
int ch_image_inspect (struct ch_store *s, const char *ref, const char *platform, json_t **out, ch_error_t *err);
/* Untag REF when it is a stored name (*UNTAGGED), else drop every name of
 * the image REF is the id or manifest digest of; *REMOVED says which.
 * What no name needs any more goes with ch_gc_prune. */
int ch_image_remove (struct ch_store *s, const char *ref, char **removed, bool *untagged, ch_error_t *err);

/* ---- unpack.c: a layer tar into a directory, never leaving it ---- */
struct ch_unpack_opts
{
  uint64_t limit;     /* disk bytes: data in whole fs blocks + per-entry inode cost; 0 = CH_DEFAULT_DISK_LIMIT */
  bool keep_devices;  /* keep device nodes and FIFOs (privileged); dropped otherwise */
  /* A chute package, not a layer: device nodes, FIFOs, sockets, whiteouts,
   * setuid/setgid files and symlinks pointing up (`..`) or out (absolute)
   * are refused; owners and xattrs are not kept. */
  bool package;
  uint64_t max_entries; /* 0: unbounded (a layer's are bounded by LIMIT's per-entry cost) */
  bool progress;      /* ch_import: a progress line on stderr while it reads an archive (load on a tty) */
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

/* ---- package.c: a chute package (tar, tar.gz) into the existing directory DIR ---- */
#define CH_PACKAGE_MAX_ENTRIES 65536 /* a chute's directory, not a distribution */
int ch_package_unpack (const char *file, const char *dir, uint64_t limit, uint64_t max_entries, ch_error_t *err);
/* A chute package in an OCI registry (docs/CLOUD.md, `chutectl push`): an
 * OCI image manifest of artifactType CH_MT_PACKAGE, its config a small JSON
 * {name, version} of CH_MT_PACKAGE_CONFIG, one layer of CH_MT_PACKAGE_LAYER
 * (the package's tar.gz); the chute's name and version also as annotations. */
#define CH_MT_PACKAGE "application/vnd.chuted.package.v1"
#define CH_MT_PACKAGE_CONFIG "application/vnd.chuted.package.config.v1+json"
#define CH_MT_PACKAGE_LAYER "application/vnd.chuted.package.layer.v1.tar+gzip"
#define CH_ANN_PACKAGE_NAME "io.chuted.chute.name"
#define CH_ANN_PACKAGE_VERSION "io.chuted.chute.version"

/* ---- fetch.c: chuted-image mount, for what ch_image_mount found absent ---- */
struct ch_fetch_opts
{
  const char *platform;         /* NULL: this host's */
  const char *tag;              /* the name an imported archive gets (NULL: its own) */
  struct ch_unpack_opts unpack; /* bounds of the layers' unpacking */
  struct ch_mount_opts mount;
  /* Pull REF into the store (NULL: nothing is pulled). */
  int (*pull) (const char *ref, void *data, ch_error_t *err);
  void *pull_data;
};
/* REF imported (an archive), found in the store, or pulled when it names a
 * registry of its own (docker.io is never contacted); then its layers
 * unpacked and mounted for CHUTE as ch_image_mount does (OUT->status OK). */
int ch_image_fetch_mount (struct ch_store *s, const struct ch_snapshot_dirs *chute, const char *ref,
                          const struct ch_fetch_opts *fo, struct ch_image_result *out, ch_error_t *err);
/* The same without the mount: REF present with its layers unpacked (OUT:
 * status OK, ref, manifest, image), for a chute to start from at once later. */
int ch_image_fetch (struct ch_store *s, const char *ref, const struct ch_fetch_opts *fo, struct ch_image_result *out,
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
  ch_image_progress_fn on_progress; /* NULL, or told the blobs' bytes so far, a few times a second */
  void *progress_data;
  int jobs;              /* concurrent blob fetches (default 3) */
};
int ch_pull (struct ch_store *s, const char *ref, const struct ch_pull_opts *opts, char **manifest_digest,
             ch_error_t *err);
/* Check USER/PASS against REGISTRY and store them in <root>/auth.json (0600). */
int ch_login (const struct ch_pull_opts *opts, const char *registry, const char *user, const char *pass,
              ch_error_t *err);
int ch_auth_remove (const char *root, const char *registry, ch_error_t *err);
/* Parse a WWW-Authenticate header value: scheme ("Bearer"/"Basic") and
 * params (also chutectl push's, which negotiates the same way). */
int ch_auth_parse_challenge (const char *hdr, char **scheme, char **realm, char **service, char **scope);
/* registry_package.c: the package REF (REGISTRY/REPO@DIGEST or :TAG) into
 * the store, its manifest and layer checked against their digests and the
 * layer no bigger than LIMIT; *BLOB_PATH the layer's file in the store. */
int ch_pull_package (struct ch_store *s, const char *ref, const struct ch_pull_opts *opts, uint64_t limit,
                     char **manifest_digest, char **blob_path, ch_error_t *err);

/* ---- gc.c ---- */
struct ch_gc_stats
{
  unsigned blobs, layers;
  uint64_t bytes;
  unsigned temps;      /* partial blobs/unpacks of killed loads and pulls */
  uint64_t temp_bytes; /* ... the disk they took */
};
/* Remove blobs and unpacked layers no ref (and no chute mounted from a
 * state dir in CHUTES_DIR) uses, and every temp entry (with those the store's
 * open removed, counted too). */
int ch_gc_prune (struct ch_store *s, const char *chutes_dir, struct ch_gc_stats *stats, ch_error_t *err);

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
/* Directory SRC as one reproducible tar.gz (entries sorted, every timestamp
 * MTIME, gzip without a timestamp) at BDIR/<hex of its digest>; its
 * descriptor {mediaType, digest, size} appended to LAYERS, the tar's digest
 * to DIFF_IDS. chutectl push makes a chute package with it. */
int ch_build_dir_layer (const char *bdir, const char *src, int64_t mtime, json_t *layers, json_t *diff_ids,
                    ch_error_t *err);

#endif
