/* NAT and port forwards in an nftables table of our own (`ip chuted_<bridge>`),
 * through libnftnl + libmnl (the rules themselves: nft_rules.c). Other
 * tables are never touched.
 *
 * ch_nft_apply reconciles the table with the IPAM leases: it is built whole
 * (base chains, NAT/isolation rules, every lease's port forwards) when it is
 * missing, e.g. after a foreign `nft flush ruleset`; otherwise only the port
 * forwards change: each carries the comment "chute:KEY" (the lease key ROOT/NAME), forwards of
 * chutes without a lease are deleted by handle and chutes whose forwards are
 * missing get them, in one atomic batch. Incremental because any deletion
 * costs a full RCU grace period (the kernel flushes its destroy work on the
 * next socket release, ~10 ms here, ~19 ms for a whole table), which would
 * otherwise land on every `chuted run`. For the same reason the table stays
 * when the last lease goes (like the bridge); `chuted network prune`
 * removes it through ch_nft_table_del. */
#include "netns/nft_internal.h"

#include "common/util.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>
#include <sys/socket.h>

static void
mnl_closep (struct mnl_socket **nl)
{
  if (*nl)
    mnl_socket_close (*nl);
}

static int
send_batch (struct mnl_socket *nl, struct nftnl_batch *b, ch_error_t *err)
{
  int n = nftnl_batch_iovec_len (b);
  cleanup_free struct iovec *iov = xmalloc (sizeof (struct iovec) * n);
  cleanup_free char *buf = xmalloc (MNL_SOCKET_BUFFER_SIZE);
  struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
  struct msghdr msg = { .msg_name = &snl, .msg_namelen = sizeof snl, .msg_iov = iov, .msg_iovlen = n };
  int first_err = 0;
  ssize_t r;

  nftnl_batch_iovec (b, iov, n);
  if (sendmsg (mnl_socket_get_fd (nl), &msg, 0) < 0)
    return ch_error (err, errno, "send nftables batch");
  /* No message asks for an ack: the kernel handles the batch inside
     sendmsg and queues only errors, so drain without blocking. */
  while ((r = recv (mnl_socket_get_fd (nl), buf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT)) > 0)
    if (mnl_cb_run (buf, r, 0, mnl_socket_get_portid (nl), NULL, NULL) < 0 && first_err == 0)
      first_err = errno;
  if (first_err)
    return ch_error (err, first_err, "nftables batch");
  return 0;
}

struct dumped
{
  char **chains, **chutes; /* parallel, NULL-terminated */
  uint64_t *handles;
  size_t n;
  bool loopback_masq;
};

static int
comment_cb (const struct nftnl_udata *attr, void *data)
{
  const char **out = data;
  if (nftnl_udata_type (attr) == NFTNL_UDATA_RULE_COMMENT)
    *out = nftnl_udata_get (attr);
  return MNL_CB_OK;
}

static int
rule_cb (const struct nlmsghdr *nlh, void *data)
{
  struct dumped *d = data;
  struct nftnl_rule *r = nftnl_rule_alloc ();
  const char *comment = NULL;
  const void *ud;
  uint32_t len = 0;

  if (nftnl_rule_nlmsg_parse (nlh, r) == 0 && (ud = nftnl_rule_get_data (r, NFTNL_RULE_USERDATA, &len))
      && nftnl_udata_parse (ud, len, comment_cb, &comment) >= 0 && comment && strcmp (comment, CH_NFT_LOOPBACK_MASQ) == 0)
    d->loopback_masq = true;
  else if (comment && ch_has_prefix (comment, "chute:"))
    {
      d->handles = xrealloc (d->handles, (d->n + 1) * sizeof (uint64_t));
      d->handles[d->n++] = nftnl_rule_get_u64 (r, NFTNL_RULE_HANDLE);
      ch_strv_append (&d->chains, nftnl_rule_get_str (r, NFTNL_RULE_CHAIN));
      ch_strv_append (&d->chutes, comment + strlen ("chute:"));
    }
  nftnl_rule_free (r);
  return MNL_CB_OK;
}

/* A rule dump filtered on a missing table is just empty: ask for the table. */
static int
table_exists (struct mnl_socket *nl, const char *table, bool *exists, ch_error_t *err)
{
  cleanup_free char *buf = xmalloc (MNL_SOCKET_BUFFER_SIZE);
  struct nftnl_table *t = nftnl_table_alloc ();
  struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr (buf, NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK, 1);
  uint32_t portid = mnl_socket_get_portid (nl);
  ssize_t n;
  int ret;

  nftnl_table_set_str (t, NFTNL_TABLE_NAME, table);
  nftnl_table_nlmsg_build_payload (nlh, t);
  nftnl_table_free (t);
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return ch_error (err, errno, "get table `%s`", table);
  do
    {
      n = mnl_socket_recvfrom (nl, buf, MNL_SOCKET_BUFFER_SIZE);
      if (n < 0)
        return ch_error (err, errno, "get table `%s`", table);
      ret = mnl_cb_run (buf, n, 1, portid, NULL, NULL);
    }
  while (ret > MNL_CB_STOP);
  *exists = ret >= 0;
  if (ret < 0 && errno != ENOENT)
    return ch_error (err, errno, "get table `%s`", table);
  return 0;
}

