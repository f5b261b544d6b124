//! One invocation as the Runtime API delivered it: plain data for `event`
//! to decode, and the deadline the app request must meet.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from Lambda's deadline to post an error before Lambda
/// stops the invocation (decisions.md #11).
const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

#[derive(Debug, Default, Clone)]
pub struct Invocation {
    pub id: String,
    /// `Lambda-Runtime-Deadline-Ms`, Unix epoch milliseconds.
    pub deadline_ms: Option<u64>,
    pub function_arn: String,
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`, as sent.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`, as sent.
    pub identity: Option<String>,
    pub tenant_id: Option<String>,
    pub payload: Vec<u8>,
}

impl Invocation {
    /// When the app request must be done by: Lambda's deadline less a margin;
    /// none when the deadline is absent or already past (local emulators).
    pub fn deadline(&self) -> Option<Instant> {
        let deadline = UNIX_EPOCH + Duration::from_millis(self.deadline_ms?);
        let left = deadline.duration_since(SystemTime::now()).ok()?;
        let left = if left > DEADLINE_MARGIN * 2 {
            left - DEADLINE_MARGIN
        } else {
            left / 2
        };
        Some(Instant::now() + left)
    }
}
