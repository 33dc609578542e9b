# The summary table of tests/bench/run.sh: medians of the runs in
# results.txt (lines of key=value), one row per figure, one column per
# target (stanzaguard-2w: workers = 2, its CPU not measured), and the
# ratios stanzaguard/HAProxy (1 thread), stanzaguard/direct and
# workers = 2 over one process.  Then the limit of issue 14 at 64 and
# 1000 sessions: HAProxy's CPU per stanza plus expat's floor (bench_tracker
# --floor, test=floor), and stanzaguard's CPU over it; under it, the same
# with the floor's parser as many times as the sessions have streams, in
# turn (floor2_128_..., floor2_2000_...).  Variables:
# idle_sizes, hold_n, storm_n, prosody_n, prosody_rate.

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

# The bucket values of test and kind in the pool, in ascending order, as
# sorted[test, kind, 1..nsorted[test, kind]]: sorted once, asked for by
# every quantile row.
function sort_pool(test, kind,    k, parts, vals, n, i, j, t) {
	if ((test, kind) in nsorted)
		return
	n = 0
	for (k in pool) {
		split(k, parts, SUBSEP)
		if (parts[1] == test && parts[2] == kind)
			vals[++n] = parts[3] + 0
	}
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && vals[j - 1] > vals[j]; j--) {
			t = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = t
		}
	for (i = 1; i <= n; i++)
		sorted[test, kind, i] = vals[i]
	nsorted[test, kind] = n
}

# The q-quantile (0..1, in us) of all the round trips of a kind in every
# repetition of test, from loadgen's histograms (--hist): prosody_rate,
# whose kinds run at the same time, so that each repetition's slow moments
# (Prosody's) weigh on every kind alike.  As loadgen's hist_quantile_us.
function pooled(test, kind, q,    n, i, v, want, seen) {
	sort_pool(test, kind)
	if ((n = nsorted[test, kind]) == 0)
		return ""
	want = int(q * pooln[test, kind])
	if (want >= pooln[test, kind])
		want = pooln[test, kind] - 1
	seen = 0
	for (i = 1; i <= n; i++) {
		v = sorted[test, kind, i]
		seen += pool[test, kind, v]
		if (seen > want)
			return v / 1000
	}
	return v / 1000
}

function fmt(x, f) {
	if (x == "")
		return "-"
	return sprintf(f, x)
}

function ratio(a, b) {
	if (a == "" || b == "" || b + 0 == 0)
		return "-"
	return sprintf("%.2f", a / b)
}

# loadgen's "V:N,V:N..." (bucket middle in ns: round trips) into the pool.
function pool_add(test, kind, h,    b, vn, n, i) {
	n = split(h, b, ",")
	for (i = 1; i <= n; i++) {
		if (split(b[i], vn, ":") != 2)
			continue
		pool[test, kind, vn[1] + 0] += vn[2]
		pooln[test, kind] += vn[2]
	}
}

