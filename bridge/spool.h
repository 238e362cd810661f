/* spool: the files of the disk queue (queue.disk).
 *
 * A directory holds numbered segment files "<id>.seg", an "ack" file with the
 * position of the first unacknowledged record, and a "lock" file (flock: one
 * process per spool).  A record is a 20-byte little-endian header -- magic
 * "EVBR", payload length (u32), sequence number (u64), CRC-32 of length,
 * sequence and payload (u32) -- followed by the payload.
 *
 * Appends go to the newest segment; a segment is sealed when the next record
 * would take it past segment_size.  spool_sync makes appended records durable
 * (fdatasync) and only then readable.  Reads take records in order into a
 * window of at most `window` records read but not yet acknowledged; acks may
 * come in any order and the persisted position advances over the acknowledged
 * prefix, so a restart can repeat records that were acked out of order
 * (at-least-once).  Fully acknowledged segments are deleted.
 *
 * Opening scans every unacknowledged record: a record with a bad checksum or
 * a truncated tail is skipped (the reader resynchronises on the next valid
 * header), counted by sequence numbers where possible, and logged once per
 * segment.  A new process never appends to an old segment.  Main thread only. */
#ifndef EXPVARBEAT_SPOOL_H
#define EXPVARBEAT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_HDR_LEN 20

typedef struct spool spool;

/* One record handed to the reader; data (NUL-terminated, malloc'd) is the
 * caller's.  recovered: written before this process opened the spool. */
typedef struct spool_rec {
    char *data;
    size_t len;
    uint64_t ticket; /* what spool_ack takes */
    int recovered;
} spool_rec;

/* Creates dir if needed, locks it and recovers what it holds. */
spool *spool_open(const char *dir, uint64_t max_size, uint64_t segment_size, size_t window,
                  char *err, size_t errlen);
/* Syncs, persists the acked position and frees; s may be NULL. */
void spool_close(spool *s);

/* 1 when one more record (of the largest size seen), on top of `reserved`
 * records promised but not yet appended, keeps the files within max_size. */
int spool_room(spool *s, size_t reserved);
/* 0, or -1 with a message (nothing of the record is left in the file). */
int spool_append(spool *s, const void *data, size_t len, char *err, size_t errlen);
/* Makes every appended record durable and readable: 0 or -1. */
int spool_sync(spool *s, char *err, size_t errlen);

/* 1 with the next record in r, 0 when none is readable now (or the window is
 * full), -1 on an I/O error. */
int spool_next(spool *s, spool_rec *r, char *err, size_t errlen);
/* The record is done with (delivered or dropped for good). */
void spool_ack(spool *s, uint64_t ticket);
/* Persists the acked position and deletes fully acked segments: 0 or -1. */
int spool_commit(spool *s, char *err, size_t errlen);

uint64_t spool_bytes(const spool *s);   /* size of the segment files */
uint64_t spool_events(const spool *s);  /* records not yet acked */
uint64_t spool_corrupt(const spool *s); /* records lost to corruption */
size_t spool_segments(const spool *s);  /* segment files */

#endif
