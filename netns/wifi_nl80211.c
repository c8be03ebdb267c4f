/* nl80211 over libnl-genl: list radios, add and delete AP interfaces. */
#include "netns/wifi_internal.h"

#include "common/util.h"

#include <errno.h>
#include <linux/nl80211.h>
#include <net/if.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

static void
sock_freep (struct nl_sock **sk)
{
  if (*sk)
    nl_socket_free (*sk);
}
#define cleanup_sock __attribute__ ((cleanup (sock_freep)))

static void
msg_freep (struct nl_msg **m)
{
  if (*m)
    nlmsg_free (*m);
}
#define cleanup_msg __attribute__ ((cleanup (msg_freep)))

static int
nl80211_open (struct nl_sock **out, int *family, ch_error_t *err)
{
  cleanup_sock struct nl_sock *sk = nl_socket_alloc ();
  int r;

  if (sk == NULL)
    return ch_error (err, ENOMEM, "nl80211 socket");
  if ((r = genl_connect (sk)) < 0)
    return ch_error (err, 0, "nl80211: connect generic netlink: %s", nl_geterror (r));
  *family = genl_ctrl_resolve (sk, NL80211_GENL_NAME);
  if (*family < 0)
    return ch_error (err, 0, "nl80211 unavailable (no cfg80211 in this kernel: no Wi-Fi radio)");
  *out = steal_pointer (&sk);
  return 0;
}

static int
put_cmd (struct nl_msg **out, int family, int flags, uint8_t cmd, ch_error_t *err)
{
  struct nl_msg *m = nlmsg_alloc ();
  if (m == NULL || genlmsg_put (m, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, 0) == NULL)
    {
      if (m)
        nlmsg_free (m);
      return ch_error (err, ENOMEM, "nl80211 message");
    }
  *out = m;
  return 0;
}

struct dump_ctx
{
  struct ch_wifi_radio *radios;
  size_t n;
};

static int
wiphy_cb (struct nl_msg *msg, void *arg)
{
  struct dump_ctx *d = arg;
  struct genlmsghdr *gh = nlmsg_data (nlmsg_hdr (msg));
  struct nlattr *tb[NL80211_ATTR_MAX + 1];
  struct ch_wifi_radio *r;
  size_t i;

  nla_parse (tb, NL80211_ATTR_MAX, genlmsg_attrdata (gh, 0), genlmsg_attrlen (gh, 0), NULL);
  if (!tb[NL80211_ATTR_WIPHY] || !tb[NL80211_ATTR_WIPHY_NAME])
    return NL_SKIP;
  /* a split dump sends one wiphy in several messages: merge by index */
  for (i = 0; i < d->n; i++)
    if (d->radios[i].index == nla_get_u32 (tb[NL80211_ATTR_WIPHY]))
      break;
  if (i == d->n)
    {
      d->radios = xrealloc (d->radios, (d->n + 1) * sizeof *d->radios);
      r = &d->radios[d->n++];
      memset (r, 0, sizeof *r);
      r->index = nla_get_u32 (tb[NL80211_ATTR_WIPHY]);
      snprintf (r->name, sizeof r->name, "%s", nla_get_string (tb[NL80211_ATTR_WIPHY_NAME]));
    }
  r = &d->radios[i];
  if (tb[NL80211_ATTR_SUPPORTED_IFTYPES])
    {
      struct nlattr *t;
      int rem;
      nla_for_each_nested (t, tb[NL80211_ATTR_SUPPORTED_IFTYPES], rem)
        if (nla_type (t) == NL80211_IFTYPE_AP)
          r->ap = true;
    }
  return NL_OK;
}

int
ch_wifi_radios (struct ch_wifi_radio **out, size_t *n, ch_error_t *err)
{
  cleanup_sock struct nl_sock *sk = NULL;
  cleanup_msg struct nl_msg *m = NULL;
  struct dump_ctx d = { NULL, 0 };
  int family, r;

  *out = NULL;
  *n = 0;
  if (nl80211_open (&sk, &family, err) < 0)
    return -1;
  if (put_cmd (&m, family, NLM_F_DUMP, NL80211_CMD_GET_WIPHY, err) < 0)
    return -1;
  nla_put_flag (m, NL80211_ATTR_SPLIT_WIPHY_DUMP);
  nl_socket_modify_cb (sk, NL_CB_VALID, NL_CB_CUSTOM, wiphy_cb, &d);
  if ((r = nl_send_auto (sk, m)) < 0 || (r = nl_recvmsgs_default (sk)) < 0)
    {
      free (d.radios);
      return ch_error (err, 0, "nl80211: list radios: %s", nl_geterror (r));
    }
  *out = d.radios;
  *n = d.n;
  return 0;
}

int
ch_wifi_ap_add (uint32_t wiphy, const char *ifname, ch_error_t *err)
{
  cleanup_sock struct nl_sock *sk = NULL;
  cleanup_msg struct nl_msg *m = NULL;
  int family, r;

  if (nl80211_open (&sk, &family, err) < 0 || put_cmd (&m, family, 0, NL80211_CMD_NEW_INTERFACE, err) < 0)
    return -1;
  if (nla_put_u32 (m, NL80211_ATTR_WIPHY, wiphy) < 0 || nla_put_string (m, NL80211_ATTR_IFNAME, ifname) < 0
      || nla_put_u32 (m, NL80211_ATTR_IFTYPE, NL80211_IFTYPE_AP) < 0)
    return ch_error (err, ENOMEM, "nl80211 message");
  if ((r = nl_send_sync (sk, steal_pointer (&m))) < 0)
    return ch_error (err, 0, "nl80211: add AP interface `%s` on phy#%u: %s", ifname, wiphy, nl_geterror (r));
  return 0;
}

int
ch_wifi_ap_del (const char *ifname, ch_error_t *err)
{
  cleanup_sock struct nl_sock *sk = NULL;
  cleanup_msg struct nl_msg *m = NULL;
  unsigned idx = if_nametoindex (ifname);
  int family, r;

  if (idx == 0)
    return 0; /* already gone */
  if (nl80211_open (&sk, &family, err) < 0 || put_cmd (&m, family, 0, NL80211_CMD_DEL_INTERFACE, err) < 0)
    return -1;
  if (nla_put_u32 (m, NL80211_ATTR_IFINDEX, idx) < 0)
    return ch_error (err, ENOMEM, "nl80211 message");
  if ((r = nl_send_sync (sk, steal_pointer (&m))) < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
    return ch_error (err, 0, "nl80211: delete interface `%s`: %s", ifname, nl_geterror (r));
  return 0;
}