# One row: the key of each target, "added" subtracts direct's value;
# "upstream": the upstream's CPU, cpu1 without a proxy and cpu2 with one.
function row(label, test, key, f, how,    d, h1, h2, s, s2, pk, nosm, hsm) {
	pk = key
	# "nosm": stanzaguard's column is kind stanzaguard-nosm (sm-handback =
	# no), next to the others for the ratios.  "hsm": HAProxy's (1 thread)
	# is kind haproxy-1t-sm, clients that enable stream management
	# themselves: the server's work that hand-back asks of it.
	nosm = sub(/ ?nosm$/, "", how) ? "-nosm" : ""
	hsm = sub(/ ?hsm$/, "", how) ? "-sm" : ""
	if (how == "upstream") {
		d = val(test, "direct", "cpu1_" key)
		pk = "cpu2_" key
	} else
		d = val(test, "direct", key)
	h1 = val(test, "haproxy-1t" hsm, pk)
	h2 = val(test, "haproxy-2t", pk)
	s = val(test, "stanzaguard" nosm, pk)
	s2 = val(test, "stanzaguard-2w", pk)
	if (how ~ /^pooled/) {		# key: the quantile
		d = pooled(test, "direct", key)
		h1 = pooled(test, "haproxy-1t" hsm, key)
		h2 = pooled(test, "haproxy-2t", key)
		s = pooled(test, "stanzaguard" nosm, key)
		s2 = pooled(test, "stanzaguard-2w", key)
		if (how == "pooled added")
			how = "added"
	}
	if (how == "added") {
		if (d == "")
			h1 = h2 = s = s2 = ""
		else {
			if (h1 != "") h1 -= d
			if (h2 != "") h2 -= d
			if (s != "") s -= d
			if (s2 != "") s2 -= d
		}
		d = ""
	}
	if (how == "proxy")		# cpu1 is the proxy; direct has none
		d = ""
	printf "%-44s %11s %11s %11s %11s %11s %9s %9s %9s\n", label,
	    fmt(d, f), fmt(h1, f), fmt(h2, f), fmt(s, f), fmt(s2, f),
	    ratio(s, h1), ratio(s, d), ratio(s2, s)
}

# A row of the limit section: one value at 64 and one at 1000 sessions.
function lrow(label, a, b, f) {
	printf "%-44s %11s %11s\n", label, fmt(a, f), fmt(b, f)
}

function sum(a, b) {
	return (a == "" || b == "") ? "" : a + b
}

function quot(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "" : a / b
}

# The limit per echoed stanza: relaying it as HAProxy does, plus parsing it
# once each way with the least expat can do.
function limits(    fl, fs, t, h, s, l, i, tests) {
	fl = val("floor", "expat", "floor2_us_per_stanza")
	split("tp200_64 tp200_1000", tests, " ")
	for (i = 1; i <= 2; i++) {
		t = tests[i]
		h[i] = val(t, "haproxy-1t", "cpu1_us_per_stanza")
		s[i] = val(t, "stanzaguard", "cpu1_us_per_stanza")
		l[i] = sum(h[i], fl)
	}
	if (fl == "" && h[1] == "" && h[2] == "")
		return
	printf "\n%-44s %11s %11s\n", "limit per echoed stanza, 200 B",
	    "64 sess", "1000 sess"
	lrow("expat floor, 2 parses/stanza (us)", fl, fl, "%.2f")
	lrow("haproxy-1t CPU us/stanza", h[1], h[2], "%.2f")
	lrow("limit = haproxy-1t CPU + floor (us)", l[1], l[2], "%.2f")
	lrow("stanzaguard CPU us/stanza", s[1], s[2], "%.2f")
	lrow("stanzaguard CPU / limit", quot(s[1], l[1]), quot(s[2], l[2]),
	    "%.2f")
	# Not the issue's limit: what the floor's parser costs when it is as
	# many parsers as the sessions have streams, taken in turn.
	fs[1] = val("floor", "expat", "floor2_128_us_per_stanza")
	fs[2] = val("floor", "expat", "floor2_2000_us_per_stanza")
	lrow("  expat floor, 2 parsers per session (us)", fs[1], fs[2],
	    "%.2f")
	lrow("  limit with that floor (us)", sum(h[1], fs[1]),
	    sum(h[2], fs[2]), "%.2f")
	lrow("  stanzaguard CPU / that limit", quot(s[1], sum(h[1], fs[1])),
	    quot(s[2], sum(h[2], fs[2])), "%.2f")
	lrow("stanzas/s, stanzaguard / haproxy-1t",
	    quot(val("tp200_64", "stanzaguard", "stanzas_s"),
	    val("tp200_64", "haproxy-1t", "stanzas_s")),
	    quot(val("tp200_1000", "stanzaguard", "stanzas_s"),
	    val("tp200_1000", "haproxy-1t", "stanzas_s")), "%.2f")
}

