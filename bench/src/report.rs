//! The markdown table (one row per figure, ours, upstream, the ratio and
//! the target) and the raw numbers as JSON.

use serde_json::{Value, json};

use crate::adapter::{self, Adapter};
use crate::workload::Workload;
use crate::{Figures, Plan};

/// What the size rows are checked against (scripts/bench.sh passes them).
pub struct Sizes {
    /// How "ours" was built, for the size row's label (may be empty).
    pub ours_build: String,
    /// Our stripped binary's budget, bytes.
    pub budget: u64,
    /// The stable `cargo build --release` binary, stripped, bytes.
    pub stable: Option<u64>,
    pub stable_budget: u64,
}

/// An issue 4 or issue 10 target for one row.
enum Target {
    /// ours / upstream at most this.
    Ratio(f64),
    /// ours at most this, in the row's unit.
    Max(f64),
    Both(f64, f64),
}

struct Row {
    label: String,
    ours: Option<f64>,
    upstream: Option<f64>,
    /// Digits after the point.
    digits: usize,
    target: Option<Target>,
}

impl Row {
    /// None when upstream's figure shows as zero at the row's precision.
    fn ratio(&self) -> Option<f64> {
        let shown_zero = |u: f64| u.abs() < 0.5 * 10f64.powi(-(self.digits as i32));
        match (self.ours, self.upstream) {
            (Some(o), Some(u)) if !shown_zero(u) => Some(o / u),
            _ => None,
        }
    }

    /// The target as text, and whether it holds (None: cannot tell).
    fn verdict(&self) -> (String, Option<bool>) {
        let ratio = self.ratio();
        let max_text = |m: f64| format!("≤ {}", num(m, self.digits));
        let max_ok = |m: f64| self.ours.map(|o| o <= m);
        let ratio_ok = |r: f64| ratio.map(|x| x <= r);
        match self.target {
            None => (String::new(), None),
            Some(Target::Ratio(r)) => (format!("≤ {r}×"), ratio_ok(r)),
            Some(Target::Max(m)) => (max_text(m), max_ok(m)),
            Some(Target::Both(r, m)) => {
                let ok = match (ratio_ok(r), max_ok(m)) {
                    (Some(a), Some(b)) => Some(a && b),
                    (None, Some(false)) => Some(false),
                    _ => None,
                };
                (format!("≤ {r}× and {}", max_text(m)), ok)
            }
        }
    }
}

