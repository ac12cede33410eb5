#!/bin/sh
# bench/sqlite-load.sh TRUTH DIR: write DIR/g.csv, the producer and use
# edges of a truth CSV as lineage walks them (re-logs are left out), and
# DIR/load.sql, which loads them into SQLite's table g(src, dst, kind)
# with an index on each end in one transaction: the baseline that
# bench/run.sh and bench/shapes.sh time with `sqlite3 DB ".read
# DIR/load.sql"`.
set -eu
awk -F, 'NR > 1 { if ($1 == "logged") print $2 "," $3 ",logged";
		  else if ($1 == "used") print $3 "," $2 ",used" }' \
	"$1" > "$2/g.csv"
cat > "$2/load.sql" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TABLE g(src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL);
.import --csv $2/g.csv g
CREATE INDEX g_src ON g(src);
CREATE INDEX g_dst ON g(dst);
COMMIT;
SQL
