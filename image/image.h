/* image/: references, digest-verified OCI store, manifests, registry pull,
 * offline import, hostile-safe layer unpack, per-chute snapshots, gc.
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
#include <sys/types.h>

#define CH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define CH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define CH_MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define CH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define CH_ANN_REF "org.opencontainers.image.ref.name"

#define CH_DEFAULT_DISK_LIMIT (1ULL << 30)
/* Manifests, indexes and configs are small; anything bigger is hostile. */
#define CH_MAX_JSON_BLOB (4U << 20)

/* ch_error without the strerror text: STATUS (ENOENT, EACCES, ...) only classifies. */
int ch_image_error (ch_error_t *err, int status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

/* ---- digest.c: sha256 while streaming ---- */

/* "sha256:<hex>" of DATA. */
char *ch_digest_buf (const void *data, size_t len);

struct ch_hash;
struct ch_hash *ch_hash_new (void);
void ch_hash_update (struct ch_hash *h, const void *data, size_t len);
char *ch_hash_final (struct ch_hash *h); /* "sha256:<hex>"; H can't be updated after */
void ch_hash_free (struct ch_hash *h);

/* ---- store.c: the OCI layout; links no libcrypto or libarchive, so that
 * `chuted run` mounts a present image in-process ---- */
struct ch_image;

struct ch_store
{
  char *dir;     /* <root>/images */
  char *oci;     /* <root>/images/oci */
  char *tmp;     /* <root>/images/tmp */
  char *layers;  /* <root>/images/layers */
  int lock_fd;   /* the store lock (shared or exclusive) */
};

/* Create the layout if missing and take the store lock. */
int ch_store_open (const char *root, bool exclusive, struct ch_store **out, ch_error_t *err);
void ch_store_free (struct ch_store *s);
char *ch_store_blob_path (struct ch_store *s, const char *digest);
bool ch_store_has_blob (struct ch_store *s, const char *digest, int64_t size);
/* Read a small blob (<= CH_MAX_JSON_BLOB). Not hashed again: every blob
 * entered through the verifying writer below, into a root-only store. */
int ch_store_read_blob (struct ch_store *s, const char *digest, char **buf, size_t *len, ch_error_t *err);
/* layers/<hex>, where a layer is unpacked once; its size in bytes, < 0 when not (yet) unpacked. */
char *ch_store_layer_dir (struct ch_store *s, const char *digest);
int ch_store_layer_size (struct ch_store *s, const char *digest, uint64_t *out);
/* Every layer of IMG unpacked (else ENOENT) and, with LIMIT, fitting in it (else EFBIG). */
int ch_store_image_size (struct ch_store *s, const struct ch_image *img, uint64_t limit, uint64_t *total_out,
                         ch_error_t *err);

/* ---- blob.c: the only way in ----
 * Streaming blob write: temp file in tmp/, sha256 and size checked at commit,
 * then an atomic rename into blobs/. Freed uncommitted = temp removed. */
struct ch_blob_writer;
/* EXPECT_DIGEST may be NULL (computed), EXPECT_SIZE < 0 when unknown. */
int ch_blob_writer_new (struct ch_store *s, const char *expect_digest, int64_t expect_size,
                        struct ch_blob_writer **out, ch_error_t *err);
int ch_blob_writer_write (struct ch_blob_writer *w, const void *data, size_t len, ch_error_t *err);
/* Bytes written so far (to resume a transfer with a Range request). */
uint64_t ch_blob_writer_size (struct ch_blob_writer *w);
/* Verify and rename; *DIGEST_OUT (may be NULL) gets the blob's digest.
 * On a mismatch the partial blob is deleted and the error names the digest. */
int ch_blob_writer_commit (struct ch_blob_writer *w, char **digest_out, ch_error_t *err);
void ch_blob_writer_free (struct ch_blob_writer *w);
int ch_store_put_blob (struct ch_store *s, const void *data, size_t len, char **digest_out, ch_error_t *err);

/* index.json: refs are the org.opencontainers.image.ref.name annotations. */
int ch_store_index_load (struct ch_store *s, json_t **out, ch_error_t *err);
/* Point REF at a manifest (replacing what REF named before). */
int ch_store_tag (struct ch_store *s, const char *ref, const char *digest, int64_t size, const char *media_type,
                  ch_error_t *err);
int ch_store_untag (struct ch_store *s, const char *ref, char **digest_out, ch_error_t *err);
/* REF (a name, or a manifest/config digest or unique prefix of one) -> manifest digest. */
int ch_store_resolve (struct ch_store *s, const char *ref, char **manifest_digest, ch_error_t *err);

/* ---- ref.c: image references ---- */

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool ch_digest_valid (const char *digest);

struct ch_ref
{
  char *registry; /* "127.0.0.1:5000", "docker.io" */
  char *repo;     /* "cam", "library/busybox" */
  char *tag;      /* "1.2" (NULL with a digest) */
  char *digest;   /* "sha256:..." or NULL */
  char *name;     /* how the store names it: REGISTRY/REPO:TAG or @DIGEST, as the user wrote the host */
};
int ch_ref_parse (const char *s, struct ch_ref *out, ch_error_t *err);
void ch_ref_free (struct ch_ref *r);

/* ---- manifest.c: manifest, index, config ---- */

struct ch_layer
{
  char *digest;
  char *media_type;
  int64_t size;
};
struct ch_manifest
{
  char *media_type;
  char *config_digest;
  int64_t config_size;
  size_t n_layers;
  struct ch_layer *layers;
};
bool ch_mt_is_index (const char *mt);
bool ch_mt_is_manifest (const char *mt);
/* Media type of a manifest-ish JSON document (from its mediaType field, or
 * guessed from its shape when absent as OCI allows). */
int ch_manifest_kind (const char *buf, size_t len, char **media_type, ch_error_t *err);
int ch_manifest_parse (const char *buf, size_t len, struct ch_manifest **out, ch_error_t *err);
void ch_manifest_free (struct ch_manifest *m);
/* The platform this host runs ("linux/amd64", "linux/arm/v7"). */
char *ch_platform_default (void);
/* Pick PLATFORM ("os/arch[/variant]") from an index. */
int ch_index_select (const char *buf, size_t len, const char *platform, char **digest, int64_t *size,
                     char **media_type, ch_error_t *err);
/* Validate an image config; *OUT = {Cmd, Entrypoint, Env, WorkingDir, User} (absent ones omitted). */
int ch_config_parse (const char *buf, size_t len, json_t **out, ch_error_t *err);

/* A stored image: manifest + config, loaded and checked. */
struct ch_image
{
  char *manifest_digest;
  struct ch_manifest *manifest;
  json_t *config; /* the whole config document */
  json_t *run;    /* what a chute takes from it: {Cmd, Entrypoint, Env, WorkingDir, User} */
};
int ch_image_load (struct ch_store *s, const char *manifest_digest, struct ch_image **out, ch_error_t *err);
void ch_image_free (struct ch_image *img);
/* If DIGEST in the store is an index, select PLATFORM and return the manifest it names. */
int ch_store_manifest_for_platform (struct ch_store *s, const char *digest, const char *platform, char **out,
                                    ch_error_t *err);

/* ---- unpack.c: a layer tar into a directory, never leaving it ---- */

struct ch_unpack_opts
{
  uint64_t limit;     /* bytes of content + per-entry overhead; 0 = CH_DEFAULT_DISK_LIMIT */
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
/* Unpack a stored layer blob once into layers/<hex> (temp dir + rename). */
int ch_store_unpack_layer (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts,
                           uint64_t *size_out, ch_error_t *err);
/* Unpack IMG's missing layers (in parallel), then check the whole fits OPTS->limit. */
int ch_store_unpack_image (struct ch_store *s, struct ch_image *img, const struct ch_unpack_opts *opts,
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
/* Credentials for REGISTRY from ROOT/auth.json; USER and PASS set to NULL when none. */
int ch_auth_lookup (const char *root, const char *registry, char **user, char **pass, ch_error_t *err);
int ch_auth_store (const char *root, const char *registry, const char *user, const char *pass, ch_error_t *err);
int ch_auth_remove (const char *root, const char *registry, ch_error_t *err);
/* Parse a WWW-Authenticate header value: scheme ("Bearer"/"Basic") and params. */
int ch_auth_parse_challenge (const char *hdr, char **scheme, char **realm, char **service, char **scope);

/* ---- snapshot.c: a chute's root filesystem ---- */

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
/* Mount IMG at D->run_dir/rootfs; *ROOTFS_OUT is that path. IMG's layers
 * must be unpacked already (ENOENT if one is not). */
int ch_snapshot_mount (struct ch_store *s, const struct ch_snapshot_dirs *d, struct ch_image *img,
                       const struct ch_mount_opts *opts, char **rootfs_out, ch_error_t *err);
/* Unmount and remove the snapshot; D's directories go too if left empty. */
int ch_snapshot_unmount (const struct ch_snapshot_dirs *d, ch_error_t *err);
/* Copy fallback: apply each layer dir (bottom first) onto DSTFD, honouring whiteouts. */
int ch_snapshot_copy_layer (int srcfd, int dstfd, ch_error_t *err);

/* ---- lookup.c: a present image, from reference to mounted chute rootfs ---- */

/* REF (name, image id, or a name as written) -> the store's *NAME for it and
 * the manifest for PLATFORM (NULL: this host's). ENOENT when not present. */
int ch_image_lookup (struct ch_store *s, const char *ref, const char *platform, char **name, char **manifest_digest,
                     ch_error_t *err);
/* Mount IMG (stored as NAME) for CHUTE; *OUT = {rootfs, config (Cmd, Env, ...),
 * image (config digest), ref}. ENOENT when a layer is not unpacked yet. */
int ch_image_mount_chute (struct ch_store *s, const struct ch_snapshot_dirs *chute, const char *name, struct ch_image *img,
                          const struct ch_mount_opts *mo, json_t **out, ch_error_t *err);

/* ---- gc.c ---- */

struct ch_gc_stats
{
  unsigned blobs, layers;
  uint64_t bytes;
};
/* Remove blobs and unpacked layers no ref (and no chute mounted from a
 * state dir in CHUTES_DIR) uses. */
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

#endif
