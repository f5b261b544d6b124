//! Events of no HTTP shape (SQS, SNS, S3, EventBridge, WebSocket,
//! authorizers...) to a POST of the payload, and the app's answer back as the
//! function's result. Does no I/O.
//!
//! The payload goes to `AWS_LWA_PASS_THROUGH_PATH` byte for byte. The result
//! is the app's body when it is text by the body rule and valid JSON,
//! otherwise `null`; the app's status only matters through
//! `AWS_LWA_ERROR_STATUS_CODES`.

use std::borrow::Cow;

use ureq::http::Method;
use ureq::http::header::{self, HeaderMap, HeaderValue};

use super::body::as_text;
use super::{Parts, is_json};
use crate::app::AppResponse;
use crate::config::Config;

pub(super) fn to_request<'a>(cfg: &'a Config) -> Parts<'a> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Parts {
        method: Method::POST,
        path: Cow::Borrowed(&cfg.pass_through_path),
        query: String::new(),
        headers,
    }
}

pub(super) fn from_response(resp: AppResponse) -> Vec<u8> {
    let is_json = as_text(&resp.headers, &resp.body).is_some_and(is_json);
    if is_json { resp.body } else { b"null".to_vec() }
}
