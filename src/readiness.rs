//! Waits until the app is ready: an HTTP `GET` answered with a healthy
//! status, or a TCP connection accepted.
//!
//! Polls every 0.5 ms at first, then backs off in proportion to the time
//! already waited, up to 10 ms: an app that starts in 50 ms is seen within a
//! millisecond, one that takes 10 s costs a few hundred probes, not
//! thousands (decisions.md #10). Each probe is bounded in time, so an app
//! that accepts and never answers cannot stall the start.

use std::net::{TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use ureq::http::Uri;

use crate::app::App;
use crate::config::{Protocol, Readiness};
use crate::transport::{Fault, authority};

const MIN_INTERVAL: Duration = Duration::from_micros(500);
const MAX_INTERVAL: Duration = Duration::from_millis(10);

/// A probe may take this long at first; it doubles each time one times out.
const FIRST_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Upstream's cadence for the progress line (#520: the default function timeout is 3 s).
const REPORT_EVERY: Duration = Duration::from_secs(2);

/// The earlier of two optional limits (`None`: no limit).
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        _ => a.or(b),
    }
}

/// The pause before the next probe after `waited` without success.
pub fn interval(waited: Duration) -> Duration {
    (waited / 256).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// Probes until the app is ready (true) or `until` passes (false).
/// `started` is when the adapter started, for the log lines.
/// The probes go over `app`'s connection when the check's address is the
/// app's (the connection then serves the first invocation), otherwise over
/// one of their own.
pub fn wait(app: &mut App, r: &Readiness, started: Instant, until: Option<Instant>) -> bool {
    if app.serves(&r.url) {
        return probe_until(app, r, started, until);
    }
    probe_until(&mut App::new(&r.url, Duration::ZERO), r, started, until)
}

#[cfg_attr(lambda_adapter_dist, optimize(size))]
fn probe_until(app: &mut App, r: &Readiness, started: Instant, until: Option<Instant>) -> bool {
    // The origin form (the path): `App` sends the host in `Host`.
    let uri: Option<Uri> = (r.protocol == Protocol::Http).then(|| {
        match &r.url["http://".len() + authority(&r.url).len()..] {
            "/" => Uri::from_static("/"),
            path => Uri::try_from(path).expect("BUG: config checked the URL"),
        }
    });
    let mut probe_timeout = FIRST_PROBE_TIMEOUT;
    let mut next_report = started + REPORT_EVERY;
    loop {
        let now = Instant::now();
        let timeout = until.map_or(probe_timeout, |u| {
            probe_timeout.min(u.saturating_duration_since(now))
        });
        let ready = match &uri {
            Some(uri) => match app.probe(uri, timeout.max(Duration::from_millis(1))) {
                Ok(status) if r.healthy.contains(status) => true,
                Ok(status) => {
                    log::trace!("readiness: {} answered {status}", r.url);
                    false
                }
                Err(e) => {
                    if matches!(e, Fault::Timeout) {
                        probe_timeout *= 2;
                    }
                    log::trace!("readiness: {}: {e}", r.url);
                    false
                }
            },
            None => connect(&r.host, r.port, timeout.max(Duration::from_millis(1))),
        };
        let now = Instant::now();
        if ready {
            let ms = now.duration_since(started).as_millis() as u64;
            match r.protocol {
                Protocol::Http => log::info!("app ready after {ms}ms at {}", r.url),
                Protocol::Tcp => {
                    log::info!("app ready after {ms}ms at tcp://{}:{}", r.host, r.port)
                }
            }
            return true;
        }
        if now >= next_report {
            log::info!(
                "app is not ready after {}ms url={}",
                now.duration_since(started).as_millis(),
                r.url
            );
            next_report += REPORT_EVERY;
        }
        if until.is_some_and(|u| now >= u) {
            return false;
        }
        let pause = interval(now.duration_since(started));
        thread::sleep(until.map_or(pause, |u| pause.min(u.saturating_duration_since(now))));
    }
}

/// A TCP connection to the app, accepted within `timeout`.
fn connect(host: &str, port: u16, timeout: Duration) -> bool {
    // An IP address is used as is, a name is resolved.
    (host, port)
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.any(|a| TcpStream::connect_timeout(&a, timeout).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_fast_at_first_then_backs_off() {
        assert_eq!(interval(Duration::ZERO), MIN_INTERVAL);
        assert!(interval(Duration::from_millis(60)) <= Duration::from_millis(1));
        assert!(interval(Duration::from_millis(500)) > Duration::from_millis(1));
        assert_eq!(interval(Duration::from_secs(30)), MAX_INTERVAL);
    }
}
