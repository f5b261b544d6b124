//! The adapter's one error type, and the `errorType` each variant reports to
//! Lambda. Errors are made where the context is known (which variable, which
//! event field, which peer), so a message says what to check.

use std::{fmt, io};

use crate::json::push_str;
use crate::transport::Fault;

/// Everything that can fail an invocation or the start-up.
#[derive(Debug)]
pub enum Error {
    /// A configuration value the adapter cannot use (`None`: a required variable is not set).
    Config {
        var: &'static str,
        value: Option<String>,
        reason: String,
    },
    /// The invocation payload is not what its source promises.
    Event { field: String, reason: String },
    /// The app could not be reached, timed out, or answered something that is not HTTP.
    App(Fault),
    /// The app did not become ready in time (the invocation's deadline, or
    /// `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS`).
    NotReady { waited_ms: u128 },
    /// A SnapStart hook (`var` names its path) failed or answered non-2xx;
    /// `problem` says how (`POST /path answered 500`).
    Hook { var: &'static str, problem: String },
    /// Wrapper mode: the app's command could not be started.
    AppStart {
        program: String,
        reason: String,
        not_found: bool,
    },
    /// Wrapper mode: the app exited.
    AppExited,
    /// The app answered with a status listed in `AWS_LWA_ERROR_STATUS_CODES`.
    Status { status: u16, body: String },
    /// The app's answer does not fit in a buffered Lambda response.
    TooLarge { limit: usize },
    /// The Runtime or Extensions API failed or answered oddly.
    Runtime {
        call: &'static str,
        source: RuntimeFault,
    },
}

/// What went wrong talking to the Runtime or Extensions API.
#[derive(Debug)]
pub enum RuntimeFault {
    Transport(Fault),
    Status(u16),
    Missing(&'static str),
}

impl Error {
    pub fn config(var: &'static str, value: &str, reason: impl Into<String>) -> Error {
        Error::Config {
            var,
            value: Some(value.to_owned()),
            reason: reason.into(),
        }
    }

    pub fn event(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Event {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// `{"errorType":"Adapter.X","errorMessage":"..."}`, the body of an error post.
    pub fn json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"{\"errorType\":");
        push_str(&mut out, self.error_type());
        out.extend_from_slice(b",\"errorMessage\":");
        push_str(&mut out, &self.to_string());
        out.push(b'}');
        out
    }

    /// The `errorType` posted to Lambda: one of a small documented set, never a Rust type name.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Config { .. } => "Adapter.InvalidConfig",
            Error::Event { .. } => "Adapter.InvalidEvent",
            Error::App(e) => match app_fault(e) {
                AppFault::Unreachable => "Adapter.AppUnreachable",
                AppFault::Timeout => "Adapter.AppTimeout",
                AppFault::TooLarge => "Adapter.ResponseTooLarge",
                AppFault::BadResponse => "Adapter.AppResponseInvalid",
            },
            Error::NotReady { .. } => "Adapter.AppTimeout",
            Error::Hook { .. } => "Adapter.HookFailed",
            Error::AppStart { .. } | Error::AppExited => "Adapter.AppExited",
            Error::Status { .. } => "Adapter.ErrorStatus",
            Error::TooLarge { .. } => "Adapter.ResponseTooLarge",
            Error::Runtime { .. } => "Adapter.RuntimeApi",
        }
    }
}

/// How an app request failed, from the adapter's point of view.
#[derive(Debug, PartialEq)]
pub enum AppFault {
    /// Nothing accepted the connection.
    Unreachable,
    /// The deadline passed before the answer was complete.
    Timeout,
    /// The body is larger than the limit we read.
    TooLarge,
    /// The connection broke, or what came back is not HTTP.
    BadResponse,
}

