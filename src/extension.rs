//! The Extensions API: registers as the external extension `lambda-adapter`
//! (the file name under `/opt/extensions`), then blocks on `event/next` in a
//! thread of its own until Lambda announces SHUTDOWN.
//!
//! Being registered is what gives the app a Shutdown phase with SIGTERM
//! (upstream #202), and Lambda's Init phase waits for the parked `next`.

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use ureq::Agent;
use ureq::http::StatusCode;

use crate::runtime;

/// Must equal the executable's file name under `/opt/extensions`.
const NAME: &str = "lambda-adapter";

const REGISTER_ATTEMPTS: u32 = 3;

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "eventType")]
    event_type: String,
    #[serde(rename = "shutdownReason", default)]
    shutdown_reason: Option<String>,
}

/// Registers in a new thread; the receiver gets a message once registration
/// is done (or has failed: the adapter serves invocations either way).
/// `on_shutdown` runs when Lambda sends SHUTDOWN.
pub fn start(api: &str, on_shutdown: impl FnOnce(&str) + Send + 'static) -> Receiver<()> {
    let (tx, rx) = mpsc::sync_channel(1);
    let base = format!("{api}/2020-01-01/extension");
    thread::Builder::new()
        .name("extension".into())
        .spawn(move || {
            let agent = runtime::agent();
            let id = register(&agent, &base);
            let _ = tx.send(());
            if let Some(id) = id {
                let reason = wait_for_shutdown(&agent, &base, &id);
                on_shutdown(&reason);
            }
        })
        .expect("BUG: cannot spawn the extension thread");
    rx
}

/// Registers for SHUTDOWN; when Lambda refuses that (an extension that is not
/// started from `/opt/extensions` counts as internal, and internal extensions
/// may not ask for SHUTDOWN), registers for no events, as upstream does.
fn register(agent: &Agent, base: &str) -> Option<String> {
    let url = format!("{base}/register");
    let mut events = &br#"{"events":["SHUTDOWN"]}"#[..];
    for attempt in 1..=REGISTER_ATTEMPTS {
        let result = agent
            .post(&url)
            .header("lambda-extension-name", NAME)
            .header("content-type", "application/json")
            .send(events);
        let problem = match result.map(runtime::drain) {
            Ok(resp) if resp.status() == StatusCode::OK => {
                match resp.headers().get("lambda-extension-identifier") {
                    Some(id) => return id.to_str().ok().map(str::to_owned),
                    None => "answered without a Lambda-Extension-Identifier header".to_owned(),
                }
            }
            Ok(resp) if resp.status().is_client_error() && events != br#"{"events":[]}"# => {
                log::debug!(
                    "extension registration for SHUTDOWN answered HTTP {}; registering for no events",
                    resp.status().as_u16()
                );
                events = br#"{"events":[]}"#;
                continue;
            }
            Ok(resp) => format!("answered HTTP {}", resp.status().as_u16()),
            Err(e) => e.to_string(),
        };
        log::warn!("extension registration (attempt {attempt} of {REGISTER_ATTEMPTS}): {problem}");
        thread::sleep(Duration::from_millis(10) * attempt);
    }
    log::warn!("not registered as an extension: the app will not get a SHUTDOWN phase");
    None
}

/// Blocks until SHUTDOWN; returns its reason.
fn wait_for_shutdown(agent: &Agent, base: &str, id: &str) -> String {
    let url = format!("{base}/event/next");
    let mut backoff = Duration::from_millis(10);
    loop {
        let result = agent
            .get(&url)
            .header("lambda-extension-identifier", id)
            .call();
        match result {
            Ok(mut resp) if resp.status().is_success() => {
                backoff = Duration::from_millis(10);
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_vec()
                    .unwrap_or_default();
                match serde_json::from_slice::<Event>(&body) {
                    Ok(e) if e.event_type == "SHUTDOWN" => {
                        return e.shutdown_reason.unwrap_or_default();
                    }
                    Ok(_) => {} // INVOKE, sent by emulators to every extension
                    Err(e) => log::debug!("extension event: {e}"),
                }
                continue;
            }
            Ok(resp) => log::warn!(
                "extension event/next: answered HTTP {}",
                resp.status().as_u16()
            ),
            Err(e) => log::warn!("extension event/next: {e}"),
        }
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}