{
	test = kind = ""
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "test") test = kv[2]
		else if (kv[1] == "kind") kind = kv[2]
	}
	if ($0 ~ / status=fail/) {
		fails[test SUBSEP kind]++
		nfail++
		next
	}
	for (i = 1; i <= NF; i++) {
		eq = index($i, "=")
		if (substr($i, 1, eq - 1) == "hist") {
			pool_add(test, kind, substr($i, eq + 1))
			continue
		}
		k = test SUBSEP kind SUBSEP substr($i, 1, eq - 1)
		v[k] = v[k] " " substr($i, eq + 1)
	}
}

END {
	printf "%-44s %11s %11s %11s %11s %11s %9s %9s %9s\n", "figure",
	    "direct", "haproxy-1t", "haproxy-2t", "stanzaguard", "sg-2w",
	    "sg/hap1t", "sg/direct", "2w/sg"
	row("stanzas/s, 1 session, 200 B", "tp200_1", "stanzas_s", "%.0f")
	row("MB/s, 1 session, 200 B", "tp200_1", "mbytes_s", "%.1f")
	row("stanzas/s, 64 sessions, 200 B", "tp200_64", "stanzas_s", "%.0f")
	row("MB/s, 64 sessions, 200 B", "tp200_64", "mbytes_s", "%.1f")
	row("stanzas/s, 1000 sessions, 200 B", "tp200_1000", "stanzas_s",
	    "%.0f")
	row("MB/s, 1000 sessions, 200 B", "tp200_1000", "mbytes_s", "%.1f")
	row("stanzas/s, 64 sessions, 16 KiB", "tp16k_64", "stanzas_s", "%.0f")
	row("MB/s, 64 sessions, 16 KiB", "tp16k_64", "mbytes_s", "%.1f")
	row("p50 round trip at 10k/s, 64 sess (us)", "rate10k_64", "p50_us",
	    "%.1f")
	row("p99 round trip at 10k/s, 64 sess (us)", "rate10k_64", "p99_us",
	    "%.1f")
	row("added p50 at 10k/s (us)", "rate10k_64", "p50_us", "%.1f",
	    "added")
	row("added p99 at 10k/s (us)", "rate10k_64", "p99_us", "%.1f",
	    "added")
	row("proxy CPU us/stanza, 1 session, 200 B", "tp200_1",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("proxy CPU us/stanza, 64 sessions, 200 B", "tp200_64",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("proxy CPU us/stanza, 1000 sess, 200 B", "tp200_1000",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("proxy CPU us/stanza, 64 sessions, 16 KiB", "tp16k_64",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("proxy CPU us/stanza at 10k/s, 64 sess", "rate10k_64",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("  user space only, 64 sessions, 200 B", "tp200_64",
	    "cpu1_user_us_per_stanza", "%.2f", "proxy")
	row("  user space only, 64 sessions, 16 KiB", "tp16k_64",
	    "cpu1_user_us_per_stanza", "%.2f", "proxy")
	row("  user space only, at 10k/s", "rate10k_64",
	    "cpu1_user_us_per_stanza", "%.2f", "proxy")
	# Each wake-up of a peer sleeping in epoll_wait costs its writer.
	row("upstream wake-ups/stanza, 64 sessions", "tp200_64",
	    "cs_per_stanza", "%.4f", "upstream")
	row("upstream wake-ups/stanza, 1000 sessions", "tp200_1000",
	    "cs_per_stanza", "%.4f", "upstream")
	row("proxy context switches/stanza, 64 sess", "tp200_64",
	    "cpu1_cs_per_stanza", "%.4f", "proxy")
	# Behind Prosody: its figures are Prosody's as much as the proxy's.
	# Its mod_smacks is loaded.  stanzaguard enables it (hand-back) for
	# clients that do not; the "hsm" rows give HAProxy with clients that
	# enable it themselves, which costs Prosody the same work.
	row(sprintf("stanzas/s behind Prosody, %d clients", prosody_n),
	    "prosody_tp", "stanzas_s", "%.0f")
	row("  stanzaguard with sm-handback = no", "prosody_tp",
	    "stanzas_s", "%.0f", "nosm")
	row("  HAProxy: clients that do XEP-0198", "prosody_tp",
	    "stanzas_s", "%.0f", "hsm")
	# The five at once, a fifth of the rate each (run.sh, side_by_side),
	# all their repetitions pooled.
	row(sprintf("p50 round trip via Prosody, %d/s (us)", prosody_rate),
	    "prosody_rate", 0.50, "%.1f", "pooled")
	row(sprintf("p99 round trip via Prosody, %d/s (us)", prosody_rate),
	    "prosody_rate", 0.99, "%.1f", "pooled")
	row("added p50 behind Prosody (us)", "prosody_rate", 0.50, "%.1f",
	    "pooled added")
	row("added p99 behind Prosody (us)", "prosody_rate", 0.99, "%.1f",
	    "pooled added")
	row("  stanzaguard with sm-handback = no, p50", "prosody_rate", 0.50,
	    "%.1f", "pooled added nosm")
	row("  stanzaguard with sm-handback = no, p99", "prosody_rate", 0.99,
	    "%.1f", "pooled added nosm")
	row("  HAProxy: clients that do XEP-0198, p50", "prosody_rate", 0.50,
	    "%.1f", "pooled added hsm")
	row("  HAProxy: clients that do XEP-0198, p99", "prosody_rate", 0.99,
	    "%.1f", "pooled added hsm")
	row("proxy CPU us/stanza behind Prosody", "prosody_tp",
	    "cpu1_us_per_stanza", "%.2f", "proxy")
	row("  stanzaguard with sm-handback = no", "prosody_tp",
	    "cpu1_us_per_stanza", "%.2f", "proxy nosm")
	row("Prosody's CPU us/stanza (throughput)", "prosody_tp",
	    "us_per_stanza", "%.2f", "upstream")
	row("  stanzaguard with sm-handback = no", "prosody_tp",
	    "us_per_stanza", "%.2f", "upstream nosm")
	row("  HAProxy: clients that do XEP-0198", "prosody_tp",
	    "us_per_stanza", "%.2f", "upstream hsm")
	n = split(idle_sizes, sz, " ")
	for (i = 1; i <= n; i++) {
		row(sprintf("RSS bytes/idle session, %d sessions", sz[i]),
		    "idle_" sz[i], "per_session_b", "%.0f", "proxy")
		row(sprintf("  same, after 10.5 s quiet (sweep)"),
		    "idle_" sz[i], "per_session_quiet_b", "%.0f", "proxy")
		row(sprintf("  proxy processes (workers, instances)"),
		    "idle_" sz[i], "processes", "%.0f", "proxy")
	}
	if (hold_n > 0) {
		row(sprintf("hold %d idle sessions: all held", hold_n),
		    "hold", "held", "%.0f", "proxy")
		row(sprintf("  RSS bytes/session, after the sweep"),
		    "hold", "per_session_quiet_b", "%.0f", "proxy")
		row(sprintf("  RSS MiB of all the workers, swept"),
		    "hold", "rss2_mib", "%.0f", "proxy")
	}
	row(sprintf("close storm %d: first close tag (ms)", storm_n),
	    "storm", "first_tag_ms", "%.1f", "proxy")
	row(sprintf("close storm %d: p50 session EOF (ms)", storm_n),
	    "storm", "p50_eof_ms", "%.1f", "proxy")
	row(sprintf("close storm %d: p99 session EOF (ms)", storm_n),
	    "storm", "p99_eof_ms", "%.1f", "proxy")
	row(sprintf("close storm %d: all sessions EOF (ms)", storm_n),
	    "storm", "all_eof_ms", "%.1f", "proxy")
	row(sprintf("close storm %d: process exit (ms)", storm_n),
	    "storm", "exit_ms", "%.1f", "proxy")
	limits()
	if (nfail > 0) {
		printf "\nFAILED runs (left out of the medians):"
		for (k in fails) {
			split(k, tk, SUBSEP)
			printf " %s/%s x%d", tk[1], tk[2], fails[k]
		}
		printf "\n"
	}
}
