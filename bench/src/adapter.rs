//! Starting an adapter binary between the mock peers, and reading its
//! resource use from /proc.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The rest of the environment Lambda gives a function (AWS's list of
/// defined runtime variables; dummy values), as start-up reads it:
/// every `getenv` scans it.
const LAMBDA_ENV: &[(&str, &str)] = &[
    ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
    (
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
    ),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12"),
    ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "exampleexampleexampleexampleexample00000",
    ),
    (
        "AWS_SESSION_TOKEN",
        "IQoJb3JpZ2luX2VjEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
    ),
    ("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"),
    ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
    ("_AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129"),
    ("_AWS_XRAY_DAEMON_PORT", "2000"),
    ("_HANDLER", "app.handler"),
    ("LAMBDA_TASK_ROOT", "/var/task"),
    ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
    ("LANG", "en_US.UTF-8"),
    ("TZ", ":UTC"),
];

/// One adapter under test.
#[derive(Clone)]
pub struct Adapter {
    /// `ours` or `upstream`.
    pub name: &'static str,
    pub path: PathBuf,
    /// Appended to by every run, for a look after a failure.
    pub log: PathBuf,
}

impl Adapter {
    /// Starts the adapter (behind `wrap`, such as valgrind, when given).
    pub fn spawn(&self, runtime_api: &str, app_port: u16, wrap: &[String]) -> io::Result<Child> {
        let log = File::options().create(true).append(true).open(&self.log)?;
        let mut cmd = match wrap.split_first() {
            Some((tool, args)) => {
                let mut c = Command::new(tool);
                c.args(args).arg(&self.path);
                c
            }
            None => Command::new(&self.path),
        };
        cmd.env_clear()
            .envs(LAMBDA_ENV.iter().copied())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LWA_PORT", app_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
    }
}

/// Ends a child that the benchmark started, by its pid.
pub fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends SIGTERM to the adapter (the default action ends the process;
/// valgrind then writes its profile) and waits for `child`. Under a wrapper
/// that forks (strace) the adapter is the wrapper's youngest descendant;
/// under one that runs it in place (valgrind) it is `child` itself.
pub fn terminate(child: &mut Child) -> io::Result<()> {
    let mut pid = child.id();
    while let Some(kid) = children(pid).into_iter().max() {
        pid = kid;
    }
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    if !status.success() {
        return Err(io::Error::other("kill -TERM failed"));
    }
    child.wait()?;
    Ok(())
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| {
            c.split_ascii_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// From /proc/<pid>/stat: user plus system CPU time of the whole process in
/// clock ticks (fields 14 and 15), and its minor page faults (field 10).
pub fn cpu_ticks_and_faults(pid: u32) -> io::Result<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("unexpected /proc/pid/stat"))?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let num = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/pid/stat"))
    };
    // `rest` starts at field 3 (state).
    Ok((num(14 - 3)? + num(15 - 3)?, num(10 - 3)?))
}

/// Time on CPU of the live threads in nanoseconds (/proc/<pid>/task/*/schedstat),
/// a finer cross-check of `cpu_ticks`.
pub fn cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = fs::read_to_string(task?.path().join("schedstat"))?;
        total += stat
            .split_ascii_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// Peak resident set size in KiB (VmHWM).
pub fn peak_rss_kib(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| io::Error::other("no VmHWM in /proc/pid/status"))
}

/// Clock ticks per second, for `cpu_ticks`.
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Size of a file in bytes.
pub fn size(path: &Path) -> io::Result<u64> {
    Ok(fs::metadata(path)?.len())
}

/// A stripped copy of `path` in `dir`; its size.
pub fn stripped_size(path: &Path, dir: &Path, name: &str) -> io::Result<u64> {
    let out = dir.join(format!("{name}.stripped"));
    let status = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(path)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("strip {} failed", path.display())));
    }
    size(&out)
}
