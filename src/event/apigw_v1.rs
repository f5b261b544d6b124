//! API Gateway REST API events (payload format 1.0, also HTTP API with
//! payload 1.0) to app requests, and app responses back. Does no I/O.
//!
//! Request: `path` as is, every header value kept (decisions.md #16), the
//! query rebuilt form-encoded from the already-decoded parameters, in event
//! order (decisions.md #4). Response: every header in `multiValueHeaders`,
//! `headers` empty, so API Gateway repeats nothing.

use super::body::push_body;
use super::{
    Error, Fields, Parts, form_query, merge_headers, method, optional_path, push_multi_headers,
    push_status, reserve,
};
use crate::app::AppResponse;

pub(super) fn to_request<'a>(f: &Fields<'a>) -> Result<Parts<'a>, Error> {
    Ok(Parts {
        method: method("httpMethod", f.http_method)?,
        path: optional_path("path", f.path)?,
        query: form_query(f.query, f.multi_query, false)?,
        headers: merge_headers(f.headers, f.multi_headers)?,
    })
}

pub(super) fn from_response(resp: &AppResponse, out: &mut Vec<u8>) {
    reserve(out, resp);
    push_status(out, resp.status);
    out.extend_from_slice(b",\"headers\":{},\"multiValueHeaders\":");
    push_multi_headers(out, &resp.headers);
    out.push(b',');
    push_body(out, &resp.headers, &resp.body);
    out.push(b'}');
}
