//! Side-by-side benchmark of lambda-adapter ("ours") and upstream
//! lambda_web_adapter, both run as binaries between the same mock Runtime
//! API and mock app (`mock`). Driven by `scripts/bench.sh`.
//!
//! ```text
//! lambda-adapter-bench run --ours BIN [--ours-build TEXT] [--upstream BIN] --out DIR [--smoke]
//!     [--budget BYTES] [--stable BIN --stable-budget BYTES]
//! lambda-adapter-bench startup --adapter BIN --out DIR [--invoke N [--workload KEY]] -- WRAPPER...
//! lambda-adapter-bench cold --adapter BIN [--adapter BIN2...] --out DIR [--runs N]
//! ```
//! `run` prints one markdown table and writes DIR/results.json; it exits 2
//! when our stripped binary is over `--budget`, or the stable build given by
//! `--stable` (measured for its size only) is over `--stable-budget`. `startup` runs one start-up
//! behind WRAPPER (strace, valgrind...) and ends it once the adapter is
//! parked on its first `next` (or after N more invocations).

mod adapter;
mod http;
mod mock;
mod report;
mod workload;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use adapter::Adapter;
use mock::{Job, MockApp, MockRuntime, Note};
use workload::Workload;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// How long a native adapter may take to reach `next` or to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Under valgrind everything is ~50x slower.
const WRAPPED_TIMEOUT: Duration = Duration::from_secs(120);

/// How many of each measurement a mode takes.
pub struct Plan {
    pub smoke: bool,
    pub cold_runs: usize,
    pub readiness_runs: usize,
    pub warm_invocations: usize,
    pub warm_chunk: usize,
    pub warm_up: usize,
    /// Streamed `GET /sse` invocations per adapter, after `stream_warm_up`.
    pub stream_invocations: usize,
    pub stream_warm_up: usize,
    pub callgrind_runs: usize,
    /// Invocations of each workload after the start-up, for instructions per invocation.
    pub callgrind_invocations: usize,
}

const FULL: Plan = Plan {
    smoke: false,
    cold_runs: 100,
    readiness_runs: 60,
    warm_invocations: 10_000,
    warm_chunk: 500,
    warm_up: 300,
    stream_invocations: 500,
    stream_warm_up: 20,
    callgrind_runs: 3,
    callgrind_invocations: 200,
};

const SMOKE: Plan = Plan {
    smoke: true,
    cold_runs: 3,
    readiness_runs: 3,
    warm_invocations: 200,
    warm_chunk: 100,
    warm_up: 20,
    stream_invocations: 20,
    stream_warm_up: 3,
    callgrind_runs: 1,
    callgrind_invocations: 20,
};

/// Everything measured for one adapter.
#[derive(Default)]
pub struct Figures {
    pub size: u64,
    pub stripped: u64,
    /// exec -> first `next`, ms.
    pub cold_next: Vec<f64>,
    /// exec -> first response posted, ms.
    pub cold_response: Vec<f64>,
    /// VmHWM after the first response, KiB.
    pub cold_rss: Vec<f64>,
    /// app listening -> first `next`, ms.
    pub readiness: Vec<f64>,
    /// exec -> app listening, ms (the randomised delay, as it happened).
    pub readiness_listen: Vec<f64>,
    /// One per workload, in `workload::all()` order.
    pub warm: Vec<Warm>,
    /// VmHWM after all warm invocations, KiB.
    pub peak_rss: u64,
    /// Response streaming (`GET /sse`).
    pub stream: Stream,
    /// User-space instructions, exec -> parked on the first `next`.
    pub instructions: Vec<u64>,
    /// User-space instructions per warm invocation (start-up subtracted),
    /// one per workload, in `workload::all()` order.
    pub instructions_per_invocation: Vec<u64>,
}

#[derive(Default, Clone)]
pub struct Warm {
    /// `next` answer written -> response post read, µs.
    pub latency: Vec<f64>,
    pub cpu_ticks: u64,
    pub cpu_ns: u64,
    pub minor_faults: u64,
}

