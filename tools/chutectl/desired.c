/* chutectl's writes: the operator's key pair, and each command that
 * changes an AP (deploy, stop, start, rm, rollback) as a new signed desired
 * document: the retained one, changed, with the next generation and a new
 * change id. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cloud_sign.h"
#include "tools/chutectl/chutectl.h"

#include <errno.h>
#include <openssl/pem.h>
#include <yaml.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

int
ctl_keygen (const char *prefix, ch_error_t *err)
{
  cleanup_free char *priv = xasprintf ("%s.key", prefix), *pub = xasprintf ("%s.pub", prefix), *line = NULL;
  EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id (EVP_PKEY_ED25519, NULL);
  EVP_PKEY *k = NULL;
  BIO *b = NULL;
  char *pem = NULL;
  long n;
  int r = -1;

  if (kc == NULL || EVP_PKEY_keygen_init (kc) != 1 || EVP_PKEY_keygen (kc, &k) != 1)
    ch_error (err, 0, "keygen: ed25519 key generation failed");
  else if ((b = BIO_new (BIO_s_mem ())) == NULL || PEM_write_bio_PrivateKey (b, k, NULL, NULL, 0, NULL, NULL) != 1
           || (n = BIO_get_mem_data (b, &pem)) <= 0)
    ch_error (err, 0, "keygen: cannot write the key as PEM");
  else if (ch_write_file_durable (priv, pem, (size_t) n, 0600, err) == 0 && (line = ch_cloud_pub_line (k, prefix, err))
           && ch_write_file_durable (pub, line, strlen (line), 0644, err) == 0)
    {
      printf ("%s (private, keep it) and %s (goes into each AP's trust file)\n", priv, pub);
      r = 0;
    }
  BIO_free (b);
  EVP_PKEY_free (k);
  EVP_PKEY_CTX_free (kc);
  return r;
}

int
ctl_sign (struct ctl *c, json_t *doc, ch_error_t *err)
{
  FILE *f;
  EVP_PKEY *k;
  int r;

  if (c->signing_key == NULL)
    return ch_error (err, 0, "give --sign KEY (or CHUTECTL_SIGNING_KEY): the operator's private key (chutectl keygen)");
  f = fopen (c->signing_key, "re");
  if (f == NULL)
    return ch_error (err, errno, "signing key %s", c->signing_key);
  k = PEM_read_PrivateKey (f, NULL, NULL, NULL);
  fclose (f);
  if (k == NULL)
    return ch_error (err, 0, "signing key %s: not a PEM private key", c->signing_key);
  r = ch_cloud_sign (doc, k, err);
  EVP_PKEY_free (k);
  return r;
}

char *
ctl_yaml_top (const char *text, size_t len, const char *key)
{
  yaml_parser_t p;
  yaml_document_t d;
  yaml_node_t *root, *k, *v;
  char *name = NULL;

  if (!yaml_parser_initialize (&p))
    return NULL;
  yaml_parser_set_input_string (&p, (const unsigned char *) text, len);
  if (!yaml_parser_load (&p, &d))
    {
      yaml_parser_delete (&p);
      return NULL;
    }
  root = yaml_document_get_root_node (&d);
  if (root && root->type == YAML_MAPPING_NODE)
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top && !name; pr++)
      {
        k = yaml_document_get_node (&d, pr->key);
        v = yaml_document_get_node (&d, pr->value);
        if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE
            && strcmp ((char *) k->data.scalar.value, key) == 0)
          name = xstrdup ((char *) v->data.scalar.value);
      }
  yaml_document_delete (&d);
  yaml_parser_delete (&p);
  return name;
}

/* deploy's operand: a chute file or directory (its chute.yaml), or
 * CHUTE@VERSION, a version the AP keeps. */
int
ctl_deploy_entry (struct ctl *c, const char *arg, char **name, json_t **entry, ch_error_t *err)
{
  cleanup_free char *path = NULL, *text = NULL;
  struct stat st;
  const char *at = strchr (arg, '@');
  size_t len;

  if (stat (arg, &st) < 0)
    {
      if (ctl_is_package_ref (arg))
        return ctl_package_entry (c, arg, name, entry, err);
      if (at == NULL)
        return ch_error (err, errno, "deploy %s", arg);
      *name = xstrndup (arg, (size_t) (at - arg));
      *entry = json_pack ("{s:s, s:b}", "version", at + 1, "running", 1);
      return 0;
    }
  path = S_ISDIR (st.st_mode) ? xasprintf ("%s/chute.yaml", arg) : xstrdup (arg);
  if (ch_read_file_max (path, 1 << 20, &text, &len, err) < 0)
    return -1;
  if ((*name = ctl_yaml_top (text, len, "name")) == NULL)
    return ch_error (err, 0, "%s: not YAML with a top-level name:", path);
  *entry = json_pack ("{s:s, s:b}", "file", text, "running", 1);
  return 0;
}

