#!/bin/sh
# calls.sh - the file call graph of the library, from its built objects:
# fails when two files call each other or files call each other round a
# longer circle.
#
#   sh tests/calls.sh [OBJECT|FOLDER]...
#
# Default: the objects of build/format, build/indexer and build/query.
# Object A uses object B when A leaves a symbol undefined that B defines
# (nm: functions and data alike). Every strongly connected component of
# that graph with more than one object is a circle: each one is listed
# (with, for a pair, the symbols each side takes from the other), and
# the exit status is 1. Otherwise one line: objects, uses, "no cycle".
# Why a circle matters: files that call each other can only be read,
# tested and replaced together, so they are one module in two files.

NM=${NM:-nm}
[ $# -gt 0 ] || set -- build/format build/indexer build/query

objs=""
for a in "$@"; do
	if [ -d "$a" ]; then
		for o in "$a"/*.o; do
			[ -f "$o" ] && objs="$objs $o"
		done
	elif [ -f "$a" ]; then
		objs="$objs $a"
	else
		echo "calls: no such object or folder: $a" >&2
		exit 2
	fi
done
if [ -z "$objs" ]; then
	echo "calls: no objects in $* (build them first: make all)" >&2
	exit 2
fi

# One line per symbol: "D object symbol" where the object defines it,
# "U object symbol" where it leaves it undefined.
syms=$(for o in $objs; do
	"$NM" "$o" >/dev/null || exit 2
	"$NM" -g --defined-only "$o" | awk -v o="$o" 'NF >= 3 {
		print "D", o, $3 }'
	"$NM" -u "$o" | awk -v o="$o" 'NF >= 2 { print "U", o, $2 }'
done) || { echo "calls: nm failed" >&2; exit 2; }

printf '%s\n' "$syms" | awk -v nobj="$(echo $objs | wc -w)" '
$1 == "D" { def[$3] = $2; next }
$1 == "U" { und[++nu] = $2 SUBSEP $3 }
END {
	# The edges A -> B, each with the symbols A takes from B.
	for (i = 1; i <= nu; i++) {
		split(und[i], p, SUBSEP)
		if (!(p[2] in def) || def[p[2]] == p[1])
			continue
		e = p[1] SUBSEP def[p[2]]
		if (!(e in why)) {
			why[e] = p[2]
			nedge++
			node[p[1]] = node[def[p[2]]] = 1
		} else {
			why[e] = why[e] " " p[2]
		}
	}
	n = 0
	for (v in node)
		name[++n] = v
	# In name order, so that a report reads the same every time.
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && name[j - 1] > name[j]; j--) {
			t = name[j]; name[j] = name[j - 1]; name[j - 1] = t
		}
	# Reachability by Warshall: the library has some sixty objects.
	for (e in why)
		reach[e] = 1
	for (k = 1; k <= n; k++)
		for (i = 1; i <= n; i++) {
			if (!((name[i] SUBSEP name[k]) in reach))
				continue
			for (j = 1; j <= n; j++)
				if ((name[k] SUBSEP name[j]) in reach)
					reach[name[i] SUBSEP name[j]] = 1
		}
	bad = 0
	for (i = 1; i <= n; i++) {
		if (name[i] in seen)
			continue
		comp = name[i]
		size = 1
		for (j = i + 1; j <= n; j++)
			if ((name[i] SUBSEP name[j]) in reach &&
			    (name[j] SUBSEP name[i]) in reach) {
				comp = comp " " name[j]
				seen[name[j]] = 1
				size++
			}
		if (size < 2)
			continue
		bad++
		print "calls: circle of " size " files: " comp
	}
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++) {
			ab = name[i] SUBSEP name[j]
			ba = name[j] SUBSEP name[i]
			if (!(ab in why) || !(ba in why))
				continue
			print "calls: " name[i] " <-> " name[j]
			print "  " name[i] " uses " why[ab]
			print "  " name[j] " uses " why[ba]
		}
	if (bad)
		exit 1
	printf "calls: %d objects, %d uses (file to file), no cycle\n",
		nobj, nedge
}'
