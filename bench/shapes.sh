#!/bin/sh
# make bench, second half: issue 10's targets for each archive shape, all
# measured in this one run against SQLite and the floors, one table per
# shape (bench/shapes-report.sh), raw figures in bench/work/shapes.txt.
#
# Shapes (BENCH_SHAPES, default "classic per-run"):
#   classic  lineage-gen's default: 100 runs per runlog file, four
#            collections per family of 50 runs
#   per-run  one runlog file per run, as W&B writes one log per run, and
#            a model collection per training run (model-<run id>), so
#            tens of thousands of collections at 100,000 runs
# Each shape also gets a .wandb archive (W&B's layout: a folder per run)
# with BENCH_HISTORY_BYTES of history per run.
#
# BENCH_RUNS (default 100000): the archive size; linearity is measured
# against an archive of BENCH_RUNS/10, the indexer's peak heap against
# BENCH_RUNS/100 (the issue's 1,000,000 against 10,000) and
# BENCH_RUNS/10. BENCH_WANDB_RUNS (default
# BENCH_RUNS, at most 100000): the .wandb archive's runs.
set -eu
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-100000}
SMALL=$(( RUNS / 10 ))
[ "$SMALL" -ge 1 ] || SMALL=1
TINY=$(( RUNS / 100 ))
[ "$TINY" -ge 1 ] || TINY=1
WRUNS=${BENCH_WANDB_RUNS:-$(( RUNS < 100000 ? RUNS : 100000 ))}
HISTORY=${BENCH_HISTORY_BYTES:-4000}
STARTS=${BENCH_STARTS:-1000}
HUBS=10
COLD=${BENCH_COLD_SPAWNS:-10}
BENCH=./lineage-bench
DYN=build/bench/lineage-index-dyn
HEAP=$(pwd)/lineage-heap.so
ROOT=bench/work/shapes
RAW=${BENCH_SHAPES_RAW:-bench/work/shapes.txt}
# SQLite's walk down from START (an SQL literal): its nodes in table r
hub_walk() {
	echo "WITH RECURSIVE r(n) AS (SELECT $1 UNION SELECT g.dst FROM g JOIN r ON g.src = r.n)"
}
# the same from each hub ("{}": lineage-bench spawn puts the hub there)
HUB_SQL="$(hub_walk "'{}'") SELECT n FROM r"

mkdir -p "$ROOT"
: > "$RAW"
say() { printf 'bench: %s\n' "$*" >&2; }
# record SHAPE SECTION: "SHAPE.SECTION key value" lines from "k v k v"
record() {
	awk -v s="$1.$2" '{ for (i = 1; i < NF; i += 2) print s, $i, $(i+1) }' \
		>> "$RAW"
}
# read every file once, so that the first index does not wait on disk
warm() { tar -cf - "$1" 2>/dev/null | cat > /dev/null; }
mb() { du -sb "$1" | cut -f1; }

# heap SHAPE SECTION STORE DIR: the indexer's peak heap, counted by
# lineage-heap.so in the dynamically linked indexer (a run of its own)
heap() {
	rm -f "$ROOT/heap.out"
	LINEAGE_HEAP_OUT=$(pwd)/$ROOT/heap.out LD_PRELOAD=$HEAP \
		$DYN -q --store "$3" "$4"
	record "$1" "$2" < "$ROOT/heap.out"
}

# first_index SHAPE SECTION STORE DIR ROUNDS: index DIR into a new STORE
# ROUNDS times and record the round of median time. The 10x smaller
# archive, indexed once right after the large one, took 45% longer than
# alone (1,000,000 runs per-run: 9.29 s against 6.3-6.7 s), which
# flattered the linearity figure. Each round starts after a sync, so
# that no writeback of earlier steps falls into its time. Neither
# removed the slowdown (rounds of 7.9-10.0 s): docs/BENCHMARKS.md reads
# linearity from runs of the two archives alone, alternating.
first_index() {
	: > "$ROOT/rounds"
	i=0
	while [ "$i" -lt "$5" ]; do
		rm -f "$3" "$3-lock"
		sync
		$BENCH rss ./lineage-index -q --store "$3" "$4" \
			>> "$ROOT/rounds"
		i=$(( i + 1 ))
	done
	sort -n -k2 "$ROOT/rounds" | sed -n "$(( ($5 + 1) / 2 ))p" \
		| record "$1" "$2"
}

