#include "runtime/attach.h"
#include "common/file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

void
ch_frame_header (uint8_t hdr[5], enum ch_frame_type type, size_t len)
{
  uint32_t n = htonl ((uint32_t) len);

  hdr[0] = (uint8_t) type;
  memcpy (hdr + 1, &n, 4);
}

int
ch_frame_write (int fd, enum ch_frame_type type, const void *data, size_t len, ch_error_t *err)
{
  uint8_t hdr[5];

  if (len > CH_FRAME_MAX)
    return ch_error (err, EMSGSIZE, "attach frame of %zu bytes", len);
  ch_frame_header (hdr, type, len);
  if (ch_write_all (fd, hdr, sizeof (hdr), err) < 0)
    return -1;
  return len ? ch_write_all (fd, data, len, err) : 0;
}

int
ch_frame_read_some (struct ch_frame_reader *r, int fd, ch_error_t *err)
{
  ssize_t n;

  if (r->have >= sizeof (r->buf))
    return ch_error (err, EPROTO, "attach stream: frame too large");
  do
    n = read (fd, r->buf + r->have, sizeof (r->buf) - r->have);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return ch_error (err, errno, "read attach stream");
  r->have += n;
  return n > 0 ? 1 : 0;
}

int
ch_frame_next (struct ch_frame_reader *r, uint8_t *type, const uint8_t **data, size_t *len, ch_error_t *err)
{
  uint32_t n;

  if (r->have < 5)
    return 0;
  memcpy (&n, r->buf + 1, 4);
  n = ntohl (n);
  if (n > CH_FRAME_MAX)
    return ch_error (err, EPROTO, "attach stream: frame of %u bytes", n);
  if (r->have < 5 + n)
    return 0;
  *type = r->buf[0];
  *data = r->buf + 5;
  *len = n;
  return 1;
}

void
ch_frame_consume (struct ch_frame_reader *r)
{
  uint32_t n;
  size_t used;

  if (r->have < 5)
    return;
  memcpy (&n, r->buf + 1, 4);
  used = 5 + ntohl (n);
  if (used > r->have)
    return;
  memmove (r->buf, r->buf + used, r->have - used);
  r->have -= used;
}
