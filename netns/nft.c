/* NAT and port forwards in an nftables table of our own (`ip chuted_<bridge>`),
 * through libnftnl + libmnl. Other tables are never touched.
 *
 * ch_nft_apply reconciles the table with the IPAM leases: it is built whole
 * (base chains, NAT/isolation rules, every lease's port forwards) when it is
 * missing, e.g. after a foreign `nft flush ruleset`; otherwise only the port
 * forwards change: each carries the comment "chute:NAME", forwards of
 * chutes without a lease are deleted by handle and chutes whose forwards are
 * missing get them, in one atomic batch. Incremental because any deletion
 * costs a full RCU grace period (the kernel flushes its destroy work on the
 * next socket release, ~10 ms here, ~19 ms for a whole table), which would
 * otherwise land on every `chuted run`. For the same reason the table stays
 * when the last lease goes (like the bridge); `chuted network prune`
 * removes it through ch_nft_table_del. */
#include "netns/net_internal.h"

#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct batch
{
  struct nftnl_batch *b;
  uint32_t seq;
  const char *table;
  int ops;
};

static struct nlmsghdr *
msg_hdr (struct batch *bt, uint16_t type, uint16_t flags)
{
  return nftnl_nlmsg_build_hdr (nftnl_batch_buffer (bt->b), type, NFPROTO_IPV4, flags, bt->seq++);
}

static void
put_table (struct batch *bt, uint16_t type, uint16_t flags)
{
  struct nftnl_table *t = nftnl_table_alloc ();
  nftnl_table_set_str (t, NFTNL_TABLE_NAME, bt->table);
  nftnl_table_set_u32 (t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
  nftnl_table_nlmsg_build_payload (msg_hdr (bt, type, flags), t);
  nftnl_table_free (t);
  nftnl_batch_update (bt->b);
  bt->ops++;
}

static void
put_chain (struct batch *bt, const char *name, const char *type, uint32_t hook, int32_t prio)
{
  struct nftnl_chain *c = nftnl_chain_alloc ();
  nftnl_chain_set_str (c, NFTNL_CHAIN_TABLE, bt->table);
  nftnl_chain_set_str (c, NFTNL_CHAIN_NAME, name);
  nftnl_chain_set_str (c, NFTNL_CHAIN_TYPE, type);
  nftnl_chain_set_u32 (c, NFTNL_CHAIN_HOOKNUM, hook);
  nftnl_chain_set_s32 (c, NFTNL_CHAIN_PRIO, prio);
  nftnl_chain_set_u32 (c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
  nftnl_chain_nlmsg_build_payload (msg_hdr (bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
  nftnl_chain_free (c);
  nftnl_batch_update (bt->b);
}

static void
del_rule (struct batch *bt, const char *chain, uint64_t handle)
{
  struct nftnl_rule *r = nftnl_rule_alloc ();
  nftnl_rule_set_str (r, NFTNL_RULE_TABLE, bt->table);
  nftnl_rule_set_str (r, NFTNL_RULE_CHAIN, chain);
  nftnl_rule_set_u32 (r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
  nftnl_rule_set_u64 (r, NFTNL_RULE_HANDLE, handle);
  nftnl_rule_nlmsg_build_payload (msg_hdr (bt, NFT_MSG_DELRULE, 0), r);
  nftnl_rule_free (r);
  nftnl_batch_update (bt->b);
  bt->ops++;
}

static struct nftnl_rule *
rule_new (struct batch *bt, const char *chain)
{
  struct nftnl_rule *r = nftnl_rule_alloc ();
  nftnl_rule_set_str (r, NFTNL_RULE_TABLE, bt->table);
  nftnl_rule_set_str (r, NFTNL_RULE_CHAIN, chain);
  nftnl_rule_set_u32 (r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
  return r;
}

static void
rule_comment (struct nftnl_rule *r, const char *comment)
{
  struct nftnl_udata_buf *u = nftnl_udata_buf_alloc (NFT_USERDATA_MAXLEN);
  nftnl_udata_put_strz (u, NFTNL_UDATA_RULE_COMMENT, comment);
  nftnl_rule_set_data (r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data (u), nftnl_udata_buf_len (u));
  nftnl_udata_buf_free (u);
}

static void
rule_put (struct batch *bt, struct nftnl_rule *r)
{
  nftnl_rule_nlmsg_build_payload (msg_hdr (bt, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE), r);
  nftnl_rule_free (r);
  nftnl_batch_update (bt->b);
  bt->ops++;
}

/* --- expressions: each loads into register 1 unless told otherwise --- */

static void
e_meta (struct nftnl_rule *r, uint32_t key)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("meta");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr (r, e);
}

static void
e_cmp (struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("cmp");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set (e, NFTNL_EXPR_CMP_DATA, data, len);
  nftnl_rule_add_expr (r, e);
}

static void
e_ifname (struct nftnl_rule *r, uint32_t key, uint32_t op, const char *name)
{
  char buf[IFNAMSIZ] = { 0 };
  memcpy (buf, name, strnlen (name, IFNAMSIZ - 1));
  e_meta (r, key);
  e_cmp (r, op, buf, sizeof buf);
}

static void
e_payload (struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("payload");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_rule_add_expr (r, e);
}

/* reg1 = (reg1 & MASK) ^ 0, 4 bytes */
static void
e_and (struct nftnl_rule *r, uint32_t mask_be)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("bitwise");
  uint32_t zero = 0;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_BITWISE_LEN, 4);
  nftnl_expr_set (e, NFTNL_EXPR_BITWISE_MASK, &mask_be, 4);
  nftnl_expr_set (e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
  nftnl_rule_add_expr (r, e);
}

/* ct KEY & MASK != 0 (host-order bits as the kernel stores them) */
static void
e_ct_bits (struct nftnl_rule *r, uint32_t key, uint32_t mask)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("ct");
  uint32_t zero = 0;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_KEY, key);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
  nftnl_rule_add_expr (r, e);
  e_and (r, mask);
  e_cmp (r, NFT_CMP_NEQ, &zero, 4);
}

static void
e_daddr_local (struct nftnl_rule *r)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("fib");
  uint32_t local = RTN_LOCAL;
  nftnl_expr_set_u32 (e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
  nftnl_rule_add_expr (r, e);
  e_cmp (r, NFT_CMP_EQ, &local, 4);
}

static void
e_imm (struct nftnl_rule *r, uint32_t reg, const void *data, uint32_t len)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("immediate");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, reg);
  nftnl_expr_set (e, NFTNL_EXPR_IMM_DATA, data, len);
  nftnl_rule_add_expr (r, e);
}

