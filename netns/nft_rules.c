/* What chuted's nftables table `ip chuted_<bridge>` holds, built with
 * libnftnl into a batch (nft.c sends it): base chains, masquerade,
 * forward/input isolation, and two DNAT rules per published port:
 * `prerouting` for other hosts, `output` for the host's own connections
 * (127.0.0.1 too, with route_localnet on the bridge and the loopback
 * masquerade below). */
#include "netns/nft_internal.h"

#include "common/util.h"

#include <arpa/inet.h>
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

static struct nlmsghdr *
msg_hdr (struct ch_nft_batch *bt, uint16_t type, uint16_t flags)
{
  return nftnl_nlmsg_build_hdr (nftnl_batch_buffer (bt->b), type, NFPROTO_IPV4, flags, bt->seq++);
}

void
ch_nft_put_table (struct ch_nft_batch *bt, uint16_t type, uint16_t flags)
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
put_chain (struct ch_nft_batch *bt, const char *name, const char *type, uint32_t hook, int32_t prio)
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

void
ch_nft_del_rule (struct ch_nft_batch *bt, const char *chain, uint64_t handle)
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
rule_new (struct ch_nft_batch *bt, const char *chain)
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
rule_put (struct ch_nft_batch *bt, struct nftnl_rule *r)
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

static bool
is_loopback (const char *ip)
{
  struct in_addr a;
  return ip && inet_pton (AF_INET, ip, &a) == 1 && (ntohl (a.s_addr) >> 24) == 127;
}

/* The port forward of one published port, in CHAIN (prerouting or output). */
static void
put_forward (struct ch_nft_batch *bt, const struct ch_net_conf *c, const char *chain, const char *chute, json_t *port,
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
    {
      /* 127/8 from the wire must not reach a chute: loopback-only ports
         are the output chain's alone (the host's own packets) */
      uint32_t lo = htonl (0x7f000000);
      e_ifname (r, NFT_META_IIFNAME, NFT_CMP_NEQ, c->bridge);
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
void
ch_nft_put_forwards (struct ch_nft_batch *bt, const struct ch_net_conf *c, const char *name, json_t *lease)
{
  const char *a = json_string_value (json_object_get (lease, "address"));
  struct in_addr in;
  size_t i;
  json_t *p;

  if (a == NULL || inet_pton (AF_INET, a, &in) != 1)
    return;
  json_array_foreach (json_object_get (lease, "ports"), i, p)
    {
      if (!is_loopback (json_string_value (json_object_get (p, "host_ip"))))
        put_forward (bt, c, "prerouting", name, p, ntohl (in.s_addr));
      put_forward (bt, c, "output", name, p, ntohl (in.s_addr));
    }
}

/* ip saddr 127.0.0.0/8 oifname BRIDGE masquerade: the host's own
 * connections to 127.x, DNATed to a chute, leave through the bridge (with
 * route_localnet on it, net_state.c); the chute must see an address it
 * can answer. Tagged so that a table made before it gets it. */
void
ch_nft_put_loopback_masq (struct ch_nft_batch *bt, const struct ch_net_conf *c)
{
  struct nftnl_rule *r = rule_new (bt, "postrouting");
  uint32_t lo = htonl (0x7f000000);

  e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  e_and (r, htonl (0xff000000));
  e_cmp (r, NFT_CMP_EQ, &lo, 4);
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_EQ, c->bridge);
  e_counter (r);
  nftnl_rule_add_expr (r, nftnl_expr_alloc ("masq"));
  rule_comment (r, CH_NFT_LOOPBACK_MASQ);
  rule_put (bt, r);
}

/* Table, base chains and the rules that do not depend on leases. */
void
ch_nft_put_table_whole (struct ch_nft_batch *bt, const struct ch_net_conf *c, json_t *ipam)
{
  struct nftnl_rule *r;
  const char *name;
  json_t *l;
  uint32_t net = htonl (c->net);

  ch_nft_put_table (bt, NFT_MSG_NEWTABLE, NLM_F_CREATE);
  put_chain (bt, "prerouting", "nat", NF_INET_PRE_ROUTING, -100);
  put_chain (bt, "output", "nat", NF_INET_LOCAL_OUT, -100);
  put_chain (bt, "postrouting", "nat", NF_INET_POST_ROUTING, 100);
  put_chain (bt, "forward", "filter", NF_INET_FORWARD, 0);
  put_chain (bt, "input", "filter", NF_INET_LOCAL_IN, 0);
  json_object_foreach (ch_ipam_leases (ipam), name, l)
    ch_nft_put_forwards (bt, c, name, l);

  /* ip saddr SUBNET oifname != BRIDGE masquerade */
  r = rule_new (bt, "postrouting");
  e_payload (r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
  e_and (r, htonl (ch_net_mask (c->prefix)));
  e_cmp (r, NFT_CMP_EQ, &net, 4);
  e_ifname (r, NFT_META_OIFNAME, NFT_CMP_NEQ, c->bridge);
  e_counter (r);
  nftnl_rule_add_expr (r, nftnl_expr_alloc ("masq"));
  rule_put (bt, r);
  ch_nft_put_loopback_masq (bt, c);

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

