//! API Gateway HTTP API events (payload format 2.0) and Lambda Function URL
//! events, which share the shape, to app requests and back. Does no I/O.
//!
//! Request: `rawPath` and `rawQueryString` verbatim, method from
//! `requestContext.http.method`, `cookies` joined with `; ` into one `cookie`
//! header (decisions.md #14). Response: `headers` with repeated values joined
//! by `, ` (decisions.md #5), every `Set-Cookie` in `cookies`.

use ureq::http::header::{self, HeaderValue};

use super::body::push_body;
use super::{
    Error, Fields, Members, Parts, SetCookie, Str, merge_headers, method, optional_path,
    parse_field, push_joined_headers, push_status, push_values, reserve, uri,
};
use crate::app::AppResponse;

pub(super) fn to_request<'a>(f: &Fields<'a>) -> Result<Parts<'a>, Error> {
    let http = f.context.get("http");
    let http: Members = parse_field("requestContext.http", http.map_err(context_error)?)?;
    let http_method = http.get("method").map_err(context_error)?;
    let raw_query: Option<Str> = parse_field("rawQueryString", f.raw_query)?;
    let mut headers = merge_headers(f.headers, None)?;
    let cookies: Option<Vec<Str>> = parse_field("cookies", f.cookies)?;
    if let Some(cookies) = cookies.filter(|c| !c.is_empty()) {
        let joined = cookies.iter().map(|c| &**c).collect::<Vec<_>>().join("; ");
        let value = HeaderValue::from_str(&joined)
            .map_err(|_| Error::event("cookies", "contains a control character"))?;
        headers.insert(header::COOKIE, value);
    }
    Ok(Parts {
        method: method("requestContext.http.method", http_method)?,
        path: optional_path("rawPath", f.raw_path)?,
        query: raw_query.map(|q| uri::encode_query(&q)).unwrap_or_default(),
        headers,
    })
}

fn context_error(reason: String) -> Error {
    Error::event("requestContext.http", reason)
}

pub(super) fn from_response(resp: &AppResponse, out: &mut Vec<u8>) {
    reserve(out, resp);
    push_status(out, resp.status);
    out.extend_from_slice(b",\"headers\":");
    push_joined_headers(out, &resp.headers, SetCookie::Omit);
    out.extend_from_slice(b",\"multiValueHeaders\":{},");
    push_body(out, &resp.headers, &resp.body);
    out.extend_from_slice(b",\"cookies\":");
    push_values(out, resp.headers.get_all(header::SET_COOKIE));
    out.push(b'}');
}
