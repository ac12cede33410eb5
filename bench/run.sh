#!/bin/sh
# make bench: generate archives, index them, and measure lineage against
# its floors (parse, crc32, a bare LMDB read) and against SQLite, all in
# this one run. Prints a table and writes bench/results.json.
# BENCH_RUNS (default 100000) sets the archive size.
set -eu
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-100000}
WANDB_RUNS=${BENCH_WANDB_RUNS:-$(( RUNS < 5000 ? RUNS : 5000 ))}
HISTORY=${BENCH_HISTORY_BYTES:-40000}
SPAWNS=${BENCH_SPAWNS:-200}
STARTS=${BENCH_STARTS:-1000}
W=bench/work
RAW=$W/raw.txt
BENCH=./lineage-bench

rm -rf "$W"
mkdir -p "$W"
: > "$RAW"
say() { printf '%s\n' "$*" >&2; }
# record SECTION: append "SECTION key value" pairs from one "k v k v" line
record() {
	awk -v s="$1" '{ for (i = 1; i < NF; i += 2) print s, $i, $(i+1) }' \
		>> "$RAW"
}

say "bench: $RUNS runs (runlog), $WANDB_RUNS runs (.wandb)"
say "bench: generating archives"
./lineage-gen synth --runs "$RUNS" --gzip-every 2 --seed 11 \
	--edges "$W/truth.csv" "$W/runlog" >&2
./lineage-gen synth --runs 10000 --gzip-every 2 --seed 11 "$W/runlog10k" \
	>/dev/null
./lineage-gen synth --runs "$WANDB_RUNS" --format wandb --seed 11 \
	--history-bytes "$HISTORY" "$W/wandb" >/dev/null

say "bench: runlog parse floor and indexing"
$BENCH parse "$W/runlog" >/dev/null            # warm the page cache
$BENCH parse "$W/runlog" | record parse
$BENCH rss ./lineage-index -q --store "$W/s.lmdb" "$W/runlog" | record index
$BENCH rss ./lineage-index -q --store "$W/s.lmdb" "$W/runlog" | record reindex
$BENCH rss ./lineage-index -q --store "$W/s10k.lmdb" "$W/runlog10k" \
	| record index10k
$BENCH rss ./lineage-index -q --store "$W/s10k.lmdb" "$W/runlog10k" \
	| record reindex10k

say "bench: the 10,000-run archive as .tar.gz and .tar, read in place"
tar -C "$W" -czf "$W/runlog10k.tar.gz" runlog10k
tar -C "$W" -cf "$W/runlog10k.tar" runlog10k
$BENCH rss ./lineage-index -q --store "$W/a10k-tgz.lmdb" \
	"$W/runlog10k.tar.gz" | record archtgz
$BENCH rss ./lineage-index -q --store "$W/a10k-tgz.lmdb" \
	"$W/runlog10k.tar.gz" | record rearchtgz
$BENCH rss ./lineage-index -q --store "$W/a10k-tar.lmdb" \
	"$W/runlog10k.tar" | record archtar
echo "tgz_bytes $(stat -c %s "$W/runlog10k.tar.gz") tar_bytes $(stat -c %s "$W/runlog10k.tar") dir_bytes $(du -sb "$W/runlog10k" | cut -f1)" \
	| record archsize

say "bench: .wandb crc floor and indexing"
$BENCH crc "$W/wandb" >/dev/null
$BENCH crc "$W/wandb" | record crc
$BENCH wandb-read "$W/wandb" | record wandbread
$BENCH rss ./lineage-index -q --store "$W/w.lmdb" "$W/wandb" | record wandbindex

say "bench: SQLite load"
sh bench/sqlite-load.sh "$W/truth.csv" "$W"
$BENCH rss sqlite3 "$W/s.sqlite" ".read $W/load.sql" | record sqliteload

say "bench: queries from $STARTS start nodes"
$BENCH starts "$W/truth.csv" "$STARTS" 42 > "$W/starts.txt"
$BENCH lineage "$W/s.lmdb" "$W/starts.txt" > "$W/q_lineage.txt"
$BENCH sqlite "$W/s.sqlite" "$W/starts.txt" > "$W/q_sqlite.txt"
while read -r name k1 med k2 p99 k3 tot k4 ans; do
	printf 'qlin_%s median_us %s p99_us %s answers %s\n' \
		"$name" "$med" "$p99" "$ans"
done < "$W/q_lineage.txt" | while read -r s rest; do
	echo "$rest" | record "$s"; done
while read -r name k1 med k2 p99 k3 tot k4 ans; do
	printf 'qsql_%s median_us %s p99_us %s answers %s\n' \
		"$name" "$med" "$p99" "$ans"
done < "$W/q_sqlite.txt" | while read -r s rest; do
	echo "$rest" | record "$s"; done
same=yes
paste "$W/q_lineage.txt" "$W/q_sqlite.txt" | awk '$9 != $18 { bad = 1 }
	END { exit bad }' || same=no
echo "same_answers $same" | record check

say "bench: cold processes ($SPAWNS each)"
$BENCH spawn "$SPAWNS" "$W/starts.txt" ./lineage-query --store "$W/s.lmdb" \
	logged-by '{}' | cut -d' ' -f2- | record coldlin_point
$BENCH spawn "$SPAWNS" "$W/starts.txt" sqlite3 -readonly "$W/s.sqlite" \
	"SELECT DISTINCT src FROM g WHERE dst = '{}' AND kind = 'logged'" \
	| cut -d' ' -f2- | record coldsql_point
$BENCH spawn "$SPAWNS" "$W/starts.txt" ./lineage-query --store "$W/s.lmdb" \
	lineage '{}' --down --depth all | cut -d' ' -f2- | record coldlin_down
$BENCH spawn "$SPAWNS" "$W/starts.txt" sqlite3 -readonly "$W/s.sqlite" \
	"WITH RECURSIVE r(n) AS (SELECT '{}' UNION SELECT g.dst FROM g JOIN r ON g.src = r.n) SELECT n FROM r" \
	| cut -d' ' -f2- | record coldsql_down
$BENCH spawn "$SPAWNS" "$W/starts.txt" ./lineage-bare "$W/s.lmdb" \
	| cut -d' ' -f2- | record coldbare

echo "lmdb_bytes $(stat -c %s "$W/s.lmdb") sqlite_bytes $(stat -c %s "$W/s.sqlite")" | record size
echo "static $(ldd ./lineage-query >/dev/null 2>&1 && echo 0 || echo 1) runs $RUNS wandb_runs $WANDB_RUNS cores $(nproc) mem_kb $(awk '/MemTotal/ {print $2}' /proc/meminfo)" | record machine

sh bench/report.sh "$RAW" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