/// One streamed invocation per entry, each from the moment the app had
/// written its first event (head and first chunk) to the socket.
#[derive(Default)]
pub struct Stream {
    /// -> the mock Runtime API has read the first body byte (after the
    /// prelude and the 8 NULs), µs.
    pub first_byte: Vec<f64>,
    /// The second event, written `SSE_PAUSE` later: app wrote it -> the
    /// mock read its first byte, µs.
    pub second_event: Vec<f64>,
    /// -> the mock has read the whole post (end chunk and trailers), ms.
    pub end: Vec<f64>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("startup") => startup_cmd(&args[1..]),
        Some("cold") => cold_cmd(&args[1..]),
        _ => Err("usage: lambda-adapter-bench run|startup ... (see scripts/bench.sh)".into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn adapter(name: &'static str, path: &str, out: &Path) -> Result<Adapter> {
    let path = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(Adapter {
        name,
        path,
        log: out.join(format!("{name}.log")),
    })
}

fn run(args: &[String]) -> Result<ExitCode> {
    let out = PathBuf::from(flag(args, "--out").ok_or("--out DIR is required")?);
    std::fs::create_dir_all(&out)?;
    let plan = if args.iter().any(|a| a == "--smoke") {
        &SMOKE
    } else {
        &FULL
    };
    let budget: u64 = flag(args, "--budget").map_or(Ok(480_000), |b| b.parse())?;
    let stable_budget: u64 = flag(args, "--stable-budget").map_or(Ok(800_000), |b| b.parse())?;
    let ours_build = flag(args, "--ours-build").unwrap_or_default();
    let mut adapters = vec![adapter(
        "ours",
        &flag(args, "--ours").ok_or("--ours BIN is required")?,
        &out,
    )?];
    if let Some(up) = flag(args, "--upstream") {
        adapters.push(adapter("upstream", &up, &out)?);
    }
    for a in &adapters {
        let _ = std::fs::remove_file(&a.log);
    }
    let mut figs: Vec<Figures> = adapters.iter().map(|_| Figures::default()).collect();
    let started = Instant::now();

    for (a, f) in adapters.iter().zip(&mut figs) {
        f.size = adapter::size(&a.path)?;
        f.stripped = adapter::stripped_size(&a.path, &out, a.name)?;
    }
    // The contributor's `cargo build --release`: only its size is measured.
    let stable = match flag(args, "--stable") {
        Some(path) => {
            let path = std::fs::canonicalize(&path).map_err(|e| format!("{path}: {e}"))?;
            Some(adapter::stripped_size(&path, &out, "stable")?)
        }
        None => None,
    };
    let sizes = report::Sizes {
        ours_build,
        budget,
        stable,
        stable_budget,
    };

    step("cold start", started);
    for i in 0..plan.cold_runs + 2 {
        for (a, f) in adapters.iter().zip(&mut figs) {
            let (next, response, rss) = cold(a).map_err(|e| context(a, "cold start", e))?;
            if i >= 2 {
                // the first two runs of each only warm the page cache
                f.cold_next.push(ms(next));
                f.cold_response.push(ms(response));
                f.cold_rss.push(rss as f64);
            }
        }
    }

    step("readiness", started);
    let mut rng = Rng::new();
    for _ in 0..plan.readiness_runs {
        for (a, f) in adapters.iter().zip(&mut figs) {
            let delay = Duration::from_micros(50_000 + rng.below(10_000));
            let (listen, ready) = readiness(a, delay).map_err(|e| context(a, "readiness", e))?;
            f.readiness_listen.push(ms(listen));
            f.readiness.push(ms(ready));
        }
    }

    step("warm invocations", started);
    let workloads = workload::all();
    let direct = warm(&adapters, &mut figs, &workloads, plan)?;

    step("response streaming", started);
    streaming(&adapters, &mut figs, plan)?;

    step("instructions (callgrind)", started);
    for i in 0..plan.callgrind_runs {
        for (a, f) in adapters.iter().zip(&mut figs) {
            let file = out.join(format!("callgrind.{}.{i}.out", a.name));
            let wrap = [
                "valgrind".to_owned(),
                "--tool=callgrind".to_owned(),
                format!("--callgrind-out-file={}", file.display()),
            ];
            startup(a, &wrap).map_err(|e| context(a, "callgrind", e))?;
            f.instructions.push(callgrind_total(&file)?);
        }
    }
    // Deterministic where CPU time is not: the same start-up, then n
    // invocations of one workload, for each workload.
    let n = plan.callgrind_invocations;
    for w in &workloads {
        for (a, f) in adapters.iter().zip(&mut figs) {
            let file = out.join(format!("callgrind-warm.{}.{}.out", w.key, a.name));
            let wrap = [
                "valgrind".to_owned(),
                "--tool=callgrind".to_owned(),
                format!("--callgrind-out-file={}", file.display()),
            ];
            startup_then(a, &wrap, Some((w, n))).map_err(|e| context(a, "callgrind", e))?;
            let start = report::median_u64(&f.instructions).unwrap_or(0.0) as u64;
            f.instructions_per_invocation
                .push(callgrind_total(&file)?.saturating_sub(start) / n as u64);
        }
    }
    step("done", started);

    let table = report::table(&adapters, &figs, &direct, &workloads, plan, &sizes);
    println!("\n{table}");
    let json = report::json(&adapters, &figs, &direct, &workloads, plan, &sizes, ticks());
    let results = out.join("results.json");
    std::fs::write(&results, serde_json::to_string_pretty(&json)?)?;
    std::fs::write(out.join("table.md"), &table)?;
    eprintln!("raw numbers: {}", results.display());

    let mut over = false;
    let ours = figs[0].stripped;
    if ours > budget {
        eprintln!(
            "FAIL: our stripped static binary is {ours} bytes, over the budget of {budget} bytes"
        );
        over = true;
    }
    if let Some(stable) = stable {
        let verdict = if stable > stable_budget { "FAIL" } else { "ok" };
        eprintln!(
            "{verdict}: the stable build (cargo build --release) is {stable} bytes stripped, budget {stable_budget}"
        );
        over |= stable > stable_budget;
    }
    Ok(if over {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn step(what: &str, started: Instant) {
    eprintln!("[{:6.1} s] {what}", started.elapsed().as_secs_f64());
}

fn context(a: &Adapter, what: &str, e: Box<dyn Error>) -> Box<dyn Error> {
    format!("{} ({what}): {e}; see {}", a.name, a.log.display()).into()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ticks() -> u64 {
    adapter::ticks_per_second()
}

/// A child that is killed when it goes out of scope, whatever happened.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        adapter::stop(&mut self.0);
    }
}

fn first_next(rt: &MockRuntime, timeout: Duration) -> Result<Instant> {
    rt.wait(timeout, |n| match n {
        Note::Next(at) => Some(at),
        _ => None,
    })
    .ok_or_else(|| "no `next` from the adapter in time".into())
}

/// Hands out one invocation and waits for its checked answer; returns the
/// latency and when the post was read.
fn invoke(rt: &MockRuntime, w: &Workload, seq: &mut u64) -> Result<(Duration, Instant)> {
    *seq += 1;
    let id = format!("bench-{seq:08}");
    rt.push(Job {
        id: id.clone(),
        payload: w.event.clone(),
    });
    let posted = rt
        .wait(TIMEOUT, |n| match n {
            Note::Posted(p) => Some(p),
            _ => None,
        })
        .ok_or("no response posted in time")?;
    let at = Instant::now();
    if posted.id != id || posted.error {
        return Err(format!(
            "{} posted {} for {}: {}",
            if posted.error {
                "an error"
            } else {
                "a response"
            },
            posted.id,
            id,
            String::from_utf8_lossy(&posted.body[..posted.body.len().min(300)])
        )
        .into());
    }
    workload::check(&posted.body, &w.expect).map_err(|e| format!("{}: {e}", w.label))?;
    Ok((posted.latency, at))
}

/// One cold start with the app already listening: exec -> first `next`,
/// exec -> first response posted, peak RSS then.
fn cold(a: &Adapter) -> Result<(Duration, Duration, u64)> {
    let app = MockApp::start()?;
    let rt = MockRuntime::start()?;
    let exec = Instant::now();
    let child = Running(a.spawn(&rt.api(), app.server.port(), &[])?);
    let next = first_next(&rt, TIMEOUT)?;
    let (_, posted) = invoke(&rt, &workload::small_get(), &mut 0)?;
    let rss = adapter::peak_rss_kib(child.0.id())?;
    drop(child);
    Ok((next - exec, posted - exec, rss))
}

/// The app starts listening `delay` after exec: returns exec -> listening
/// and listening -> first `next`.
fn readiness(a: &Adapter, delay: Duration) -> Result<(Duration, Duration)> {
    let mut app = MockApp::bind()?;
    let rt = MockRuntime::start()?;
    let exec = Instant::now();
    let child = Running(a.spawn(&rt.api(), app.server.port(), &[])?);
    app.server.listen_at(exec + delay);
    let next = first_next(&rt, TIMEOUT)?;
    let listened = app.server.listened();
    drop(child);
    let ready = next
        .checked_duration_since(listened)
        .ok_or("`next` came before the app listened")?;
    Ok((listened - exec, ready))
}

/// Warm invocations: every adapter started once, then chunks of each
/// workload handed to each adapter in turn and sent directly to the app
/// (A B direct, A B direct...), so that drift on the machine hits all.
/// Returns the direct latencies per workload (µs).
fn warm(
    adapters: &[Adapter],
    figs: &mut [Figures],
    workloads: &[Workload],
    plan: &Plan,
) -> Result<Vec<Vec<f64>>> {
    let app = MockApp::start()?;
    let mut rts = Vec::new();
    let mut children = Vec::new();
    for a in adapters {
        let rt = MockRuntime::start()?;
        children.push(Running(a.spawn(&rt.api(), app.server.port(), &[])?));
        first_next(&rt, TIMEOUT).map_err(|e| context(a, "warm start", e))?;
        rts.push(rt);
    }
    let mut client = http::Client::connect(app.server.addr)?;
    let mut seq = 0;
    let mut direct = vec![Vec::new(); workloads.len()];
    for f in figs.iter_mut() {
        f.warm = vec![Warm::default(); workloads.len()];
    }
    for w in workloads {
        for (a, rt) in adapters.iter().zip(&rts) {
            for _ in 0..plan.warm_up {
                invoke(rt, w, &mut seq).map_err(|e| context(a, "warm-up", e))?;
            }
        }
        for _ in 0..plan.warm_up {
            direct_request(&mut client, w)?;
        }
    }
    for (wi, w) in workloads.iter().enumerate() {
        for _ in 0..plan.warm_invocations.div_ceil(plan.warm_chunk) {
            for (i, a) in adapters.iter().enumerate() {
                let pid = children[i].0.id();
                let ((ticks0, faults0), ns0) =
                    (adapter::cpu_ticks_and_faults(pid)?, adapter::cpu_ns(pid)?);
                for _ in 0..plan.warm_chunk {
                    let (latency, _) =
                        invoke(&rts[i], w, &mut seq).map_err(|e| context(a, "warm", e))?;
                    figs[i].warm[wi].latency.push(latency.as_secs_f64() * 1e6);
                }
                let ((ticks1, faults1), ns1) =
                    (adapter::cpu_ticks_and_faults(pid)?, adapter::cpu_ns(pid)?);
                figs[i].warm[wi].cpu_ticks += ticks1 - ticks0;
                figs[i].warm[wi].minor_faults += faults1 - faults0;
                figs[i].warm[wi].cpu_ns += ns1.saturating_sub(ns0);
            }
            for _ in 0..plan.warm_chunk {
                direct[wi].push(direct_request(&mut client, w)?.as_secs_f64() * 1e6);
            }
        }
    }
    for (i, f) in figs.iter_mut().enumerate() {
        f.peak_rss = adapter::peak_rss_kib(children[i].0.id())?;
    }
    drop(children);
    Ok(direct)
}

/// Response streaming: every adapter started once with
/// `AWS_LWA_INVOKE_MODE=response_stream`, each with its own mock runtime,
/// one app; `GET /sse` handed to each in turn, one invocation at a time
/// (A B A B).
fn streaming(adapters: &[Adapter], figs: &mut [Figures], plan: &Plan) -> Result<()> {
    let app = MockApp::start()?;
    let mut rts = Vec::new();
    let mut children = Vec::new();
    for a in adapters {
        let rt = MockRuntime::start()?;
        let env = [("AWS_LWA_INVOKE_MODE", "response_stream")];
        children.push(Running(a.spawn_env(
            &rt.api(),
            app.server.port(),
            &[],
            &env,
        )?));
        first_next(&rt, TIMEOUT).map_err(|e| context(a, "streaming start", e))?;
        rts.push(rt);
    }
    let mut seq = 0;
    for i in 0..plan.stream_warm_up + plan.stream_invocations {
        for (k, a) in adapters.iter().enumerate() {
            let t =
                invoke_stream(&rts[k], &app, &mut seq).map_err(|e| context(a, "streaming", e))?;
            if i >= plan.stream_warm_up {
                let s = &mut figs[k].stream;
                s.first_byte.push(t.first_byte.as_secs_f64() * 1e6);
                s.second_event.push(t.second_event.as_secs_f64() * 1e6);
                s.end.push(ms(t.end));
            }
        }
    }
    drop(children);
    Ok(())
}

struct StreamTimes {
    first_byte: Duration,
    second_event: Duration,
    end: Duration,
}

/// Hands out one `GET /sse` invocation and checks the streamed post:
/// `Lambda-Runtime-Function-Response-Mode: streaming`, chunked, a JSON
/// prelude with status 200, 8 NULs, then exactly the app's two events. The
/// times run from the app's writes to the chunk that carried the byte.
fn invoke_stream(rt: &MockRuntime, app: &MockApp, seq: &mut u64) -> Result<StreamTimes> {
    *seq += 1;
    let id = format!("stream-{seq:08}");
    rt.push(Job {
        id: id.clone(),
        payload: workload::sse_event(&id),
    });
    let posted = rt
        .wait(TIMEOUT, |n| match n {
            Note::Posted(p) => Some(p),
            _ => None,
        })
        .ok_or("no response posted in time")?;
    let flushed = app
        .flushed
        .recv_timeout(TIMEOUT)
        .map_err(|_| "the app never answered `GET /sse`")?;
    let shown = || String::from_utf8_lossy(&posted.body[..posted.body.len().min(300)]);
    if posted.id != id || posted.error || flushed.id != id {
        return Err(format!(
            "posted {} for {id} (error: {}; app saw {}): {}",
            posted.id,
            posted.error,
            flushed.id,
            shown()
        )
        .into());
    }
    if !posted.streaming || posted.chunks.is_empty() {
        return Err(format!(
            "not a streamed post (mode header: {}, {} chunks): {}",
            posted.streaming,
            posted.chunks.len(),
            shown()
        )
        .into());
    }
    let sep = posted
        .body
        .windows(8)
        .position(|w| w == [0; 8])
        .ok_or_else(|| format!("no 8 NULs after a prelude: {}", shown()))?;
    let prelude: serde_json::Value = serde_json::from_slice(&posted.body[..sep])
        .map_err(|e| format!("prelude not JSON ({e}): {}", shown()))?;
    if prelude["statusCode"] != 200 {
        return Err(format!("prelude statusCode {}", prelude["statusCode"]).into());
    }
    let body = &posted.body[sep + 8..];
    if body != [mock::SSE_EVENTS[0], mock::SSE_EVENTS[1]].concat() {
        return Err(format!("streamed body {:?}", String::from_utf8_lossy(body)).into());
    }
    // When the chunk holding byte `offset` of the post's body had been read.
    let read = |offset: usize| {
        posted
            .chunks
            .iter()
            .find(|(len, _)| *len > offset)
            .map(|&(_, at)| at)
            .expect("a chunk holds every byte")
    };
    let first = sep + 8;
    let second = first + mock::SSE_EVENTS[0].len();
    Ok(StreamTimes {
        first_byte: read(first).saturating_duration_since(flushed.at[0]),
        second_event: read(second).saturating_duration_since(flushed.at[1]),
        end: posted.read_at.saturating_duration_since(flushed.at[0]),
    })
}

fn direct_request(client: &mut http::Client, w: &Workload) -> Result<Duration> {
    let t = Instant::now();
    let (status, len) = client.request(&w.direct)?;
    let took = t.elapsed();
    if status != 200 || len != w.expect.len() {
        return Err(format!("direct {}: status {status}, {len} bytes", w.label).into());
    }
    Ok(took)
}

/// Exec -> first `next` only, for any binaries (a floor such as a program
/// that only sends `GET next`), interleaved; prints min, median and p90.
fn cold_cmd(args: &[String]) -> Result<ExitCode> {
    let out = PathBuf::from(flag(args, "--out").ok_or("--out DIR is required")?);
    std::fs::create_dir_all(&out)?;
    let runs: usize = flag(args, "--runs").map_or(Ok(50), |r| r.parse())?;
    let paths: Vec<&String> = args
        .windows(2)
        .filter(|w| w[0] == "--adapter")
        .map(|w| &w[1])
        .collect();
    let mut adapters = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let mut a = adapter("cold", p, &out)?;
        a.log = out.join(format!("cold.{i}.log"));
        adapters.push(a);
    }
    let mut times = vec![Vec::new(); adapters.len()];
    for _ in 0..runs + 2 {
        for (a, t) in adapters.iter().zip(&mut times) {
            let app = MockApp::start()?;
            let rt = MockRuntime::start()?;
            let exec = Instant::now();
            let child = Running(a.spawn(&rt.api(), app.server.port(), &[])?);
            t.push(ms(first_next(&rt, TIMEOUT)? - exec));
            drop(child);
        }
    }
    println!("| binary | min (ms) | median (ms) | p90 (ms) |\n| --- | ---: | ---: | ---: |");
    for (a, t) in adapters.iter().zip(&times) {
        let t = &t[2..];
        let p = |q| report::pct(t, q).unwrap_or(f64::NAN);
        println!(
            "| {} | {:.2} | {:.2} | {:.2} |",
            a.path.display(),
            p(0.0),
            p(0.5),
            p(0.9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One start-up behind `wrap`, ended by SIGTERM once the adapter sent its
/// first runtime `next` and parked the extension's `event/next`: from then
/// on every thread is blocked in a read, so whatever the wrapper counted is
/// exactly exec -> first `next`.
fn startup(a: &Adapter, wrap: &[String]) -> Result<()> {
    startup_then(a, wrap, None)
}

/// `startup`, then `n` invocations of a workload before the SIGTERM: a
/// profile of the warm path (minus the start-up, which `startup` gives).
fn startup_then(
    a: &Adapter,
    wrap: &[String],
    invocations: Option<(&Workload, usize)>,
) -> Result<()> {
    let app = MockApp::start()?;
    let rt = MockRuntime::start()?;
    let mut child = Running(a.spawn(&rt.api(), app.server.port(), wrap)?);
    let (mut next, mut parked) = (false, false);
    let until = Instant::now() + WRAPPED_TIMEOUT;
    while !(next && parked) {
        let left = until.saturating_duration_since(Instant::now());
        match rt.notes.recv_timeout(left) {
            Ok(Note::Next(_)) => next = true,
            Ok(Note::ExtensionParked) => parked = true,
            Ok(_) => {}
            Err(_) => return Err("no `next` and extension `event/next` in time".into()),
        }
    }
    if let Some((w, n)) = invocations {
        let mut seq = 0;
        for _ in 0..n {
            invoke(&rt, w, &mut seq)?;
        }
    }
    adapter::terminate(&mut child.0)?;
    Ok(())
}

fn startup_cmd(args: &[String]) -> Result<ExitCode> {
    let out = PathBuf::from(flag(args, "--out").ok_or("--out DIR is required")?);
    std::fs::create_dir_all(&out)?;
    let a = adapter(
        "startup",
        &flag(args, "--adapter").ok_or("--adapter BIN is required")?,
        &out,
    )?;
    let wrap: Vec<String> = match args.iter().position(|x| x == "--") {
        Some(i) => args[i + 1..].to_vec(),
        None => Vec::new(),
    };
    let workloads = workload::all();
    let invocations = match flag(args, "--invoke") {
        Some(n) => {
            let key = flag(args, "--workload").unwrap_or_else(|| "small_get".into());
            let w = workloads
                .iter()
                .find(|w| w.key == key)
                .ok_or_else(|| format!("no workload {key}"))?;
            Some((w, n.parse()?))
        }
        None => None,
    };
    startup_then(&a, &wrap, invocations)?;
    Ok(ExitCode::SUCCESS)
}

/// The instruction total of a callgrind profile.
fn callgrind_total(file: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|n| n.split_ascii_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no totals in {}", file.display()).into())
}

/// xorshift64*, seeded from the clock: the readiness delays only need to vary.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}
