//! Application Load Balancer events to app requests and back. Does no I/O.
//!
//! ALB passes query values still URL-encoded: they are decoded, then
//! re-encoded form-style as for REST, in event order (decisions.md #4). The
//! answer carries both header maps, as upstream's does: ALB reads the one of
//! its target group's mode. `multiValueHeaders` has every value; `headers`
//! joins repeated values with `, ` (upstream keeps the first), and only the
//! first `Set-Cookie` fits there (turn multi-value headers on to set several
//! cookies).

use ureq::http::StatusCode;

use super::body::push_body;
use super::{
    Error, Fields, Parts, SetCookie, form_query, merge_headers, method, optional_path,
    push_joined_headers, push_multi_headers, push_status, push_str, reserve,
};
use crate::app::AppResponse;

pub(super) fn to_request<'a>(f: &Fields<'a>) -> Result<Parts<'a>, Error> {
    Ok(Parts {
        method: method("httpMethod", f.http_method)?,
        path: optional_path("path", f.path)?,
        query: form_query(f.query, f.multi_query, true)?,
        headers: merge_headers(f.headers, f.multi_headers)?,
    })
}

pub(super) fn from_response(resp: &AppResponse, out: &mut Vec<u8>) {
    reserve(out, resp);
    push_status(out, resp.status);
    out.extend_from_slice(b",\"statusDescription\":");
    push_str(out, &status_description(resp.status));
    out.extend_from_slice(b",\"headers\":");
    push_joined_headers(out, &resp.headers, SetCookie::First);
    out.extend_from_slice(b",\"multiValueHeaders\":");
    push_multi_headers(out, &resp.headers);
    out.push(b',');
    push_body(out, &resp.headers, &resp.body);
    out.push(b'}');
}

/// `"200 OK"`; a code without a reason phrase gets a trailing space, as upstream.
fn status_description(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status} {reason}")
}
