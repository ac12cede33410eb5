/* qtime.c - reading and writing times: ISO 8601 UTC and @SECONDS in,
 * ISO 8601 UTC out. Below resolve.c, asof.c and out.c, which all use
 * it; it uses nothing of theirs. */
#include "qtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS 1000000000LL

/* ---- TIME ---- */

/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d (Howard
 * Hinnant's algorithm: no time zone, no libc range limits). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n decimal digits at *p into *out. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* ".digits" (at least one) as nanoseconds; digits past the ninth are
 * dropped. */
static int fraction(const char **p, int64_t *ns)
{
	const char *s = *p;
	int64_t scale = NS / 10;

	*ns = 0;
	if (*s != '.' && *s != ',')
		return 0;
	s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		*ns += (*s - '0') * scale;
		scale /= 10;
	}
	*p = s;
	return 0;
}

/* sec * NS + frac without overflow; frac in [0, NS). */
static int combine(int64_t sec, int64_t frac, int64_t *ns)
{
	if (sec > (INT64_MAX - frac) / NS || sec < INT64_MIN / NS)
		return -1;
	*ns = sec * NS + frac;
	/* INT64_MIN is LIN_QNONE ("no time"); it is out of reach here. */
	return 0;
}

static int epoch_seconds(const char *s, int64_t *ns)
{
	int neg = *s == '-';
	int64_t sec = 0, frac;
	int n = 0;

	if (neg)
		s++;
	for (; *s >= '0' && *s <= '9'; s++, n++) {
		if (n == 12)  /* beyond year 33000: not a timestamp */
			return -1;
		sec = sec * 10 + (*s - '0');
	}
	if (!n || fraction(&s, &frac) || *s)
		return -1;
	if (!neg)
		return combine(sec, frac, ns);
	/* -1.5 is 1.5 s before the epoch: -(1 s + 0.5 s). */
	if (frac) {
		sec += 1;
		frac = NS - frac;
	}
	return combine(-sec, frac, ns);
}

int lq_parse_time(const char *s, int64_t *ns)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				     31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, zsign = 0;
	int64_t frac = 0;

	if (*s == '@')
		return epoch_seconds(s + 1, ns);
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	if (*s) {
		if (*s != 'T' && *s != 't' && *s != ' ')
			return -1;
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -1;
		if (*s == ':' && (s++, digits(&s, 2, &sec) ||
				  fraction(&s, &frac)))
			return -1;
		if (h > 23 || mi > 59 || sec > 59)
			return -1;
		/* A time without a zone would be local time: refuse it
		 * rather than guess. */
		if (*s == 'Z' || *s == 'z') {
			s++;
		} else if (*s == '+' || *s == '-') {
			zsign = *s++ == '-' ? -1 : 1;
			if (digits(&s, 2, &zh))
				return -1;
			if (*s == ':')
				s++;
			if (digits(&s, 2, &zm) || zh > 23 || zm > 59)
				return -1;
		} else {
			return -1;
		}
		if (*s)
			return -1;
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
		    sec - zsign * (zh * 3600 + zm * 60);
	return combine(t, frac, ns);
}

const char *lq_time_why(const char *s, char *buf, size_t n)
{
	static const char generic[] = "expected ISO 8601 UTC "
		"(2024-03-01T10:30:00Z, 2024-03-01) or @SECONDS";
	char tmp[80], date[11];
	int64_t ns;
	int y, mo, d, h, mi;

	if (*s == '@')
		return "expected @SECONDS since the epoch (@1709287200)";
	/* the most common slip: a time of day without its zone */
	if (strlen(s) < sizeof tmp - 1) {
		snprintf(tmp, sizeof tmp, "%sZ", s);
		if (strchr(s, ':') && lq_parse_time(tmp, &ns) == 0) {
			snprintf(buf, n, "it has no time zone: add Z for UTC "
				 "(%s) or an offset (+01:00)", tmp);
			return buf;
		}
	}
	if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3 && strlen(s) >= 10) {
		memcpy(date, s, 10);
		date[10] = '\0';
		if (lq_parse_time(date, &ns))
			return "no such date";
		if (sscanf(s + 10, "T%2d:%2d", &h, &mi) == 2 &&
		    (h > 23 || mi > 59))
			return "no such time of day";
	}
	return generic;
}

char *lin_fmt_time(char buf[48], int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	struct tm tm;
	time_t t;

	if (frac < 0) {  /* floor, so times before 1970 read right */
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, 48, "%lld", (long long)ns);
		return buf;
	}
	int n = snprintf(buf, 48, "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac)
		n += snprintf(buf + n, (size_t)(48 - n), ".%09lld",
			      (long long)frac);
	snprintf(buf + n, (size_t)(48 - n), "Z");
	return buf;
}
