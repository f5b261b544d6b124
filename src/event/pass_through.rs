//! Events of no HTTP shape (SQS, SNS, S3, EventBridge, WebSocket,
//! authorizers...) to a POST of the payload, and the app's answer back as the
//! function's result. Does no I/O.
//!
//! The payload goes to `AWS_LWA_PASS_THROUGH_PATH` byte for byte, or to the
//! event source's path in `AWS_LWA_PASS_THROUGH_ROUTES`, with the source in
//! `x-amzn-event-source` (`aws:sqs`, `aws.events`, `unknown`). The result
//! is the app's body when it is text by the body rule and valid JSON,
//! otherwise `null`; the app's status only matters through
//! `AWS_LWA_ERROR_STATUS_CODES`.

use std::borrow::Cow;

use ureq::http::Method;
use ureq::http::header::{self, HeaderMap, HeaderValue};

use super::body::as_text;
use super::{EVENT_SOURCE_HEADER, Parts, is_json};
use crate::app::AppResponse;
use crate::config::Config;

/// `source` is the event's source, already checked to be a header value.
pub(super) fn to_request<'a>(cfg: &'a Config, source: &str) -> Parts<'a> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let name = HeaderValue::from_str(source).unwrap_or(HeaderValue::from_static("unknown"));
    headers.insert(EVENT_SOURCE_HEADER, name);
    Parts {
        method: Method::POST,
        path: Cow::Borrowed(cfg.pass_through_path_for(source)),
        query: String::new(),
        headers,
    }
}

pub(super) fn from_response(resp: &mut AppResponse, out: &mut Vec<u8>) {
    if as_text(&resp.headers, &resp.body).is_some_and(is_json) {
        std::mem::swap(out, &mut resp.body); // the body is the result: no copy
    } else {
        out.extend_from_slice(b"null");
    }
}
