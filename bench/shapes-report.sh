#!/bin/sh
# Turn bench/work/shapes.txt ("shape.section key value" lines) into one
# table per shape on stdout and bench/results-shapes.json. Every ratio
# compares figures of the same run; "better" ratios are > 1 except where
# the target says <=.
set -eu
RAW=$1
CPU=${2:-unknown}
awk -v cpu="$CPU" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
{ v[$1 "." $2] = $3; if (!($1 in seen)) { split($1, p, "."); if (p[1] != "all" && !(p[1] in sh)) { sh[p[1]] = 1; order[++ns] = p[1] } seen[$1] = 1 } }
function r(a, b) { return b > 0 ? a / b : 0 }
function g(s, k) { return v[s "." k] }
function row(name, lin, base, ratio, target, met) {
	printf "%-40s %16s %16s %9s  %-9s %s\n", name, lin, base, ratio, target, met
}
function ok(c) { return c ? "met" : "MISSED" }
function j(key, val) { json = json sprintf("%s\n  \"%s\": %s", sep, key, val); sep = "," }
END {
	printf "lineage issue-10 targets, %s, %d cores, %.0f GiB, %s\n", cpu, v["all.machine.cores"], v["all.machine.mem_kb"] / 1048576, date
	for (i = 1; i <= ns; i++) {
		s = order[i]
		runs = g(s, "params.runs"); small = g(s, "params.small_runs")
		printf "\nshape %s: %d runs in %d runlog files (%.1f MB), %d collections, %d versions, %d logged + %d used edges; .wandb: %d runs in %d files, %d history bytes per run; bench took %d s\n",
			s, runs, g(s, "archive.files"), g(s, "archive.bytes") / 1e6, g(s, "counts.collections"), g(s, "counts.versions"), g(s, "counts.logged"), g(s, "counts.used"), g(s, "params.wandb_runs"), g(s, "archive.wandb_files"), g(s, "params.history"), g(s, "bench.seconds")
		row("figure", "lineage", "SQLite / floor", "ratio", "target", "")
		idx = g(s, "index.seconds"); sql = g(s, "sqliteload.seconds")
		row("first index (s) vs SQLite CSV load", sprintf("%.2f", idx), sprintf("%.2f", sql), sprintf("%.3fx", r(sql, idx)), ">= 1x", ok(r(sql, idx) >= 1))
		ids = g(s, "index_small.seconds"); lin = r(idx, ids); want = 1.1 * r(runs, small)
		row(sprintf("linearity: index %d / %d runs (s)", runs, small), sprintf("%.2f", idx), sprintf("%.2f", ids), sprintf("%.2fx", lin), sprintf("<= %.0fx", want), ok(lin <= want))
		wb = g(s, "crc.bytes") / 1e6; wi = g(s, "wandbindex.seconds"); wc = g(s, "crc.seconds")
		row(".wandb index vs crc32 (MB/s)", sprintf("%.1f", r(wb, wi)), sprintf("%.1f", r(wb, wc)), sprintf("%.1f%%", 100 * r(wc, wi)), ">= 50%", ok(r(wc, wi) >= 0.5))
		lb = g(s, "size.lmdb_bytes"); sb = g(s, "size.sqlite_bytes")
		row("store size (MB) vs SQLite database", sprintf("%.1f", lb / 1e6), sprintf("%.1f", sb / 1e6), sprintf("%.2fx", r(lb, sb)), "<= 2x", ok(r(lb, sb) <= 2))
		if ((s ".compact.bytes") in v) {
			cb = g(s, "compact.bytes")
			row("--compact-to copy (MB) vs SQLite database", sprintf("%.1f", cb / 1e6), sprintf("%.1f", sb / 1e6), sprintf("%.2fx", r(cb, sb)), "<= 1x", ok(r(cb, sb) <= 1))
			j(s "_compact_bytes", cb)
		}
		hb = g(s, "heap.heap_peak_bytes"); hs = g(s, "heap_small.heap_peak_bytes")
		if ((s ".heap_tiny.heap_peak_bytes") in v) {
			ht = g(s, "heap_tiny.heap_peak_bytes")
			row(sprintf("indexer peak heap (MB) %d / %d runs", runs, g(s, "params.tiny_runs")), sprintf("%.1f", hb / 1e6), sprintf("%.1f", ht / 1e6), sprintf("%.2fx", r(hb, ht)), "<= 2x", ok(hb > 0 && r(hb, ht) <= 2))
			row(sprintf("  the same, %d / %d runs", runs, small), sprintf("%.1f", hb / 1e6), sprintf("%.1f", hs / 1e6), sprintf("%.2fx", r(hb, hs)), "", "")
			j(s "_heap_peak_tiny_bytes", ht)
		} else
			row(sprintf("indexer peak heap (MB) %d / %d runs", runs, small), sprintf("%.1f", hb / 1e6), sprintf("%.1f", hs / 1e6), sprintf("%.2fx", r(hb, hs)), "<= 2x", ok(hb > 0 && r(hb, hs) <= 2))
		rb = g(s, "index.maxrss_kb"); rs = g(s, "index_small.maxrss_kb")
		row(sprintf("indexer peak RSS (MB) %d / %d runs", runs, small), sprintf("%.1f", rb / 1024), sprintf("%.1f", rs / 1024), sprintf("%.2fx", r(rb, rs)), "", "")
		cold = g(s, "cold_impact.cold") && g(s, "cold_sql.cold") ? "cold" : "WARM"
		a = g(s, "cold_impact.median_us"); b = g(s, "cold_sql.median_us")
		row(sprintf("%s impact, 10 hubs, median (ms)", cold), sprintf("%.2f", a / 1000), sprintf("%.2f", b / 1000), sprintf("%.2fx", r(b, a)), ">= 3x", ok(r(b, a) >= 3))
		row("  range over the 10 hubs (ms)", sprintf("%.2f-%.2f", g(s, "cold_impact.min_us") / 1000, g(s, "cold_impact.max_us") / 1000), sprintf("%.2f-%.2f", g(s, "cold_sql.min_us") / 1000, g(s, "cold_sql.max_us") / 1000), "", "", "")
		if ((s ".cold_nopf.median_us") in v) {
			a2 = g(s, "cold_nopf.median_us")
			row("  the same without read-ahead helpers (ms)", sprintf("%.2f", a2 / 1000), sprintf("%.2f", b / 1000), sprintf("%.2fx", r(b, a2)), "", "")
		}
		if ((s ".cold_pf.median_us") in v) {
			a2 = g(s, "cold_pf.median_us")
			row("  the same with read-ahead helpers (ms)", sprintf("%.2f", a2 / 1000), sprintf("%.2f", b / 1000), sprintf("%.2fx", r(b, a2)), "", "")
		}
		row("  hubs: uses, nodes reached, same answers", sprintf("%d-%d uses", g(s, "hubs.uses_min"), g(s, "hubs.uses_max")), sprintf("%d-%d nodes", g(s, "hubs.nodes_min"), g(s, "hubs.nodes_max")), "", "", g(s, "hubs.same"))
		if ((s ".warm_impact.median_us") in v) {
			a = g(s, "warm_impact.median_us"); b = g(s, "warm_sql.median_us")
			row("  the same, page cache warm (ms)", sprintf("%.2f", a / 1000), sprintf("%.2f", b / 1000), sprintf("%.2fx", r(b, a)), "", "")
		}
		a = g(s, "hub_lin.median_us"); b = g(s, "hub_sql.median_us")
		row("in-process hub walk median (us)", sprintf("%.1f", a), sprintf("%.1f", b), sprintf("%.1fx", r(b, a)), ">= 20x", ok(r(b, a) >= 20))
		n = split("logged_by used_by down_1 down_3 down_all up_1 up_3 up_all", q, " ")
		for (k = 1; k <= n; k++) {
			a = g(s, "lin_" q[k] ".median_us"); b = g(s, "sql_" q[k] ".median_us")
			t = q[k] ~ /_by$/ ? 10 : 20
			same = g(s, "lin_" q[k] ".answers") == g(s, "sql_" q[k] ".answers") ? "" : " (answers differ)"
			row("in-process " q[k] " median (us)", sprintf("%.2f", a), sprintf("%.2f", b), sprintf("%.1fx", r(b, a)), ">= " t "x", ok(r(b, a) >= t) same)
			j(s "_" q[k] "_lineage_us", a); j(s "_" q[k] "_sqlite_us", b)
		}
		cs = g(s, "cold_stats.cold") ? "cold" : "WARM"
		row(sprintf("%s stats median (ms), peak RSS (MB)", cs), sprintf("%.2f", g(s, "cold_stats.median_us") / 1000), sprintf("%.1f MB", g(s, "cold_stats.maxrss_kb") / 1024), "", "< 2 ms", ok(g(s, "cold_stats.median_us") < 2000))
		if ((s ".warm_stats.median_us") in v)
			row("  the same, page cache warm (ms)", sprintf("%.2f", g(s, "warm_stats.median_us") / 1000), "", "", "", "")
		if ((s ".cold_bare.median_us") in v) {
			a = g(s, "cold_stats.median_us"); b = g(s, "cold_bare.median_us")
			row(sprintf("  vs %s bare LMDB open + read (ms)", g(s, "cold_bare.cold") ? "cold" : "WARM"), sprintf("%.2f", a / 1000), sprintf("%.2f", b / 1000), sprintf("%.2fx", r(a, b)), "", "")
		}
		j(s "_runs", runs); j(s "_collections", g(s, "counts.collections")); j(s "_index_seconds", idx); j(s "_index_small_seconds", ids); j(s "_sqlite_load_seconds", sql)
		j(s "_wandb_mb_per_s", r(wb, wi)); j(s "_crc_mb_per_s", r(wb, wc)); j(s "_store_bytes", lb); j(s "_sqlite_bytes", sb)
		j(s "_heap_peak_bytes", hb); j(s "_heap_peak_small_bytes", hs); j(s "_maxrss_kb", rb); j(s "_maxrss_small_kb", rs)
		j(s "_cold_impact_median_us", g(s, "cold_impact.median_us")); j(s "_cold_impact_sqlite_median_us", g(s, "cold_sql.median_us"))
		j(s "_hub_walk_us", g(s, "hub_lin.median_us")); j(s "_hub_walk_sqlite_us", g(s, "hub_sql.median_us")); j(s "_cold_stats_median_us", g(s, "cold_stats.median_us"))
		if ((s ".cold_bare.median_us") in v)
			j(s "_cold_bare_median_us", g(s, "cold_bare.median_us"))
	}
	j("cpu", "\"" cpu "\""); j("date", "\"" date "\"")
	print "{" json "\n}" > "bench/results-shapes.json"
}' "$RAW"