fn num(x: f64, digits: usize) -> String {
    let s = format!("{x:.digits$}");
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |i| ("-", i));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Nearest-rank percentile, `p` in 0..=1.
pub fn pct(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

pub fn median_u64(v: &[u64]) -> Option<f64> {
    pct(&v.iter().map(|&x| x as f64).collect::<Vec<_>>(), 0.5)
}

fn rows(
    figs: &[Figures],
    direct: &[Vec<f64>],
    workloads: &[Workload],
    plan: &Plan,
    sizes: &Sizes,
) -> Vec<Row> {
    let get = |f: &dyn Fn(&Figures) -> Option<f64>| (f(&figs[0]), figs.get(1).and_then(f));
    let mut rows = Vec::new();
    let mut row = |label: String,
                   f: &dyn Fn(&Figures) -> Option<f64>,
                   digits: usize,
                   target: Option<Target>| {
        let (ours, upstream) = get(f);
        rows.push(Row {
            label,
            ours,
            upstream,
            digits,
            target,
        });
    };
    row(
        "binary as built (bytes)".into(),
        &|f| Some(f.size as f64),
        0,
        None,
    );
    let built = if sizes.ours_build.is_empty() {
        String::new()
    } else {
        format!(", ours: {}", sizes.ours_build)
    };
    row(
        format!("binary stripped (bytes{built})"),
        &|f| Some(f.stripped as f64),
        0,
        Some(Target::Both(0.25, sizes.budget as f64)),
    );

    let stats = [("min", 0.0), ("median", 0.5), ("p90", 0.9)];
    let n = plan.cold_runs;
    for (name, p) in stats {
        let target = (p == 0.5).then_some(Target::Ratio(0.5));
        row(
            format!("cold start exec → first next, {name} (ms, {n} runs)"),
            &|f| pct(&f.cold_next, p),
            2,
            target,
        );
    }
    for (name, p) in stats {
        row(
            format!("cold start exec → first response posted, {name} (ms, {n} runs)"),
            &|f| pct(&f.cold_response, p),
            2,
            None,
        );
    }
    let n = plan.readiness_runs;
    for (name, p) in stats {
        let target = (p == 0.5).then_some(Target::Max(1.5));
        row(
            format!(
                "readiness app listen → first next, {name} (ms, {n} runs, listen 50–60 ms after exec)"
            ),
            &|f| pct(&f.readiness, p),
            2,
            target,
        );
    }
    let n = plan.warm_invocations.div_ceil(plan.warm_chunk) * plan.warm_chunk;
    for (wi, w) in workloads.iter().enumerate() {
        let first = wi == 0;
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            row(
                format!("{}: latency {name} (µs, {n} invocations)", w.label),
                &|f| pct(&f.warm[wi].latency, p),
                1,
                None,
            );
        }
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            let d = pct(&direct[wi], p);
            let target = (first && p == 0.5).then_some(Target::Ratio(0.4));
            row(
                format!(
                    "{}: added over direct {name} (µs; direct {} µs)",
                    w.label,
                    d.map_or("?".into(), |d| num(d, 1))
                ),
                &|f| Some(pct(&f.warm[wi].latency, p)? - d?),
                1,
                target,
            );
        }
        let target = first.then_some(Target::Ratio(0.35));
        row(
            format!(
                "{}: adapter CPU per invocation (µs, /proc/pid/stat utime+stime)",
                w.label
            ),
            &|f| per_invocation_us(f.warm[wi].cpu_ticks, &f.warm[wi].latency),
            1,
            target,
        );
        row(
            format!(
                "{}: adapter CPU per invocation (µs, schedstat, live threads)",
                w.label
            ),
            &|f| {
                let n = f.warm[wi].latency.len();
                (n > 0).then(|| f.warm[wi].cpu_ns as f64 / 1e3 / n as f64)
            },
            1,
            None,
        );
        row(
            format!("{}: adapter minor page faults per invocation", w.label),
            &|f| {
                let n = f.warm[wi].latency.len();
                (n > 0).then(|| f.warm[wi].minor_faults as f64 / n as f64)
            },
            1,
            None,
        );
    }
    let n = plan.stream_invocations;
    let pause = crate::mock::SSE_PAUSE.as_millis();
    let what = format!("response streaming (SSE, 2 events {pause} ms apart, {n} invocations)");
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        row(
            format!("{what}: time to first byte, app wrote → runtime read, {name} (µs)"),
            &|f| pct(&f.stream.first_byte, p),
            1,
            None,
        );
    }
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        row(
            format!("{what}: second event, app wrote → runtime read, {name} (µs)"),
            &|f| pct(&f.stream.second_event, p),
            1,
            None,
        );
    }
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        row(
            format!("{what}: whole response, first event written → post read, {name} (ms)"),
            &|f| pct(&f.stream.end, p),
            2,
            None,
        );
    }
    row(
        "peak RSS after the first response, median (KiB)".into(),
        &|f| pct(&f.cold_rss, 0.5),
        0,
        None,
    );
    row(
        "peak RSS after all warm invocations (KiB, VmHWM)".into(),
        &|f| Some(f.peak_rss as f64),
        0,
        Some(Target::Ratio(0.25)),
    );
    row(
        format!(
            "user-space instructions exec → first next (callgrind, median of {})",
            plan.callgrind_runs
        ),
        &|f| median_u64(&f.instructions),
        0,
        Some(Target::Max(100_000.0)),
    );
    for (wi, w) in workloads.iter().enumerate() {
        row(
            format!(
                "{}: user-space instructions per invocation (callgrind, {} after the start-up)",
                w.label, plan.callgrind_invocations
            ),
            &|f| f.instructions_per_invocation.get(wi).map(|&n| n as f64),
            0,
            (wi == 0).then_some(Target::Ratio(0.5)),
        );
    }
    if let Some(stable) = sizes.stable {
        // Under the shipped binary's size rows.
        rows.insert(
            2,
            Row {
                label: "stable `cargo build --release` (x86_64 musl), stripped (bytes)".into(),
                ours: Some(stable as f64),
                upstream: None,
                digits: 0,
                target: Some(Target::Max(sizes.stable_budget as f64)),
            },
        );
    }
    rows
}

/// Two decimals; below 0.01, two significant digits (0.0041, not 0.00).
fn ratio(x: f64) -> String {
    if x > 0.0 && x < 0.01 {
        let digits = (1.0 - x.log10().floor()) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.2}")
    }
}

fn per_invocation_us(ticks: u64, latencies: &[f64]) -> Option<f64> {
    let n = latencies.len();
    (n > 0).then(|| ticks as f64 * 1e6 / adapter::ticks_per_second() as f64 / n as f64)
}

