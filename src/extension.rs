//! The Extensions API: registers as the external extension `lambda-adapter`
//! (the file name under `/opt/extensions`), then blocks on `event/next` in a
//! thread of its own until Lambda announces SHUTDOWN.
//!
//! Being registered is what gives the app a Shutdown phase with SIGTERM
//! (upstream #202), and Lambda's Init phase waits for the parked `next`.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use ureq::http::{HeaderName, HeaderValue, Method, StatusCode, header};

use crate::error::Error;
use crate::event::{Members, Str, parse_field};
use crate::runtime::Api;

/// Must equal the executable's file name under `/opt/extensions`.
const NAME: &str = "lambda-adapter";

const REGISTER_ATTEMPTS: u32 = 3;

/// One registration attempt may take this long.
const REGISTER_TIME: Duration = Duration::from_secs(2);

const NAME_HEADER: HeaderName = HeaderName::from_static("lambda-extension-name");
const ID_HEADER: HeaderName = HeaderName::from_static("lambda-extension-identifier");

/// Whether registration is over (done or failed: the adapter serves
/// invocations either way).
#[derive(Default)]
pub struct Registration {
    over: Mutex<bool>,
    changed: Condvar,
}

impl Registration {
    fn finish(&self) {
        *self.over.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Waits until registration is over, at most `timeout`.
    pub fn wait(&self, timeout: Duration) {
        let over = self.over.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .changed
            .wait_timeout_while(over, timeout, |over| !*over);
    }
}

/// The extension thread's stack: registration, one event at a time, a log line.
const STACK: usize = 256 * 1024;

/// The largest event body read (SHUTDOWN and INVOKE events are small).
const MAX_EVENT: usize = 64 * 1024;

/// Registers in a new thread, on a connection of its own (its `event/next`
/// blocks until SHUTDOWN). `on_shutdown` runs when Lambda sends SHUTDOWN.
pub fn start(api: &str, on_shutdown: impl FnOnce(&str) + Send + 'static) -> Arc<Registration> {
    let registration = Arc::new(Registration::default());
    let mut api = Api::new(api);
    let shared = Arc::clone(&registration);
    // Unnamed (a name costs two allocations and a copy at start-up), with
    // a stack size (std would read RUST_MIN_STACK from the environment).
    thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let id = register(&mut api);
            shared.finish();
            if let Some(id) = id {
                let reason = wait_for_shutdown(&mut api, id);
                on_shutdown(&reason);
            }
        })
        .expect("BUG: cannot spawn the extension thread");
    registration
}

/// The registration bodies, with their lengths made once (a length made
/// from a number is an allocation).
const SHUTDOWN: (&[u8], HeaderValue) = (
    br#"{"events":["SHUTDOWN"]}"#,
    HeaderValue::from_static("23"),
);
const NO_EVENTS: (&[u8], HeaderValue) = (br#"{"events":[]}"#, HeaderValue::from_static("13"));

/// Registers for SHUTDOWN; when Lambda refuses that (an extension that is not
/// started from `/opt/extensions` counts as internal, and internal extensions
/// may not ask for SHUTDOWN), registers for no events, as upstream does.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn register(api: &mut Api) -> Option<HeaderValue> {
    let uri = api.uri("/2020-01-01/extension/register").ok()?;
    let (mut events, mut length) = SHUTDOWN;
    let mut scratch = Vec::new();
    for attempt in 1..=REGISTER_ATTEMPTS {
        let mut req = api.request(Method::POST, uri.clone());
        let h = req.headers_mut();
        h.insert(NAME_HEADER, HeaderValue::from_static(NAME));
        // Emulators built on typed JSON extractors refuse the body without it.
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CONTENT_LENGTH, length.clone());
        let deadline = Some(Instant::now() + REGISTER_TIME);
        let problem = match api.call(req, events, &mut scratch, MAX_EVENT, deadline) {
            Ok((StatusCode::OK, mut headers)) => match headers.remove(ID_HEADER) {
                Some(id) => return Some(id),
                None => "answered without a Lambda-Extension-Identifier header".to_owned(),
            },
            Ok((status, _)) if status.is_client_error() && events != NO_EVENTS.0 => {
                log::debug!(
                    "extension registration for SHUTDOWN answered HTTP {}; registering for no events",
                    status.as_u16()
                );
                (events, length) = NO_EVENTS;
                continue;
            }
            Ok((status, _)) => format!("answered HTTP {}", status.as_u16()),
            Err(e) => e.to_string(),
        };
        log::warn!("extension registration (attempt {attempt} of {REGISTER_ATTEMPTS}): {problem}");
        thread::sleep(Duration::from_millis(10) * attempt);
    }
    log::warn!("not registered as an extension: the app will not get a SHUTDOWN phase");
    None
}

/// Blocks until SHUTDOWN; returns its reason.
#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn wait_for_shutdown(api: &mut Api, id: HeaderValue) -> String {
    let Ok(uri) = api.uri("/2020-01-01/extension/event/next") else {
        return String::new();
    };
    let mut body = Vec::new();
    let mut backoff = Duration::from_millis(10);
    loop {
        let mut req = api.request(Method::GET, uri.clone());
        req.headers_mut().insert(ID_HEADER, id.clone());
        match api.call(req, &[], &mut body, MAX_EVENT, None) {
            Ok((status, _)) if status.is_success() => {
                backoff = Duration::from_millis(10);
                match shutdown_reason(&String::from_utf8_lossy(&body)) {
                    Ok(Some(reason)) => return reason,
                    Ok(None) => {} // INVOKE, sent by emulators to every extension
                    Err(e) => log::debug!("extension event: {e}"),
                }
                continue;
            }
            Ok((status, _)) => {
                log::warn!("extension event/next: answered HTTP {}", status.as_u16())
            }
            Err(e) => log::warn!("extension event/next: {e}"),
        }
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// The `shutdownReason` of a SHUTDOWN event (empty when absent); `None` for
/// any other event.
fn shutdown_reason(body: &str) -> Result<Option<String>, Error> {
    let event: Members = serde_json::from_str(body)
        .map_err(|e| Error::event("(event)", format!("not a JSON object: {e}")))?;
    let get = |key| event.get(key).map_err(|e| Error::event(key, e));
    let kind: Option<Str> = parse_field("eventType", get("eventType")?)?;
    match kind {
        Some(kind) if &*kind == "SHUTDOWN" => {
            let reason: Option<Str> = parse_field("shutdownReason", get("shutdownReason")?)?;
            Ok(Some(reason.map(|r| r.0.into_owned()).unwrap_or_default()))
        }
        Some(_) => Ok(None),
        None => Err(Error::event("eventType", "missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_lengths_are_the_bodies_lengths() {
        for (body, length) in [SHUTDOWN, NO_EVENTS] {
            assert_eq!(length.to_str().unwrap(), body.len().to_string());
            serde_json::from_slice::<serde_json::Value>(body).unwrap();
        }
    }
}