/* The tagged rules of TABLE; *EXISTS = false when the table is missing. */
static int
dump_rules (struct mnl_socket *nl, const char *table, struct dumped *d, bool *exists, ch_error_t *err)
{
  cleanup_free char *buf = xmalloc (MNL_SOCKET_BUFFER_SIZE);
  struct nftnl_rule *r;
  struct nlmsghdr *nlh;
  uint32_t portid = mnl_socket_get_portid (nl);
  ssize_t n;
  int ret;

  if (table_exists (nl, table, exists, err) < 0)
    return -1;
  if (!*exists)
    return 0;
  r = nftnl_rule_alloc ();
  nlh = nftnl_nlmsg_build_hdr (buf, NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP, 2);
  nftnl_rule_set_str (r, NFTNL_RULE_TABLE, table);
  nftnl_rule_nlmsg_build_payload (nlh, r);
  nftnl_rule_free (r);
  if (mnl_socket_sendto (nl, nlh, nlh->nlmsg_len) < 0)
    return ch_error (err, errno, "list rules of table `%s`", table);
  do
    {
      n = mnl_socket_recvfrom (nl, buf, MNL_SOCKET_BUFFER_SIZE);
      if (n < 0)
        return ch_error (err, errno, "list rules of table `%s`", table);
      ret = mnl_cb_run (buf, n, 2, portid, rule_cb, d);
    }
  while (ret > MNL_CB_STOP);
  if (ret < 0)
    return ch_error (err, errno, "list rules of table `%s`", table);
  return 0;
}

static void
dumped_clear (struct dumped *d)
{
  ch_strv_free (d->chains);
  ch_strv_free (d->chutes);
  free (d->handles);
}

static bool
has_forwards (const struct dumped *d, const char *chute)
{
  for (size_t i = 0; i < d->n; i++)
    if (strcmp (d->chutes[i], chute) == 0)
      return true;
  return false;
}

static int
nft_open (struct mnl_socket **out, ch_error_t *err)
{
  struct mnl_socket *nl = mnl_socket_open (NETLINK_NETFILTER);

  if (nl == NULL)
    return ch_error (err, errno, "open netfilter netlink socket");
  if (mnl_socket_bind (nl, 0, MNL_SOCKET_AUTOPID) < 0)
    {
      int e = errno;
      mnl_socket_close (nl);
      return ch_error (err, e, "bind netfilter netlink socket");
    }
  *out = nl;
  return 0;
}

int
ch_nft_table_del (const char *table, ch_error_t *err)
{
  __attribute__ ((cleanup (mnl_closep))) struct mnl_socket *nl = NULL;
  struct ch_nft_batch bt = { .seq = 2, .table = table };
  bool exists;
  int r;

  if (nft_open (&nl, err) < 0 || table_exists (nl, table, &exists, err) < 0)
    return ch_error_prefix (err, "nftables");
  if (!exists)
    return 0;
  bt.b = nftnl_batch_alloc (MNL_SOCKET_BUFFER_SIZE, MNL_SOCKET_BUFFER_SIZE);
  nftnl_batch_begin (nftnl_batch_buffer (bt.b), bt.seq++);
  nftnl_batch_update (bt.b);
  ch_nft_put_table (&bt, NFT_MSG_DELTABLE, 0);
  nftnl_batch_end (nftnl_batch_buffer (bt.b), bt.seq++);
  nftnl_batch_update (bt.b);
  r = send_batch (nl, bt.b, err);
  nftnl_batch_free (bt.b);
  if (r < 0)
    return ch_error_prefix (err, "delete table `ip %s`", table);
  return 0;
}

int
ch_nft_apply (const struct ch_net_conf *c, json_t *ipam, ch_error_t *err)
{
  __attribute__ ((cleanup (mnl_closep))) struct mnl_socket *nl = NULL;
  struct ch_nft_batch bt = { .seq = 2, .table = c->nft_table };
  struct dumped d = { 0 };
  bool exists;
  int r = 0;

  if (nft_open (&nl, err) < 0)
    return ch_error_prefix (err, "nftables");
  if (dump_rules (nl, c->nft_table, &d, &exists, err) < 0)
    {
      dumped_clear (&d);
      return ch_error_prefix (err, "nftables");
    }
  bt.b = nftnl_batch_alloc (MNL_SOCKET_BUFFER_SIZE, MNL_SOCKET_BUFFER_SIZE);
  nftnl_batch_begin (nftnl_batch_buffer (bt.b), bt.seq++);
  nftnl_batch_update (bt.b);
  if (!exists)
    {
      /* nothing to forward to: no table until a chute needs one */
      if (ch_ipam_bridge_leases (ipam) > 0)
        ch_nft_put_table_whole (&bt, c, ipam);
    }
  else
    {
      const char *name;
      json_t *l;
      for (size_t i = 0; i < d.n; i++)
        {
          l = json_object_get (ch_ipam_leases (ipam), d.chutes[i]);
          if (l == NULL || json_object_get (l, "address") == NULL)
            ch_nft_del_rule (&bt, d.chains[i], d.handles[i]);
        }
      json_object_foreach (ch_ipam_leases (ipam), name, l)
        if (!has_forwards (&d, name))
          ch_nft_put_forwards (&bt, c, name, l);
      if (!d.loopback_masq)
        ch_nft_put_loopback_masq (&bt, c);
    }
  nftnl_batch_end (nftnl_batch_buffer (bt.b), bt.seq++);
  nftnl_batch_update (bt.b);
  if (bt.ops > 0)
    r = send_batch (nl, bt.b, err);
  nftnl_batch_free (bt.b);
  dumped_clear (&d);
  if (r < 0)
    return ch_error_prefix (err, "table `ip %s`", c->nft_table);
  return 0;
}

bool
ch_net_nft_available (void)
{
  __attribute__ ((cleanup (mnl_closep))) struct mnl_socket *nl = NULL;
  cleanup_error ch_error_t err = NULL;
  bool exists;

  /* a table lookup fails outright when nf_tables is missing */
  return nft_open (&nl, &err) == 0 && table_exists (nl, "chuted_probe", &exists, &err) == 0;
}
