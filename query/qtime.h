/* qtime.h - reading and writing times (ns since the epoch, UTC). */
#ifndef LIN_QTIME_H
#define LIN_QTIME_H

#include <stddef.h>
#include <stdint.h>

/* Parse TIME: ISO 8601 UTC "YYYY-MM-DDThh:mm[:ss[.frac]]" followed by
 * "Z" or "+hh:mm"/"-hh:mm", a date alone "YYYY-MM-DD" (00:00:00Z), or
 * "@SECONDS[.frac]" since the epoch. 0 and *ns set, or -1. */
int lq_parse_time(const char *s, int64_t *ns);

/* Why lq_parse_time refused `s`, for a message ("it has no time zone:
 * add Z ..."); may use buf[0..n). */
const char *lq_time_why(const char *s, char *buf, size_t n);

/* ns since the epoch as ISO-8601 UTC, "2023-11-14T22:13:20Z", with
 * ".123456789" only when the nanoseconds are non-zero. Returns buf. */
char *lin_fmt_time(char buf[48], int64_t ns);

#endif