pub fn table(
    adapters: &[Adapter],
    figs: &[Figures],
    direct: &[Vec<f64>],
    workloads: &[Workload],
    plan: &Plan,
    sizes: &Sizes,
) -> String {
    let mut out = String::new();
    let upstream = adapters.get(1).is_some();
    out.push_str("| figure | ours | upstream 0.9.1 | ours/upstream | target | holds |\n");
    out.push_str("| --- | ---: | ---: | ---: | --- | --- |\n");
    for r in rows(figs, direct, workloads, plan, sizes) {
        let cell = |x: Option<f64>| x.map_or("–".into(), |x| num(x, r.digits));
        let (target, ok) = r.verdict();
        let ok = match ok {
            Some(true) => "yes",
            Some(false) => "**no**",
            None if target.is_empty() => "",
            None => "?",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {target} | {ok} |\n",
            r.label,
            cell(r.ours),
            cell(r.upstream),
            r.ratio().map_or("–".into(), ratio),
        ));
    }
    if !upstream {
        out.push_str("\n(upstream not installed: no ratios; run scripts/bench.sh without --smoke once to install it)\n");
    }
    out
}

pub fn json(
    adapters: &[Adapter],
    figs: &[Figures],
    direct: &[Vec<f64>],
    workloads: &[Workload],
    plan: &Plan,
    sizes: &Sizes,
    ticks_per_second: u64,
) -> Value {
    let mut per_adapter = serde_json::Map::new();
    for (a, f) in adapters.iter().zip(figs) {
        let warm: serde_json::Map<String, Value> = workloads
            .iter()
            .zip(&f.warm)
            .map(|(w, m)| {
                (
                    w.key.to_owned(),
                    json!({
                        "latency_us": m.latency,
                        "cpu_ticks": m.cpu_ticks,
                        "cpu_ns_live_threads": m.cpu_ns,
                        "minor_faults": m.minor_faults,
                    }),
                )
            })
            .collect();
        per_adapter.insert(
            a.name.to_owned(),
            json!({
                "path": a.path,
                "size_bytes": f.size,
                "stripped_bytes": f.stripped,
                "cold_next_ms": f.cold_next,
                "cold_response_ms": f.cold_response,
                "cold_peak_rss_kib": f.cold_rss,
                "readiness_ms": f.readiness,
                "readiness_listen_after_exec_ms": f.readiness_listen,
                "warm": warm,
                "streaming": {
                    "first_byte_us": f.stream.first_byte,
                    "second_event_us": f.stream.second_event,
                    "whole_response_ms": f.stream.end,
                },
                "peak_rss_kib": f.peak_rss,
                "instructions": f.instructions,
                "instructions_per_invocation": workloads
                    .iter()
                    .zip(&f.instructions_per_invocation)
                    .map(|(w, &n)| (w.key.to_owned(), json!(n)))
                    .collect::<serde_json::Map<String, Value>>(),
            }),
        );
    }
    let direct_us: serde_json::Map<String, Value> = workloads
        .iter()
        .zip(direct)
        .map(|(w, d)| (w.key.to_owned(), json!(d)))
        .collect();
    let summary: Vec<Value> = rows(figs, direct, workloads, plan, sizes)
        .iter()
        .map(|r| {
            let (target, holds) = r.verdict();
            json!({
                "figure": r.label, "ours": r.ours, "upstream": r.upstream,
                "ratio": r.ratio(), "target": target, "holds": holds,
            })
        })
        .collect();
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    json!({
        "mode": if plan.smoke { "smoke" } else { "full" },
        "machine": {
            "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "cpu": cpu,
            "kernel": read("/proc/sys/kernel/osrelease").trim(),
        },
        "plan": {
            "cold_runs": plan.cold_runs,
            "readiness_runs": plan.readiness_runs,
            "warm_invocations": plan.warm_invocations,
            "warm_chunk": plan.warm_chunk,
            "warm_up": plan.warm_up,
            "stream_invocations": plan.stream_invocations,
            "stream_warm_up": plan.stream_warm_up,
            "sse_pause_ms": crate::mock::SSE_PAUSE.as_millis() as u64,
            "callgrind_runs": plan.callgrind_runs,
            "callgrind_invocations": plan.callgrind_invocations,
        },
        "ticks_per_second": ticks_per_second,
        "sizes": {
            "ours_build": sizes.ours_build,
            "budget": sizes.budget,
            "stable_stripped_bytes": sizes.stable,
            "stable_budget": sizes.stable_budget,
        },
        "adapters": per_adapter,
        "direct_us": direct_us,
        "summary": summary,
    })
}