static void
e_verdict (struct nftnl_rule *r, uint32_t verdict)
{
  struct nftnl_expr *e = nftnl_expr_alloc ("immediate");
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32 (e, NFTNL_EXPR_IMM_VERDICT, verdict);
  nftnl_rule_add_expr (r, e);
}

static void
e_counter (struct nftnl_rule *r)
{
  nftnl_rule_add_expr (r, nftnl_expr_alloc ("counter"));
}

/* The port forward of one published port, in CHAIN (prerouting or output). */
static void
put_forward (struct batch *bt, const struct ch_net_conf *c, const char *chain, const char *chute, json_t *port,
             uint32_t chute_addr)
{
  struct nftnl_rule *r = rule_new (bt, chain);
  cleanup_free char *comment = xasprintf ("chute:%s", chute);
  const char *host_ip = json_string_value (json_object_get (port, "host_ip"));
  const char *proto = json_string_value (json_object_get (port, "proto"));
  uint8_t l4 = proto && strcmp (proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
  uint16_t dport = htons ((uint16_t) json_integer_value (json_object_get (port, "host_port")));
  uint16_t to_port = htons ((uint16_t) json_integer_value (json_object_get (port, "chute_port")));
  uint32_t to_addr = htonl (chute_addr);
  struct nftnl_expr *nat;
  struct in_addr hip;

  if (strcmp (chain, "prerouting") == 0)
    e_ifname (r, NFT_META_IIFNAME, NFT_CMP_NEQ, c->bridge);
  else
    {
      /* the host's own loopback cannot be NATed to another address */
      uint32_t lo = htonl (0x7f000000);
      e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
      e_and (r, htonl (0xff000000));
      e_cmp (r, NFT_CMP_NEQ, &lo, 4);
    }
  if (host_ip && inet_pton (AF_INET, host_ip, &hip) == 1)
    {
      e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
      e_cmp (r, NFT_CMP_EQ, &hip.s_addr, 4);
    }
  else
    /* only traffic for this host: a router must not hijack what it forwards */
    e_daddr_local (r);
  e_meta (r, NFT_META_L4PROTO);
  e_cmp (r, NFT_CMP_EQ, &l4, 1);
  e_payload (r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  e_cmp (r, NFT_CMP_EQ, &dport, 2);
  e_counter (r);
  e_imm (r, NFT_REG_1, &to_addr, 4);
  e_imm (r, NFT_REG_2, &to_port, 2);
  nat = nftnl_expr_alloc ("nat");
  nftnl_expr_set_u32 (nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32 (nat, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
  nftnl_expr_set_u32 (nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
  nftnl_expr_set_u32 (nat, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
  nftnl_expr_set_u32 (nat, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
  nftnl_rule_add_expr (r, nat);
  rule_comment (r, comment);
  rule_put (bt, r);
}

/* The port forwards of one leased chute. */
static void
put_forwards (struct batch *bt, const struct ch_net_conf *c, const char *name, json_t *lease)
{
  const char *a = json_string_value (json_object_get (lease, "address"));
  struct in_addr in;
  size_t i;
  json_t *p;

  if (a == NULL || inet_pton (AF_INET, a, &in) != 1)
    return;
  json_array_foreach (json_object_get (lease, "ports"), i, p)
    {
      put_forward (bt, c, "prerouting", name, p, ntohl (in.s_addr));
      put_forward (bt, c, "output", name, p, ntohl (in.s_addr));
    }
}

/* Table, base chains and the rules that do not depend on leases. */
static void
put_table_whole (struct batch *bt, const struct ch_net_conf *c, json_t *ipam)
{
  struct nftnl_rule *r;
  const char *name;
  json_t *l;
  uint32_t net = htonl (c->net);

  put_table (bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_chain (bt, "prerouting", "nat", NF_INET_PRE_ROUTING, -100);
  put_chain (bt, "output", "nat", NF_INET_LOCAL_OUT, -100);
  put_chain (bt, "postrouting", "nat", NF_INET_POST_ROUTING, 100);
  put_chain (bt, "forward", "filter", NF_INET_FORWARD, 0);
  put_chain (bt, "input", "filter", NF_INET_LOCAL_IN, 0);
  json_object_foreach (ch_ipam_leases (ipam), name, l)
    put_forwards (bt, c, name, l);

  /* ip saddr SUBNET oifname != BRIDGE masquerade */
  r = rule_new (bt, "postrouting");
  e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  e_and (r, htonl (ch_net_mask (c->prefix)));
  e_cmp (r, NFT_CMP_EQ, &net, 4);
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_NEQ, c->bridge);
  e_counter (r);
  nftnl_rule_add_expr (r, nftnl_expr_alloc ("masq"));
  rule_put (bt, r);

  /* into the bridge: replies and published ports only */
  r = rule_new (bt, "forward");
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_EQ, c->bridge);
  e_ct_bits (r, NFT_CT_STATE, NF_CT_STATE_BIT (IP_CT_ESTABLISHED) | NF_CT_STATE_BIT (IP_CT_RELATED));
  e_verdict (r, NF_ACCEPT);
  rule_put (bt, r);
  r = rule_new (bt, "forward");
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_EQ, c->bridge);
  e_ct_bits (r, NFT_CT_STATUS, IPS_DST_NAT);
  e_verdict (r, NF_ACCEPT);
  rule_put (bt, r);
  r = rule_new (bt, "forward");
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_EQ, c->bridge);
  e_counter (r);
  e_verdict (r, NF_DROP);
  rule_put (bt, r);

  /* chutes do not reach the host's own services */
  r = rule_new (bt, "input");
  e_ifname (r, NFT_META_IIFNAME, NFT_CMP_EQ, c->bridge);
  e_ct_bits (r, NFT_CT_STATE, NF_CT_STATE_BIT (IP_CT_ESTABLISHED) | NF_CT_STATE_BIT (IP_CT_RELATED));
  e_verdict (r, NF_ACCEPT);
  rule_put (bt, r);
  r = rule_new (bt, "input");
  e_ifname (r, NFT_META_IIFNAME, NFT_CMP_EQ, c->bridge);
  e_counter (r);
  e_verdict (r, NF_DROP);
  rule_put (bt, r);
}

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
      && nftnl_udata_parse (ud, len, comment_cb, &comment) >= 0 && comment && ch_has_prefix (comment, "chute:"))
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
  struct batch bt = { .seq = 2, .table = table };
  bool exists;
  int r;

  if (nft_open (&nl, err) < 0 || table_exists (nl, table, &exists, err) < 0)
    return ch_error_prefix (err, "nftables");
  if (!exists)
    return 0;
  bt.b = nftnl_batch_alloc (MNL_SOCKET_BUFFER_SIZE, MNL_SOCKET_BUFFER_SIZE);
  nftnl_batch_begin (nftnl_batch_buffer (bt.b), bt.seq++);
  nftnl_batch_update (bt.b);
  put_table (&bt, NFT_MSG_DELTABLE, 0);
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
  struct batch bt = { .seq = 2, .table = c->nft_table };
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
        put_table_whole (&bt, c, ipam);
    }
  else
    {
      const char *name;
      json_t *l;
      for (size_t i = 0; i < d.n; i++)
        {
          l = json_object_get (ch_ipam_leases (ipam), d.chutes[i]);
          if (l == NULL || json_object_get (l, "address") == NULL)
            del_rule (&bt, d.chains[i], d.handles[i]);
        }
      json_object_foreach (ch_ipam_leases (ipam), name, l)
        if (!has_forwards (&d, name))
          put_forwards (&bt, c, name, l);
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
