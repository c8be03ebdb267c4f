/* The attach protocol between a chute's monitor and `chuted run`/`attach`:
 * over RUN_DIR/attach (unix stream socket), both ways, frames of
 * {u8 type, u32 big-endian length, payload}. Framing keeps stdout and stderr
 * apart and carries the exit code, terminal size and proxied signals. */
#ifndef CH_ATTACH_H
#define CH_ATTACH_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>

enum ch_frame_type
{
  CH_FRAME_STDIN = 0,  /* client -> monitor */
  CH_FRAME_STDOUT = 1, /* monitor -> client */
  CH_FRAME_STDERR = 2,
  CH_FRAME_EXIT = 3,   /* payload: decimal exit code */
  CH_FRAME_RESIZE = 4, /* payload: "ROWS COLS" */
  CH_FRAME_EOF = 5,    /* client's stdin ended */
  CH_FRAME_RM = 6,     /* client -> monitor: the client removes the chute once
                          it has ended (run --rm in the foreground); the
                          monitor's on-exit command is for when no client does */
  CH_FRAME_SIGNAL = 7, /* client -> monitor: payload decimal signal number, for
                          the chute's init (the client proxies its signals) */
};

#define CH_FRAME_MAX (64 * 1024)

void ch_frame_header (uint8_t hdr[5], enum ch_frame_type type, size_t len);
int ch_frame_write (int fd, enum ch_frame_type type, const void *data, size_t len, ch_error_t *err);

/* Incremental reader: feed bytes, get whole frames out. */
struct ch_frame_reader
{
  uint8_t buf[5 + CH_FRAME_MAX];
  size_t have;
};
/* Read from FD once; returns 0 at EOF, > 0 when bytes were read, < 0 on error. */
int ch_frame_read_some (struct ch_frame_reader *r, int fd, ch_error_t *err);
/* Next complete frame in R (1, with TYPE, DATA, LEN set; DATA points into R),
 * 0 if none yet, < 0 if the stream is malformed. Call ch_frame_consume after use. */
int ch_frame_next (struct ch_frame_reader *r, uint8_t *type, const uint8_t **data, size_t *len, ch_error_t *err);
void ch_frame_consume (struct ch_frame_reader *r);

#endif
