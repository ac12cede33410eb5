#!/bin/sh
# Turn bench/work/raw.txt ("section key value" lines) into the table on
# stdout and bench/results.json. Ratios compare figures of the same run.
set -eu
RAW=$1
CPU=${2:-unknown}
awk -v cpu="$CPU" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
{ v[$1 "." $2] = $3 }
function r(a, b) { return b > 0 ? a / b : 0 }
function row(name, value, unit, ratio, target) {
	printf "%-44s %14s %-6s %10s   %s\n", name, value, unit, ratio, target
}
function j(key, val) { json = json sprintf("%s\n  \"%s\": %s", sep, key, val); sep = "," }
END {
	runs = v["machine.runs"]
	rec = v["parse.records"]; mb = v["parse.bytes"] / 1e6
	idx = v["index.seconds"]; prs = v["parse.seconds"]
	sql = v["sqliteload.seconds"]
	printf "lineage benchmark, %d runs (%d .wandb runs), %s, %d cores, %.0f GiB, %s\n\n", runs, v["machine.wandb_runs"], cpu, v["machine.cores"], v["machine.mem_kb"] / 1048576, date
	printf "%-44s %14s %-6s %10s   %s\n", "figure", "value", "unit", "ratio", "target"
	row("runlog index throughput", sprintf("%.0f", r(rec, idx)), "rec/s", "", "")
	row("runlog index throughput (uncompressed)", sprintf("%.1f", r(mb, idx)), "MB/s", "", "")
	row("  vs parse floor (parse s / index s)", sprintf("%.3f", r(prs, idx)), "x", sprintf("%.1f%%", 100 * r(prs, idx)), ">= 50%")
	row("  vs SQLite CSV load (sqlite s / index s)", sprintf("%.3f", r(sql, idx)), "x", sprintf("%.2fx", r(sql, idx)), "> 1x")
	wb = v["crc.bytes"] / 1e6
	row(".wandb index throughput", sprintf("%.1f", r(wb, v["wandbindex.seconds"])), "MB/s", "", "")
	row("  crc32 floor", sprintf("%.1f", r(wb, v["crc.seconds"])), "MB/s", "", "")
	row("  vs crc floor (crc s / index s)", sprintf("%.3f", r(v["crc.seconds"], v["wandbindex.seconds"])), "x", sprintf("%.1f%%", 100 * r(v["crc.seconds"], v["wandbindex.seconds"])), ">= 50%")
	row("  reader only vs crc floor", sprintf("%.3f", r(v["crc.seconds"], v["wandbread.seconds"])), "x", "", "")
	n = split("logged_by used_by down_1 down_3 down_all up_1 up_3 up_all", q, " ")
	for (i = 1; i <= n; i++) {
		a = v["qlin_" q[i] ".median_us"]; b = v["qsql_" q[i] ".median_us"]
		pt = (q[i] ~ /_by$/) ? ">= 10x" : ">= 20x"
		row("in-process " q[i] " median (lineage/SQLite)", sprintf("%.1f/%.1f", a, b), "us", sprintf("%.1fx", r(b, a)), pt)
		row("in-process " q[i] " p99", sprintf("%.1f/%.1f", v["qlin_" q[i] ".p99_us"], v["qsql_" q[i] ".p99_us"]), "us", sprintf("%.1fx", r(v["qsql_" q[i] ".p99_us"], v["qlin_" q[i] ".p99_us"])), "")
		j("query_" q[i] "_lineage_median_us", a); j("query_" q[i] "_sqlite_median_us", b)
		j("query_" q[i] "_lineage_p99_us", v["qlin_" q[i] ".p99_us"]); j("query_" q[i] "_sqlite_p99_us", v["qsql_" q[i] ".p99_us"])
	}
	row("same answers as SQLite", v["check.same_answers"], "", "", "yes")
	a = v["coldlin_point.median_us"]; b = v["coldsql_point.median_us"]
	row("cold process logged-by median (lin/SQLite)", sprintf("%.0f/%.0f", a, b), "us", sprintf("%.1fx", r(b, a)), ">= 3x")
	c = v["coldlin_down.median_us"]; d = v["coldsql_down.median_us"]
	row("cold process lineage --down median", sprintf("%.0f/%.0f", c, d), "us", sprintf("%.1fx", r(d, c)), ">= 3x")
	e = v["coldbare.median_us"]
	row("cold logged-by vs bare LMDB read", sprintf("%.0f/%.0f", a, e), "us", sprintf("%.2fx", r(a, e)), "<= 2x")
	row("re-index unchanged (first s / again s)", sprintf("%.3f/%.3f", idx, v["reindex.seconds"]), "s", sprintf("%.0fx", r(idx, v["reindex.seconds"])), ">= 20x")
	row("  the same at 10,000 runs", sprintf("%.3f/%.3f", v["index10k.seconds"], v["reindex10k.seconds"]), "s", sprintf("%.0fx", r(v["index10k.seconds"], v["reindex10k.seconds"])), ">= 20x")
	f10 = v["index10k.seconds"]
	row("10k runs unpacked: index", sprintf("%.3f", f10), "s", sprintf("%.1f MB/s", r(v["archsize.dir_bytes"] / 1e6, f10)), "")
	row("  the same as .tar.gz, read in place", sprintf("%.3f", v["archtgz.seconds"]), "s", sprintf("%.2fx", r(v["archtgz.seconds"], f10)), "")
	row("  the same as .tar, read in place", sprintf("%.3f", v["archtar.seconds"]), "s", sprintf("%.2fx", r(v["archtar.seconds"], f10)), "")
	row("  .tar.gz archive throughput", sprintf("%.1f", r(v["archsize.tgz_bytes"] / 1e6, v["archtgz.seconds"])), "MB/s", "", "")
	row("  .tar.gz unchanged, again", sprintf("%.3f", v["rearchtgz.seconds"]), "s", "", "")
	row("  peak RSS (unpacked / .tar.gz)", sprintf("%d/%d", v["index10k.maxrss_kb"], v["archtgz.maxrss_kb"]), "KiB", "", "")
	j("archive_tgz_seconds", v["archtgz.seconds"]); j("archive_tar_seconds", v["archtar.seconds"]); j("archive_tgz_again_seconds", v["rearchtgz.seconds"]); j("archive_tgz_bytes", v["archsize.tgz_bytes"]); j("archive_tgz_maxrss_kb", v["archtgz.maxrss_kb"])
	row("indexer peak RSS (10k / all runs)", sprintf("%d/%d", v["index10k.maxrss_kb"], v["index.maxrss_kb"]), "KiB", sprintf("%.2fx", r(v["index.maxrss_kb"], v["index10k.maxrss_kb"])), "<= 2x")
	row("  of which heap (RssAnon, sampled)", sprintf("%d/%d", v["index10k.anon_kb"], v["index.anon_kb"]), "KiB", sprintf("%.2fx", r(v["index.anon_kb"], v["index10k.anon_kb"])), "")
	row("store size (lineage / SQLite)", sprintf("%.1f/%.1f", v["size.lmdb_bytes"] / 1e6, v["size.sqlite_bytes"] / 1e6), "MB", sprintf("%.2fx", r(v["size.lmdb_bytes"], v["size.sqlite_bytes"])), "<= 1x")
	j("runs", runs); j("wandb_runs", v["machine.wandb_runs"]); j("cpu", "\"" cpu "\""); j("cores", v["machine.cores"]); j("date", "\"" date "\"")
	j("runlog_records", rec); j("runlog_bytes", v["parse.bytes"]); j("parse_seconds", prs); j("index_seconds", idx)
	j("reindex_seconds", v["reindex.seconds"]); j("index10k_seconds", v["index10k.seconds"]); j("reindex10k_seconds", v["reindex10k.seconds"]); j("sqlite_load_seconds", sql)
	j("index_vs_parse", r(prs, idx)); j("index_vs_sqlite_load", r(sql, idx))
	j("wandb_bytes", v["crc.bytes"]); j("crc_seconds", v["crc.seconds"]); j("wandb_index_seconds", v["wandbindex.seconds"]); j("wandb_read_seconds", v["wandbread.seconds"])
	j("wandb_index_vs_crc", r(v["crc.seconds"], v["wandbindex.seconds"]))
	j("cold_point_lineage_median_us", a); j("cold_point_sqlite_median_us", b); j("cold_down_lineage_median_us", c); j("cold_down_sqlite_median_us", d); j("cold_bare_lmdb_median_us", e)
	j("peak_rss_10k_kb", v["index10k.maxrss_kb"]); j("peak_rss_kb", v["index.maxrss_kb"])
	j("peak_anon_10k_kb", v["index10k.anon_kb"]); j("peak_anon_kb", v["index.anon_kb"])
	j("store_bytes", v["size.lmdb_bytes"]); j("sqlite_bytes", v["size.sqlite_bytes"]); j("same_answers", "\"" v["check.same_answers"] "\"")
	print "{" json "\n}" > "bench/results.json"
}' "$RAW"
