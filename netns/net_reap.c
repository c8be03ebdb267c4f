/* Leftovers of crashed runs of one root: networks of its chutes that
 * are gone (mgmt/'s callback says which), its netns files nobody holds, `chv-` veths
 * its chutes released that outlived their netns (but not those of a netns
 * being destroyed), and the bridge's nftables table if a foreign
 * `nft flush ruleset` removed it while chutes hold addresses. The bridge's
 * IPAM is shared with other roots: their leases and links are theirs to
 * reap, never ours, whatever our RUN_ROOT says; only the leases of a root
 * whose directory is gone (nothing can reap them any more) are reaped by
 * whichever root comes next. */
#include "netns/net_internal.h"

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/* A root whose directory no longer exists has no chutes left to reap its leases. */
static bool
root_gone (const char *root_id)
{
  return access (root_id, F_OK) < 0 && errno == ENOENT;
}

static int
keep_first (int r, ch_error_t *first, ch_error_t *e)
{
  if (r < 0)
    {
      if (*first == NULL)
        {
          *first = *e;
          *e = NULL;
        }
      else
        ch_error_release (e);
    }
  return r;
}

/* A `chv-<hex>` link whose address lies in our subnet, that a chute of
 * ROOT_ID released and no lease holds since. A link no root released is
 * not judged: it may be another root's, or from a chuted before IPAM was
 * shared. */
static bool
orphan_veth (const char *name, const struct ch_net_conf *c, json_t *ipam, const char *root_id)
{
  char *end;
  unsigned long a;
  const char *lname;
  json_t *l;
  cleanup_free char *s = NULL;

  if (strlen (name) != 12)
    return false;
  a = strtoul (name + 4, &end, 16);
  if (*end || ((uint32_t) a & ch_net_mask (c->prefix)) != c->net)
    return false;
  if (strcmp (ch_net_released_by (ipam, name) ?: "", root_id) != 0)
    return false;
  /* its netns is still being destroyed, most likely */
  if (ch_net_released_recently (ipam, name))
    return false;
  s = ch_net_ip4_str ((uint32_t) a);
  json_object_foreach (ch_ipam_leases (ipam), lname, l)
    {
      const char *la = json_string_value (json_object_get (l, "address"));
      if (la && strcmp (la, s) == 0)
        return false;
    }
  return true;
}

int
ch_net_reap (const char *root, const char *run_root, ch_chute_alive_fn alive, void *data, ch_error_t *err)
{
  cleanup_net_locked struct ch_net_locked l = { .lock = -1, .root_lock = -1 };
  cleanup_error ch_error_t first = NULL;
  cleanup_error ch_error_t e = NULL;
  cleanup_strv char **dead = xzalloc (sizeof (char *));
  cleanup_strv char **links = NULL;
  cleanup_free char *nsdir = xasprintf ("%s/netns", run_root);
  cleanup_dir DIR *d = NULL;
  cleanup_free char *before = NULL, *after = NULL;
  const char *name;
  json_t *lease, *released;
  size_t i;

  if (ch_net_lock_and_load (root, &l, err) < 0)
    return -1;
  /* every `chuted run` reaps: rewrite ipam.json only when something changed */
  before = json_dumps (l.ipam, JSON_COMPACT | JSON_SORT_KEYS);
  json_object_foreach (ch_ipam_leases (l.ipam), name, lease)
    {
      const char *chute = json_string_value (json_object_get (lease, "chute"));
      const char *owner = json_string_value (json_object_get (lease, "root"));
      const char *orun = json_string_value (json_object_get (lease, "run_root"));
      if (chute == NULL || owner == NULL)
        continue;
      if (strcmp (owner, l.root_id) == 0 ? !alive (chute, data) : orun && root_gone (owner))
        {
          ch_strv_append (&dead, owner);
          ch_strv_append (&dead, strcmp (owner, l.root_id) == 0 ? run_root : orun);
          ch_strv_append (&dead, chute);
        }
    }
  /* (owner, its run root, chute) triples */
  for (i = 0; dead[i]; i += 3)
    {
      bool mine = strcmp (dead[i], l.root_id) == 0;
      keep_first (ch_net_teardown_locked (&l, dead[i], mine ? root : dead[i], dead[i + 1], dead[i + 2], &e), &first,
                  &e);
    }

  d = opendir (nsdir);
  for (struct dirent *de; d && (de = readdir (d));)
    if (de->d_name[0] != '.' && !alive (de->d_name, data)
        && !ch_ipam_lease (l.ipam, l.root_id, de->d_name))
      {
        cleanup_free char *p = xasprintf ("%s/%s", nsdir, de->d_name);
        keep_first (ch_netns_remove (p, &e), &first, &e);
      }

  /* no lease and no veth released lately: nothing of ours can be left in
   * the kernel, which spares every lone `chuted run` two netlink round trips */
  released = json_object_get (l.ipam, "released");
  if (json_object_size (ch_ipam_leases (l.ipam)) > 0 || json_object_size (released) > 0)
    {
      /* veths of netns the kernel is destroying go by themselves */
      if (keep_first (ch_nl_links_with_prefix (l.sk, "chv-", true, &links, &e), &first, &e) == 0)
        {
          const char *v;
          json_t *t;
          void *tmp;
          for (i = 0; links[i]; i++)
            if (orphan_veth (links[i], &l.conf, l.ipam, l.root_id))
              keep_first (ch_nl_link_del (l.sk, links[i], &e), &first, &e);
          /* a released veth that is gone (or going) needs no more care */
          json_object_foreach_safe (released, tmp, v, t)
            if (!ch_strv_contains (links, v))
              json_object_del (released, v);
        }
      keep_first (ch_nft_apply (&l.conf, l.ipam, &e), &first, &e);
    }
  /* the bridge and the table stay (see net.h) */
  if (ch_ipam_bridge_leases (l.ipam) == 0)
    keep_first (ch_net_ip_forward_release (&l.conf, l.ipam, &e), &first, &e);
  after = json_dumps (l.ipam, JSON_COMPACT | JSON_SORT_KEYS);
  if (before == NULL || after == NULL || strcmp (before, after) != 0)
    keep_first (ch_ipam_save (&l.conf, l.ipam, &e), &first, &e);
  if (first)
    {
      *err = steal_pointer (&first);
      return ch_error_prefix (err, "reap networks");
    }
  return 0;
}