pub fn app_fault(e: &Fault) -> AppFault {
    match e {
        Fault::Timeout => AppFault::Timeout,
        Fault::BodyTooLarge(_) => AppFault::TooLarge,
        Fault::Connect(e) if e.kind() == io::ErrorKind::TimedOut => AppFault::Timeout,
        Fault::Connect(_) => AppFault::Unreachable,
        _ => AppFault::BadResponse,
    }
}

impl fmt::Display for Error {
    #[cfg_attr(lambda_adapter_dist, optimize(size))]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config {
                var,
                value: Some(value),
                reason,
            } => {
                write!(f, "configuration: {var}={value:?} is not valid: {reason}")
            }
            Error::Config {
                var,
                value: None,
                reason,
            } => write!(f, "configuration: {var} is not set: {reason}"),
            Error::Event { field, reason } => write!(f, "event field `{field}`: {reason}"),
            Error::App(e) => match app_fault(e) {
                AppFault::Unreachable => write!(
                    f,
                    "could not connect to the app ({e}); check that it listens on AWS_LWA_HOST:AWS_LWA_PORT and is still running"
                ),
                AppFault::Timeout => write!(
                    f,
                    "the app did not answer before the invocation deadline ({e}); check for slow or hung requests, or raise the function timeout"
                ),
                AppFault::TooLarge => write!(
                    f,
                    "the app's response body is larger than Lambda's 6 MB buffered limit; use AWS_LWA_INVOKE_MODE=response_stream for large bodies"
                ),
                AppFault::BadResponse => write!(
                    f,
                    "the app's answer could not be read ({e}); check the app's logs for a crash or a reset connection"
                ),
            },
            Error::NotReady { waited_ms } => write!(
                f,
                "the app was not ready after {waited_ms} ms; check AWS_LWA_READINESS_CHECK_* and the app's start-up logs"
            ),
            Error::AppStart {
                program, reason, ..
            } => {
                write!(
                    f,
                    "could not start the app {program:?}: {reason}; check the image's CMD and that the program exists and is executable"
                )
            }
            Error::AppExited => write!(f, "the app exited; check its output above for the reason"),
            Error::Hook { var, problem } => write!(
                f,
                "SnapStart hook {var}: {problem}; check the app's handler for that path"
            ),
            Error::Status { status, body } => {
                // Same shape as upstream 1.0 (#668), so Step Functions can parse it.
                let status = status.to_string();
                f.write_str("{\"statusCode\":")?;
                f.write_str(&status)?;
                f.write_str(",\"body\":")?;
                f.write_str(&serde_json::to_string(body).map_err(|_| fmt::Error)?)?;
                f.write_str("}")
            }
            Error::TooLarge { limit } => write!(
                f,
                "the response is larger than Lambda's {limit}-byte limit for buffered responses; use AWS_LWA_INVOKE_MODE=response_stream for large bodies"
            ),
            Error::Runtime { call, source } => match source {
                RuntimeFault::Transport(e) => write!(f, "runtime API {call}: {e}"),
                RuntimeFault::Status(s) => write!(f, "runtime API {call}: answered HTTP {s}"),
                RuntimeFault::Missing(h) => write!(f, "runtime API {call}: no {h} header"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::App(e) => Some(e),
            Error::Runtime {
                source: RuntimeFault::Transport(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // It travels through every Result on the hot path.
        assert!(
            std::mem::size_of::<Error>() <= 64,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn status_error_message_is_json() {
        let e = Error::Status {
            status: 500,
            body: "boom \"x\"".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_string()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"statusCode": 500, "body": "boom \"x\""})
        );
        assert_eq!(e.error_type(), "Adapter.ErrorStatus");
    }

    #[test]
    fn app_faults_are_classified() {
        let refused = Fault::Connect(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(Error::App(refused).error_type(), "Adapter.AppUnreachable");
        assert_eq!(
            Error::App(Fault::Timeout).error_type(),
            "Adapter.AppTimeout"
        );
        let reset = Fault::Io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(Error::App(reset).error_type(), "Adapter.AppResponseInvalid");
    }
}
