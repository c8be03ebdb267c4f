/* Internal to nft.c and nft_rules.c: the rules chuted's table holds,
 * appended to a batch nft.c sends. */
#ifndef CH_NFT_INTERNAL_H
#define CH_NFT_INTERNAL_H

#include "netns/net_internal.h"

#include <sys/uio.h> /* before batch.h: its prototypes name struct iovec */
#include <libnftnl/batch.h>

/* the comment of the rule masquerading 127/8 out of the bridge */
#define CH_NFT_LOOPBACK_MASQ "loopback-masq"

struct ch_nft_batch
{
  struct nftnl_batch *b;
  uint32_t seq;
  const char *table;
  int ops;
};

void ch_nft_put_table (struct ch_nft_batch *bt, uint16_t type, uint16_t flags);
void ch_nft_del_rule (struct ch_nft_batch *bt, const char *chain, uint64_t handle);
/* The port forwards of one leased chute, tagged "chute:NAME". */
void ch_nft_put_forwards (struct ch_nft_batch *bt, const struct ch_net_conf *c, const char *name, json_t *lease);
void ch_nft_put_loopback_masq (struct ch_nft_batch *bt, const struct ch_net_conf *c);
/* Table, base chains, the rules that do not depend on leases and every
 * lease's forwards. */
void ch_nft_put_table_whole (struct ch_nft_batch *bt, const struct ch_net_conf *c, json_t *ipam);

#endif
