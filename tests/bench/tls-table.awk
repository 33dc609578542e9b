# The summary table of tests/bench/tls.sh: medians of the runs in
# tls-results.txt (lines of key=value), one row per figure, columns
# HAProxy, stanzaguard and the ratio stanzaguard/HAProxy.  A failed run
# counts nowhere; the last column says how many runs of each kind failed.

function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	if (n == 0)
		return ""
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}

function val(test, kind, key,    k) {
	k = test SUBSEP kind SUBSEP key
	return (k in v) ? median(v[k]) : ""
}

function fmt(x, f) {
	return x == "" ? "-" : sprintf(f, x)
}

function row(label, test, key, f,    h, s, r, nf) {
	h = val(test, "haproxy", key)
	s = val(test, "stanzaguard", key)
	r = (h == "" || s == "" || h + 0 == 0) ? "-" : sprintf("%.2f", s / h)
	nf = (fails[test, "haproxy"] + 0) "/" (fails[test, "stanzaguard"] + 0)
	printf "%-40s %11s %11s %8s %7s\n", label, fmt(h, f), fmt(s, f), r,
	    nf == "0/0" ? "" : nf
}

{
	split("", kv_of)
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		kv_of[substr($i, 1, eq - 1)] = substr($i, eq + 1)
	}
	test = kv_of["test"]
	kind = kv_of["kind"]
	if (kv_of["status"] == "fail") {
		fails[test, kind]++
		next
	}
	if ("p99_us" in kv_of)
		kv_of["p99_ms"] = kv_of["p99_us"] / 1000
	for (k in kv_of)
		v[test, kind, k] = v[test, kind, k] " " kv_of[k]
}

END {
	printf "%-40s %11s %11s %8s %7s\n", "", "haproxy", "stanzaguard",
	    "sg/hap", "failed"
	row("full handshakes/s", "hs_full", "handshakes_s", "%.0f")
	row("  proxy CPU us per handshake", "hs_full",
	    "cpu1_us_per_handshake", "%.0f")
	row("  p99 connection time ms", "hs_full", "p99_ms", "%.1f")
	row("resumed handshakes/s", "hs_resume", "handshakes_s", "%.0f")
	row("  proxy CPU us per handshake", "hs_resume",
	    "cpu1_us_per_handshake", "%.0f")
	row("  p99 connection time ms", "hs_resume", "p99_ms", "%.1f")
	row("64 x 200 B: stanzas/s", "tp200_64", "stanzas_s", "%.0f")
	row("  MB/s", "tp200_64", "mbytes_s", "%.1f")
	row("  proxy CPU us per stanza", "tp200_64", "cpu1_us_per_stanza",
	    "%.2f")
	row("  p99 latency ms", "tp200_64", "p99_ms", "%.1f")
	row("64 x 16 KiB: stanzas/s", "tp16k_64", "stanzas_s", "%.0f")
	row("  MB/s", "tp16k_64", "mbytes_s", "%.1f")
	row("  proxy CPU us per stanza", "tp16k_64", "cpu1_us_per_stanza",
	    "%.2f")
	row("  p99 latency ms", "tp16k_64", "p99_ms", "%.1f")
}