static int
edit (struct ctl *c, const char *node, json_t *chutes, const char *op, const char *arg, ch_error_t *err)
{
  cleanup_free char *name = NULL;
  json_t *entry = NULL, *cur;

  if (strcmp (op, "deploy") == 0)
    {
      if (ctl_deploy_entry (c, arg, &name, &entry, err) < 0)
        return -1;
      json_object_set_new (chutes, name, entry);
      return 0;
    }
  cur = json_object_get (chutes, arg);
  if (cur == NULL)
    return ch_error (err, 0, "%s: chute `%s` is not in %s's desired state", op, arg, node);
  if (strcmp (op, "rm") == 0)
    json_object_del (chutes, arg);
  else if (strcmp (op, "stop") == 0 || strcmp (op, "start") == 0)
    json_object_set_new (cur, "running", json_boolean (strcmp (op, "start") == 0));
  else if (strcmp (op, "rollback") == 0)
    {
      cleanup_json json_t *rep = ctl_retained (c, node, "reported", err);
      const char *prev = json_string_value (json_object_get (json_object_get (json_object_get (rep, "chutes"), arg),
                                                             "previous"));
      if (prev == NULL)
        return ch_error (err, 0, "rollback: %s reports no previous version of `%s`", node, arg);
      json_object_del (cur, "file");
      json_object_set_new (cur, "version", json_string (prev));
      json_object_set_new (cur, "running", json_true ());
    }
  return 0;
}

int
ctl_change (struct ctl *c, const char *node, const char *op, const char *arg, bool wait, ch_error_t *err)
{
  cleanup_json json_t *doc = NULL, *rep = NULL;
  cleanup_free char *change = NULL;
  int64_t gen;
  uint32_t rnd = 0;
  json_t *chutes;

  if (ctl_node_check (node, err) < 0)
    return -1;
  doc = ctl_retained (c, node, "desired", err);
  if (*err)
    return -1;
  rep = ctl_retained (c, node, "reported", err);
  if (*err)
    return -1;
  if (doc == NULL)
    doc = json_pack ("{s:{}}", "chutes");
  chutes = json_object_get (doc, "chutes");
  if (!json_is_object (chutes))
    return ch_error (err, 0, "%s's desired document has no chutes object", node);
  if (edit (c, node, chutes, op, arg, err) < 0)
    return -1;
  gen = ctl_next_generation (doc, rep);
  if (getrandom (&rnd, sizeof (rnd), 0) < 0)
    rnd = (uint32_t) ch_now_ms ();
  change = xasprintf ("g%lld-%06x", (long long) gen, rnd & 0xffffff);
  if (wait && ctl_wait_begin (c, node, change, err) < 0)
    return -1;
  printf ("%s\n", change);
  fflush (stdout);
  if (ctl_doc_publish (c, node, doc, rep, change, err) < 0)
    return -1;
  return wait ? ctl_wait_end (c, 120000, err) : 0;
}

int64_t
ctl_next_generation (json_t *doc, json_t *rep)
{
  /* past both the document and what the AP applied (a document cleared by
   * hand must not bring the generation back) */
  int64_t gen = json_integer_value (json_object_get (doc, "generation"));
  int64_t rgen = json_integer_value (json_object_get (json_object_get (rep, "link"), "generation"));

  return (gen > rgen ? gen : rgen) + 1;
}

int
ctl_doc_sign (struct ctl *c, const char *node, json_t *doc, json_t *rep, const char *change, ch_error_t *err)
{
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);

  json_object_set_new (doc, "node", json_string (node));
  json_object_set_new (doc, "generation", json_integer (ctl_next_generation (doc, rep)));
  json_object_set_new (doc, "change", json_string (change));
  json_object_set_new (doc, "time", json_string (now));
  return ctl_sign (c, doc, err);
}

int
ctl_doc_publish (struct ctl *c, const char *node, json_t *doc, json_t *rep, const char *change, ch_error_t *err)
{
  cleanup_free char *topic = xasprintf ("chuted/v1/%s/desired", node), *s = NULL;

  if (ctl_doc_sign (c, node, doc, rep, change, err) < 0)
    return -1;
  s = json_dumps (doc, JSON_COMPACT);
  return ctl_publish (c, topic, s, true, err);
}

int
ctl_publish_doc (struct ctl *c, const char *node, const char *file, ch_error_t *err)
{
  cleanup_free char *text = NULL, *topic = xasprintf ("chuted/v1/%s/desired", node);
  size_t len;

  if (ctl_node_check (node, err) < 0)
    return -1;
  if (ch_read_file_max (file, 1 << 20, &text, &len, err) < 0)
    return -1;
  return ctl_publish (c, topic, text, true, err);
}