bench_shape() {
	shape=$1
	shift
	W=$ROOT/$shape
	rm -rf "$W"
	mkdir -p "$W"
	say "$shape: generating $RUNS, $SMALL runs (runlog), $WRUNS (.wandb)"
	./lineage-gen synth --runs "$RUNS" --gzip-every 2 --seed 11 "$@" \
		--edges "$W/truth.csv" "$W/runlog" >/dev/null
	./lineage-gen synth --runs "$SMALL" --gzip-every 2 --seed 11 "$@" \
		"$W/small" >/dev/null
	./lineage-gen synth --runs "$TINY" --gzip-every 2 --seed 11 "$@" \
		"$W/tiny" >/dev/null
	./lineage-gen synth --runs "$WRUNS" --format wandb --seed 11 "$@" \
		--history-bytes "$HISTORY" "$W/wandb" >/dev/null
	echo "files $(find "$W/runlog" -type f | wc -l) bytes $(mb "$W/runlog") wandb_files $(find "$W/wandb" -type f | wc -l)" \
		| record "$shape" archive

	say "$shape: first index ($RUNS runs, then $SMALL three times)"
	warm "$W/runlog"
	first_index "$shape" index "$W/s.lmdb" "$W/runlog" 1
	warm "$W/small"
	first_index "$shape" index_small "$W/small.lmdb" "$W/small" 3
	./lineage-query --store "$W/s.lmdb" stats | awk '$1 ~ /^(runs|collections|versions|logged|used)$/ { print $1, $2 }' \
		| tr '\n' ' ' | record "$shape" counts

	say "$shape: indexer heap (counted malloc, separate runs)"
	heap "$shape" heap_small "$W/heap-small.lmdb" "$W/small"
	heap "$shape" heap "$W/heap.lmdb" "$W/runlog"
	heap "$shape" heap_tiny "$W/heap-tiny.lmdb" "$W/tiny"
	rm -f "$W/heap-small.lmdb" "$W/heap.lmdb" "$W/heap-tiny.lmdb"

	say "$shape: SQLite load from the edges CSV"
	sh bench/sqlite-load.sh "$W/truth.csv" "$W"
	warm "$W/g.csv"
	$BENCH rss sqlite3 "$W/s.sqlite" ".read $W/load.sql" \
		| record "$shape" sqliteload
	echo "lmdb_bytes $(stat -c %s "$W/s.lmdb") sqlite_bytes $(stat -c %s "$W/s.sqlite")" \
		| record "$shape" size
	# the copy for shipping: LMDB's compacting copy (--compact-to)
	./lineage-index -q --store "$W/s.lmdb" --compact-to "$W/copy.lmdb" \
		2>/dev/null
	echo "bytes $(stat -c %s "$W/copy.lmdb")" | record "$shape" compact
	rm -f "$W/copy.lmdb"

	say "$shape: in-process point and k-hop queries ($STARTS starts)"
	$BENCH starts "$W/truth.csv" "$STARTS" 42 > "$W/starts.txt"
	$BENCH lineage "$W/s.lmdb" "$W/starts.txt" > "$W/q_lin.txt"
	$BENCH sqlite "$W/s.sqlite" "$W/starts.txt" > "$W/q_sql.txt"
	awk '{ print $1, "median_us", $3, "answers", $9 }' "$W/q_lin.txt" |
		while read -r q rest; do
			echo "$rest" | record "$shape" "lin_$q"; done
	awk '{ print $1, "median_us", $3, "answers", $9 }' "$W/q_sql.txt" |
		while read -r q rest; do
			echo "$rest" | record "$shape" "sql_$q"; done

	say "$shape: hub walks (the $HUBS most-used versions)"
	$BENCH hubs "$W/truth.csv" "$HUBS" > "$W/hubs-uses.txt"
	cut -d' ' -f1 "$W/hubs-uses.txt" > "$W/hubs.txt"
	$BENCH lineage "$W/s.lmdb" "$W/hubs.txt" | grep '^down_all ' \
		> "$W/h_lin.txt"
	$BENCH sqlite "$W/s.sqlite" "$W/hubs.txt" | grep '^down_all ' \
		> "$W/h_sql.txt"
	awk '{ print "median_us", $3, "answers", $9 }' "$W/h_lin.txt" \
		| record "$shape" hub_lin
	awk '{ print "median_us", $3, "answers", $9 }' "$W/h_sql.txt" \
		| record "$shape" hub_sql
	awk '{ print "uses_min", $2 }' "$W/hubs-uses.txt" | tail -1 \
		| record "$shape" hubs
	awk 'NR == 1 { print "uses_max", $2 }' "$W/hubs-uses.txt" \
		| record "$shape" hubs
	$BENCH spawn-cold "$HUBS" "$W/hubs.txt" ./lineage-query \
		--store "$W/s.lmdb" impact '{}' | cut -d' ' -f2- \
		| record "$shape" cold_impact
	$BENCH spawn-cold "$HUBS" "$W/hubs.txt" sqlite3 -readonly \
		"$W/s.sqlite" "$HUB_SQL" \
		| cut -d' ' -f2- | record "$shape" cold_sql
	# the walk with its read-ahead helpers (off by default since
	# schema 5): what they would gain or cost
	LINEAGE_PREFETCH=auto $BENCH spawn-cold "$HUBS" "$W/hubs.txt" \
		./lineage-query --store "$W/s.lmdb" impact '{}' \
		| cut -d' ' -f2- | record "$shape" cold_pf
	# the same processes with the page cache warm (store and binaries
	# cached): start-up and page faults, no disk reads. The cold rounds
	# left only the last hub's pages cached: one unmeasured round first.
	$BENCH spawn "$HUBS" "$W/hubs.txt" ./lineage-query \
		--store "$W/s.lmdb" impact '{}' >/dev/null
	$BENCH spawn "$HUBS" "$W/hubs.txt" sqlite3 -readonly \
		"$W/s.sqlite" "$HUB_SQL" \
		>/dev/null
	$BENCH spawn "$HUBS" "$W/hubs.txt" ./lineage-query \
		--store "$W/s.lmdb" impact '{}' | cut -d' ' -f2- \
		| record "$shape" warm_impact
	$BENCH spawn "$HUBS" "$W/hubs.txt" sqlite3 -readonly \
		"$W/s.sqlite" "$HUB_SQL" \
		| cut -d' ' -f2- | record "$shape" warm_sql
	# the answers agree: impact rows (root excluded) and SQL's nodes
	while read -r h; do
		a=$(./lineage-query --store "$W/s.lmdb" impact "$h" | wc -l)
		b=$(sqlite3 -readonly "$W/s.sqlite" "$(hub_walk "'$h'") SELECT count(*) - 1 FROM r")
		echo "$a $b"
	done < "$W/hubs.txt" | awk '{ lo = (NR == 1 || $1 < lo) ? $1 : lo;
		hi = $1 > hi ? $1 : hi; if ($1 != $2) bad = 1 }
		END { print "nodes_min", lo, "nodes_max", hi, "same",
		      bad ? "no" : "yes" }' | record "$shape" hubs

	say "$shape: cold stats"
	$BENCH spawn-cold "$COLD" "$W/hubs.txt" ./lineage-query \
		--store "$W/s.lmdb" stats | cut -d' ' -f2- \
		| record "$shape" cold_stats
	$BENCH spawn "$COLD" "$W/hubs.txt" ./lineage-query \
		--store "$W/s.lmdb" stats | cut -d' ' -f2- \
		| record "$shape" warm_stats
	# the floor: a bare C program that opens the store and reads one
	# key, cold the same way (process start and the first page faults)
	$BENCH spawn-cold "$COLD" "$W/hubs.txt" ./lineage-bare "$W/s.lmdb" \
		| cut -d' ' -f2- | record "$shape" cold_bare

	say "$shape: .wandb crc floor and indexing"
	$BENCH crc "$W/wandb" >/dev/null
	$BENCH crc "$W/wandb" | record "$shape" crc
	$BENCH rss ./lineage-index -q --store "$W/w.lmdb" "$W/wandb" \
		| record "$shape" wandbindex
	echo "runs $RUNS small_runs $SMALL tiny_runs $TINY wandb_runs $WRUNS history $HISTORY" \
		| record "$shape" params
	# the archives and stores of a shape are large: keep the figures
	# (BENCH_KEEP=1 keeps them, to profile)
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W/runlog" "$W/small" "$W/tiny" "$W/wandb" "$W"/*.lmdb "$W"/*.lmdb-lock \
		"$W/s.sqlite" "$W/g.csv" "$W/truth.csv"
}

[ -x "$DYN" ] && [ -f "$HEAP" ] && [ -x ./lineage-bare ] || {
	echo "bench/shapes.sh: build $DYN, lineage-heap.so and lineage-bare first (make bench)" >&2
	exit 64
}
for shape in ${BENCH_SHAPES:-classic per-run}; do
	t0=$(date +%s)
	case $shape in
	classic) bench_shape classic ;;
	per-run) bench_shape per-run --shape per-run,run-models ;;
	*) echo "bench/shapes.sh: unknown shape '$shape'" >&2; exit 64 ;;
	esac
	echo "seconds $(( $(date +%s) - t0 ))" | record "$shape" bench
done
echo "cores $(nproc) mem_kb $(awk '/MemTotal/ {print $2}' /proc/meminfo)" \
	| record all machine
sh bench/shapes-report.sh "$RAW" \
	"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
