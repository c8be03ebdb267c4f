/* WAN shaping: a root tbf on an interface's egress, through libnl-route.
 * tbf exists on every AP kernel (htb/hfsc/fq_codel often do not, and this
 * host lacks hfsc), needs no classes or filters, and segments GSO packets
 * larger than its bucket, so the rate holds on veths with TSO. */
#include "netns/net_internal.h"

#include "common/util.h"

#include <errno.h>

#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

/* Bucket: 4 ms at the rate, at least 4 full frames, so one timer wakeup can
 * refill enough to keep a TCP sender busy. Queue: 50 ms at the rate, at
 * least bucket + 8 frames. Measured (tests/bench/net_shaping.sh): longer
 * queues only add latency, and at 1-2 Mbit/s a queue of 0.4-0.8 s cost
 * up to 25 % of a 5 s transfer. */
static void
tbf_params (uint64_t kbit, int mtu, uint32_t *rate, uint32_t *bucket, uint32_t *limit)
{
  uint64_t bps = kbit * 1000 / 8;
  uint64_t frame = (uint64_t) mtu + 14;
  uint64_t b = bps / 250, l = bps / 20;

  if (b < 4 * frame)
    b = 4 * frame;
  if (l < b + 8 * frame)
    l = b + 8 * frame;
  *rate = (uint32_t) bps;
  *bucket = (uint32_t) b;
  *limit = (uint32_t) l;
}

int
ch_tc_set_rate (struct nl_sock *sk, int ifindex, uint64_t kbit, int mtu, ch_error_t *err)
{
  struct rtnl_qdisc *q = rtnl_qdisc_alloc ();
  int r;

  if (q == NULL)
    return ch_error (err, ENOMEM, "qdisc");
  rtnl_tc_set_ifindex (TC_CAST (q), ifindex);
  rtnl_tc_set_parent (TC_CAST (q), TC_H_ROOT);
  if (kbit == 0)
    {
      r = rtnl_qdisc_delete (sk, q);
      rtnl_qdisc_put (q);
      /* nothing to delete (the default qdisc) is fine */
      if (r < 0 && r != -NLE_OBJ_NOTFOUND && r != -NLE_INVAL && r != -NLE_NOATTR && r != -NLE_OPNOTSUPP)
        return ch_error (err, 0, "remove shaping on link %d: %s", ifindex, nl_geterror (r));
      return 0;
    }
  {
    uint32_t rate, bucket, limit;
    tbf_params (kbit, mtu, &rate, &bucket, &limit);
    rtnl_tc_set_handle (TC_CAST (q), TC_HANDLE (0xc4, 0));
    r = rtnl_tc_set_kind (TC_CAST (q), "tbf");
    if (r == 0)
      {
        rtnl_qdisc_tbf_set_limit (q, (int) limit);
        rtnl_qdisc_tbf_set_rate (q, (int) rate, (int) bucket, 0);
        r = rtnl_qdisc_add (sk, q, NLM_F_CREATE | NLM_F_REPLACE);
      }
  }
  rtnl_qdisc_put (q);
  if (r < 0)
    return ch_error (err, 0, "set tbf %llu kbit/s on link %d: %s", (unsigned long long) kbit, ifindex,
                     nl_geterror (r));
  return 0;
}
