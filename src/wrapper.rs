//! Wrapper mode: `lambda-adapter CMD ARGS...`, for images that use the
//! adapter as `ENTRYPOINT` and the app as `CMD`.
//!
//! Outside Lambda (no `AWS_LAMBDA_RUNTIME_API`) the adapter replaces itself
//! with the app, so the same image runs unchanged on ECS, Fargate, EC2 or
//! `docker run`. Inside Lambda it starts a second copy of itself as a helper
//! process, which serves invocations exactly as the sidecar does, and then
//! replaces itself with the app. The app thus keeps the PID Lambda started:
//! it is the runtime process, as in sidecar mode, and receives Lambda's
//! SIGTERM (and SIGINT) itself, with nothing to forward. Catching and
//! forwarding signals would need `libc` and `unsafe` code; exec gives the same
//! behaviour with the standard library alone. The helper watches its parent,
//! the app, and exits when it is gone (see `main.rs`).

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::error::Error;

/// Starts the helper process: `lambda-adapter --lambda-adapter-helper PID`,
/// where PID is the app's (the helper's parent). An argument rather than an
/// environment variable: the app's environment stays as it was.
pub const HELPER_FLAG: &str = "--lambda-adapter-helper";

/// Replaces this process with the app; inside Lambda, first starts the helper.
/// Returns only when the app could not be started.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
pub fn exec(cmd: &[OsString], in_lambda: bool) -> Error {
    let mut app = Command::new(&cmd[0]);
    app.args(&cmd[1..]);
    let mut helper = None;
    if in_lambda {
        let me = match std::env::current_exe() {
            Ok(me) => me,
            Err(e) => return app_error(&cmd[0], e),
        };
        let spawned = Command::new(me)
            .arg(HELPER_FLAG)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => helper = Some(child),
            Err(e) => return app_error(&cmd[0], e),
        }
    }
    let e = app.exec();
    if let Some(mut helper) = helper {
        let _ = helper.kill();
        let _ = helper.wait();
    }
    app_error(&cmd[0], e)
}

fn app_error(program: &OsString, e: io::Error) -> Error {
    Error::AppStart {
        program: program.to_string_lossy().into_owned(),
        reason: e.to_string(),
        not_found: e.kind() == io::ErrorKind::NotFound,
    }
}
