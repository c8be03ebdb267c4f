/* image/ inside: media types, hashing, the store's layout and its only
 * writer, references, manifests, the unpacker's store side, snapshots.
 * Included by the files of image/ and by the unit tests and fuzzers of
 * these parts; every program goes through image/image.h. */
#ifndef CH_IMAGE_INTERNAL_H
#define CH_IMAGE_INTERNAL_H

#include "image/image.h"

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
  unsigned tmp_removed; /* stale temp entries removed since the store was opened */
  uint64_t tmp_bytes;   /* ... and the bytes they took */
};

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

/* ---- store_tmp.c: images/tmp ---- */
/* mkstemp/mkdtemp template for a temp entry of this process: "<tmp>/KIND-PID-XXXXXX". */
char *ch_store_tmp_template (struct ch_store *s, const char *kind);
/* Remove temp entries whose owner died (ALL: every one, under the exclusive
 * lock); counted in S->tmp_removed / S->tmp_bytes. */
int ch_store_clean_tmp (struct ch_store *s, bool all, ch_error_t *err);

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

/* A stored image: manifest + config, loaded and checked (ch_image_load). */
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

/* ---- unpack.c: the store side ---- */
/* Unpack a stored layer blob once into layers/<hex> (temp dir + rename). */
int ch_store_unpack_layer (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts,
                           uint64_t *size_out, ch_error_t *err);
/* Unpack IMG's missing layers (in parallel), then check the whole fits OPTS->limit. */
int ch_store_unpack_image (struct ch_store *s, struct ch_image *img, const struct ch_unpack_opts *opts,
                           ch_error_t *err);

/* ---- auth.c ---- */
/* Credentials for REGISTRY from ROOT/auth.json; USER and PASS set to NULL when none. */
int ch_auth_lookup (const char *root, const char *registry, char **user, char **pass, ch_error_t *err);
int ch_auth_store (const char *root, const char *registry, const char *user, const char *pass, ch_error_t *err);

/* ---- snapshot.c: a chute's root filesystem ---- */
/* Mount IMG at D->run_dir/rootfs; *ROOTFS_OUT is that path. IMG's layers
 * must be unpacked already (ENOENT if one is not). */
int ch_snapshot_mount (struct ch_store *s, const struct ch_snapshot_dirs *d, struct ch_image *img,
                       const struct ch_mount_opts *opts, char **rootfs_out, ch_error_t *err);
/* Copy fallback: apply each layer dir (bottom first) onto DSTFD, honouring whiteouts. */
int ch_snapshot_copy_layer (int srcfd, int dstfd, ch_error_t *err);

/* ---- lookup.c ---- */
/* REF (name, image id, or a name as written) -> the store's *NAME for it and
 * the manifest for PLATFORM (NULL: this host's). ENOENT when not present. */
int ch_image_lookup (struct ch_store *s, const char *ref, const char *platform, char **name, char **manifest_digest,
                     ch_error_t *err);
/* Mount IMG (stored as NAME) for CHUTE into OUT (status OK). ENOENT when a
 * layer is not unpacked yet. */
int ch_image_mount_chute (struct ch_store *s, const struct ch_snapshot_dirs *chute, const char *name,
                          struct ch_image *img, const struct ch_mount_opts *mo, struct ch_image_result *out,
                          ch_error_t *err);

/* build.c: a tar entry for NAME in directory DFD, stored as PATH, from its
 * lstat ST: reproducible (no atime/ctime, inode, device or link count; size
 * only for regular files; a symlink's target read). NULL with *ERR set when
 * the target cannot be read. The caller adds its mtime or xattrs. */
struct archive_entry;
struct stat;
struct archive_entry *ch_tar_entry (int dfd, const char *name, const char *path, const struct stat *st,
                                    ch_error_t *err);

#endif
