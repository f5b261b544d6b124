//! Turns an invocation into the app's HTTP request, and the app's answer into
//! the JSON Lambda expects. Everything here is pure: no I/O, no clock.
//!
//! Detection reads a few discriminating keys in a fixed order and parses
//! nothing else, so a malformed HTTP event is an error naming its field, not
//! a pass-through (decisions.md #2). Each source has its own file with both
//! directions side by side.

mod alb;
mod apigw_v1;
mod apigw_v2;
pub mod body;
mod pass_through;
pub mod uri;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use ureq::http::Method;
use ureq::http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::app::{AppRequest, AppResponse};
use crate::config::Config;
use crate::error::Error;
use crate::invocation::Invocation;
use crate::json::push_decimal;

/// Where an event came from, which decides the shape of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// API Gateway REST API, and HTTP API with payload format 1.0.
    ApiGwV1,
    /// API Gateway HTTP API payload format 2.0, and Lambda Function URLs.
    ApiGwV2,
    /// Application Load Balancer, with or without multi-value headers.
    Alb,
    /// Anything else (SQS, S3, WebSocket, authorizers...): POSTed as is.
    PassThrough,
}

/// Lambda's limit for a buffered response payload, in bytes; Lambda reports
/// "payload size exceeded maximum allowed payload size (6291556 bytes)".
pub const MAX_RESPONSE: usize = 6_291_556;

/// The top-level keys any source uses, each kept raw until its source is
/// known (`None` when absent or `null`).
#[derive(Default)]
struct Fields<'a> {
    http_method: Option<&'a RawValue>,
    request_context: Option<&'a RawValue>,
    /// The members of `requestContext` when it is an object.
    context: Members<'a>,
    kind: Option<&'a RawValue>,
    method_arn: Option<&'a RawValue>,
    route_arn: Option<&'a RawValue>,
    path: Option<&'a RawValue>,
    raw_path: Option<&'a RawValue>,
    raw_query: Option<&'a RawValue>,
    headers: Option<&'a RawValue>,
    multi_headers: Option<&'a RawValue>,
    query: Option<&'a RawValue>,
    multi_query: Option<&'a RawValue>,
    cookies: Option<&'a RawValue>,
    body: Option<&'a RawValue>,
    is_base64: Option<&'a RawValue>,
    /// For a pass-through event's source (`event_source`).
    records: Option<&'a RawValue>,
    event_source: Option<&'a RawValue>,
    detail_type: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    /// Picks the keys out of an event that is a JSON object.
    fn parse(payload: &'a str) -> Result<Fields<'a>, Error> {
        let members: Members = serde_json::from_str(payload).map_err(invalid_json)?;
        let get = |key| {
            members
                .get(key)
                .map_err(|e| Error::event("(payload)", format!("not valid JSON: {e}")))
        };
        let request_context = get("requestContext")?;
        let context = match request_context {
            Some(raw) if raw.get().starts_with('{') => parse_field("requestContext", Some(raw))?,
            _ => Members::default(),
        };
        Ok(Fields {
            http_method: get("httpMethod")?,
            request_context,
            context,
            kind: get("type")?,
            method_arn: get("methodArn")?,
            route_arn: get("routeArn")?,
            path: get("path")?,
            raw_path: get("rawPath")?,
            raw_query: get("rawQueryString")?,
            headers: get("headers")?,
            multi_headers: get("multiValueHeaders")?,
            query: get("queryStringParameters")?,
            multi_query: get("multiValueQueryStringParameters")?,
            cookies: get("cookies")?,
            body: get("body")?,
            is_base64: get("isBase64Encoded")?,
            // Only name the source of a pass-through event: a duplicate is `unknown`, not an error.
            records: members.get("Records").ok().flatten(),
            event_source: members.get("eventSource").ok().flatten(),
            detail_type: members.get("detail-type").ok().flatten(),
        })
    }
}

/// The parts of an HTTP event each source file produces.
struct Parts<'a> {
    method: Method,
    /// The raw path, as the event has it.
    path: Cow<'a, str>,
    /// The query, already encoded for a request target (no leading `?`).
    query: String,
    headers: HeaderMap,
}

/// Decodes an invocation into the request for the app.
pub fn decode<'a>(inv: &'a Invocation, cfg: &Config) -> Result<(Source, AppRequest<'a>), Error> {
    // JSON is UTF-8 (RFC 8259); checking once up front covers the parts serde skips.
    let payload = std::str::from_utf8(&inv.payload)
        .map_err(|e| Error::event("(payload)", format!("not valid JSON: not UTF-8 ({e})")))?;
    let fields = if payload.trim_start().starts_with('{') {
        Fields::parse(payload)?
    } else {
        // Arrays, strings, numbers and null are valid events of no HTTP shape.
        serde_json::from_str::<IgnoredAny>(payload).map_err(invalid_json)?;
        Fields::default()
    };
    let source = detect(&fields)?;
    let (parts, body) = match source {
        Source::ApiGwV1 => (
            apigw_v1::to_request(&fields)?,
            body::decode_request(fields.body, fields.is_base64)?,
        ),
        Source::ApiGwV2 => (
            apigw_v2::to_request(&fields)?,
            body::decode_request(fields.body, fields.is_base64)?,
        ),
        Source::Alb => (
            alb::to_request(&fields)?,
            body::decode_request(fields.body, fields.is_base64)?,
        ),
        Source::PassThrough => (
            pass_through::to_request(cfg, &event_source(&fields)),
            Cow::Borrowed(payload.as_bytes()),
        ),
    };
    let Parts {
        method,
        path,
        query,
        mut headers,
    } = parts;
    // Dot segments first, so that `/api/../x` is not taken for base path `/api`.
    let resolved;
    let (path, context) = match (source, fields.request_context) {
        (Source::PassThrough, _) => (&*path, Cow::Borrowed("null")),
        (_, raw) => {
            resolved = uri::resolve_dots(&path);
            let context = raw.map_or(Cow::Borrowed("null"), |raw| compact_json(raw.get()));
            (
                remove_base_path(&resolved, cfg.remove_base_path.as_deref()),
                context,
            )
        }
    };
    let uri = uri::target(&cfg.app, path, &query)?;
    inject(&mut headers, inv, cfg, &context)?;
    Ok((
        source,
        AppRequest {
            method,
            uri,
            headers,
            body,
        },
    ))
}

/// Encodes the app's answer as the Lambda result for `source`, into `out`
/// (cleared first: the caller reuses it, and may reuse `resp.body`, which
/// pass-through results swap with `out`).
pub fn encode(source: Source, resp: &mut AppResponse, out: &mut Vec<u8>) -> Result<(), Error> {
    out.clear();
    match source {
        Source::ApiGwV1 => apigw_v1::from_response(resp, out),
        Source::ApiGwV2 => apigw_v2::from_response(resp, out),
        Source::Alb => alb::from_response(resp, out),
        Source::PassThrough => pass_through::from_response(resp, out),
    }
    if out.len() > MAX_RESPONSE {
        return Err(Error::TooLarge {
            limit: MAX_RESPONSE,
        });
    }
    Ok(())
}

/// The answer to an invocation whose path is a SnapStart hook path
/// (decisions.md #20): `403 Forbidden`, in `body` (cleared first).
pub fn forbidden(mut body: Vec<u8>) -> AppResponse {
    body.clear();
    body.extend_from_slice(b"Forbidden");
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    AppResponse {
        status: 403,
        headers,
        body,
    }
}

/// Room for the response shapes around a body that may go out as base64.
fn reserve(out: &mut Vec<u8>, resp: &AppResponse) {
    out.reserve(resp.body.len() / 3 * 4 + 512);
}

/// The prelude of a streamed response (`AWS_LWA_INVOKE_MODE=response_stream`),
/// for every source, as upstream: `{"statusCode":200,"headers":{...},"cookies":[...]}`.
/// A header with one value is a string, a repeated one an array of all its
/// values; every `Set-Cookie` goes to `cookies`; `content-type` defaults to
/// `application/octet-stream`.
pub fn prelude(status: u16, headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    push_status(&mut out, status);
    out.extend_from_slice(b",\"headers\":{");
    let mut first = true;
    if !headers.contains_key(header::CONTENT_TYPE) {
        out.extend_from_slice(b"\"content-type\":\"application/octet-stream\"");
        first = false;
    }
    for (name, values) in response_headers(headers).filter(|(n, _)| *n != header::SET_COOKIE) {
        if !first {
            out.push(b',');
        }
        first = false;
        push_str(&mut out, name.as_str());
        out.push(b':');
        let mut iter = values.iter();
        match (iter.next(), iter.next()) {
            (Some(one), None) => push_str(&mut out, &header_text(one)),
            _ => push_values(&mut out, values),
        }
    }
    out.extend_from_slice(b"},\"cookies\":");
    push_values(&mut out, headers.get_all(header::SET_COOKIE));
    out.push(b'}');
    out
}

/// Tells the sources apart (decisions.md #2).
fn detect(f: &Fields) -> Result<Source, Error> {
    // Authorizers answer with a policy, which only a pass-through result can carry.
    let kind = parse_field::<Option<Str>>("type", f.kind).ok().flatten();
    if matches!(kind.as_deref(), Some("REQUEST" | "TOKEN"))
        && (f.method_arn.is_some() || f.route_arn.is_some())
    {
        return Ok(Source::PassThrough);
    }
    let Some(context) = f.request_context else {
        return Ok(Source::PassThrough);
    };
    let has = |key| {
        f.context
            .get(key)
            .map(|v| v.is_some())
            .map_err(|e| Error::event("requestContext", e))
    };
    if has("connectionId")? {
        return Ok(Source::PassThrough); // WebSocket: not an HTTP request.
    }
    if has("http")? {
        return Ok(Source::ApiGwV2);
    }
    if has("elb")? {
        return Ok(Source::Alb);
    }
    if f.http_method.is_some() {
        if !context.get().starts_with('{') {
            return Err(Error::event("requestContext", "expected an object"));
        }
        return Ok(Source::ApiGwV1);
    }
    Ok(Source::PassThrough)
}

/// The header that names a pass-through event's source for the app, with
/// the `x-amzn-` prefix of the other headers the adapter injects.
pub const EVENT_SOURCE_HEADER: &str = "x-amzn-event-source";

/// A pass-through event's source as AWS writes it, from its documented
/// fields: `Records[0].eventSource` (SQS `aws:sqs`, S3, DynamoDB, Kinesis,
/// SES, CodeCommit) or `Records[0].EventSource` (SNS `aws:sns`); a top-level
/// `eventSource` (MSK `aws:kafka`, MQ `aws:mq`, `SelfManagedKafka`);
/// `aws.events` for EventBridge and schedules (`detail-type` beside a
/// `source`); otherwise `unknown`. Never an error: these events are passed
/// through whatever they hold.
fn event_source<'a>(f: &Fields<'a>) -> Cow<'a, str> {
    let text = |raw: Option<&'a RawValue>| parse_field::<Option<Str>>("", raw).ok().flatten();
    let first = parse_field::<First<Members>>("Records", f.records)
        .ok()
        .and_then(|records| records.0)
        .and_then(|r| {
            let lower = r.get("eventSource").ok().flatten();
            text(lower).or_else(|| text(r.get("EventSource").ok().flatten()))
        });
    let top = || text(f.event_source);
    let name = match first.or_else(top) {
        Some(name) => name.0,
        None if f.detail_type.is_some() => Cow::Borrowed("aws.events"),
        None => Cow::Borrowed("unknown"),
    };
    let usable = !name.is_empty() && name.len() <= 256 && HeaderValue::from_str(&name).is_ok();
    if usable {
        name
    } else {
        Cow::Borrowed("unknown")
    }
}

fn invalid_json(e: serde_json::Error) -> Error {
    Error::event("(payload)", format!("not valid JSON: {e}"))
}

/// Segment-aware, strips once (decisions.md #8): `/api` turns `/api/x` into
/// `/x` and `/api` into `/`, and leaves `/apiv2/x` alone.
pub fn remove_base_path<'p>(path: &'p str, base: Option<&str>) -> &'p str {
    let Some(base) = base else { return path };
    match path.strip_prefix(base) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Adds the headers every HTTP request carries, replacing the event's own
/// copies, then applies `AWS_LWA_AUTHORIZATION_SOURCE`.
fn inject(
    headers: &mut HeaderMap,
    inv: &Invocation,
    cfg: &Config,
    request_context: &str,
) -> Result<(), Error> {
    // ureq frames the body by these; the real length is set when sending (decisions.md #7).
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    // One Host, and ureq needs it (and Authorization) to be visible ASCII.
    for name in [header::HOST, header::AUTHORIZATION] {
        let mut values = headers.get_all(&name).iter();
        if let Some(first) = values.next() {
            let first = first.clone();
            if values.next().is_some() {
                headers.insert(name.clone(), first.clone());
            }
            if first.to_str().is_err() {
                return Err(Error::event(
                    format!("headers.{name}"),
                    "only visible ASCII characters are allowed",
                ));
            }
        }
    }
    headers.insert(
        HeaderName::from_static("x-amzn-request-context"),
        header_value("requestContext", request_context.as_bytes())?,
    );
    headers.insert(
        HeaderName::from_static("x-amzn-lambda-context"),
        header_value("(lambda context)", &lambda_context(inv, &cfg.env_config))?,
    );
    if let Some(trace) = inv.trace_id.as_deref() {
        headers.insert(
            HeaderName::from_static("x-amzn-trace-id"),
            header_value("Lambda-Runtime-Trace-Id", trace.as_bytes())?,
        );
    }
    if let Some(tenant) = inv.tenant_id.as_deref() {
        headers.insert(
            HeaderName::from_static("x-amz-tenant-id"),
            header_value("Lambda-Runtime-Aws-Tenant-Id", tenant.as_bytes())?,
        );
    }
    if let Some(source) = &cfg.authorization_source {
        authorization_from(headers, source);
    }
    Ok(())
}

/// Moves the first value of `source` to `authorization`, as upstream does.
fn authorization_from(headers: &mut HeaderMap, source: &HeaderName) {
    // `remove` drops every value of `source` and returns the first.
    match headers.remove(source) {
        Some(first) => {
            headers.insert(header::AUTHORIZATION, first);
        }
        None => log::warn!("{source:?} header not found in request headers"),
    }
}

/// `x-amzn-lambda-context`: snake_case keys in upstream's order.
fn lambda_context(inv: &Invocation, env_config: &str) -> Vec<u8> {
    // Sized for the whole object: a reallocation here was one more
    // allocation of its own size class per invocation.
    let opt = |s: Option<&str>| s.map_or(4, str::len);
    let mut out = Vec::with_capacity(
        192 + inv.id.len()
            + inv.function_arn.len()
            + opt(inv.trace_id.as_deref())
            + opt(inv.client_context.as_deref())
            + opt(inv.identity.as_deref())
            + opt(inv.tenant_id.as_deref())
            + env_config.len(),
    );
    out.extend_from_slice(b"{\"request_id\":");
    push_str(&mut out, &inv.id);
    out.extend_from_slice(b",\"deadline\":");
    push_decimal(&mut out, inv.deadline_ms.unwrap_or(0));
    out.extend_from_slice(b",\"invoked_function_arn\":");
    push_str(&mut out, &inv.function_arn);
    out.extend_from_slice(b",\"xray_trace_id\":");
    push_opt_str(&mut out, inv.trace_id.as_deref());
    out.extend_from_slice(b",\"client_context\":");
    out.extend_from_slice(json_header(inv.client_context.as_deref()).as_bytes());
    out.extend_from_slice(b",\"identity\":");
    out.extend_from_slice(json_header(inv.identity.as_deref()).as_bytes());
    out.extend_from_slice(b",\"tenant_id\":");
    push_opt_str(&mut out, inv.tenant_id.as_deref());
    out.extend_from_slice(b",\"env_config\":");
    out.extend_from_slice(env_config.as_bytes());
    out.push(b'}');
    out
}

/// A Runtime API header that should hold JSON: kept verbatim when it does,
/// decoded first when it is base64 of JSON (as local emulators send the
/// client context), otherwise `null`.
fn json_header(value: Option<&str>) -> Cow<'_, str> {
    let Some(value) = value else {
        return Cow::Borrowed("null");
    };
    if is_json(value) {
        return compact_json(value);
    }
    let decoded = body::decode_base64(value.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded {
        Some(text) if is_json(&text) => Cow::Owned(compact_json(&text).into_owned()),
        _ => Cow::Borrowed("null"),
    }
}

/// Whether `text` is one valid JSON value.
pub fn is_json(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// Valid JSON text without insignificant whitespace, and with DEL escaped, so
/// that it is a valid header value with the event's content and key order
/// unchanged (decisions.md #13; DEL: upstream #732).
pub fn compact_json(raw: &str) -> Cow<'_, str> {
    let needs_work = raw.bytes().any(|b| b.is_ascii_whitespace() || b == 0x7f);
    if !needs_work {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            if c == '\u{7f}' {
                out.push_str("\\u007f");
                continue;
            }
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c.is_ascii_whitespace() {
            continue;
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

fn header_value(field: &str, value: &[u8]) -> Result<HeaderValue, Error> {
    HeaderValue::from_bytes(value).map_err(|_| Error::event(field, "contains a control character"))
}

/// Appends one event header, naming it in the error when it is invalid.
fn append_header(
    headers: &mut HeaderMap,
    field: &str,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    let header_name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::event(format!("{field}.{name}"), "not a valid header name"))?;
    let value = HeaderValue::from_str(value).map_err(|_| {
        Error::event(
            format!("{field}.{name}"),
            "contains a control character (CR, LF, NUL...)",
        )
    })?;
    headers.append(header_name, value);
    Ok(())
}

/// `headers` (single values) and `multiValueHeaders` merged so that every
/// value survives (decisions.md #16): a name in `multiValueHeaders` takes its
/// values from there, a name only in `headers` from `headers`.
fn merge_headers(single: Option<&RawValue>, multi: Option<&RawValue>) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    let multi: Entries<Option<Vec<Str>>> = parse_field("multiValueHeaders", multi)?;
    for (name, values) in &multi.0 {
        for v in values.iter().flatten() {
            append_header(&mut headers, "multiValueHeaders", name, v)?;
        }
    }
    let single: Entries<Option<Str>> = parse_field("headers", single)?;
    for (name, value) in &single.0 {
        let seen = multi
            .0
            .iter()
            .any(|(n, vs)| vs.is_some() && n.eq_ignore_ascii_case(name));
        if let (false, Some(v)) = (seen, value) {
            append_header(&mut headers, "headers", name, v)?;
        }
    }
    Ok(headers)
}

/// Parses a raw field, naming it in the error; absent or `null` is the default.
pub fn parse_field<'a, T: Deserialize<'a> + Default>(
    field: &str,
    raw: Option<&'a RawValue>,
) -> Result<T, Error> {
    match raw {
        None => Ok(T::default()),
        Some(raw) => {
            serde_json::from_str(raw.get()).map_err(|e| Error::event(field, e.to_string()))
        }
    }
}

/// A required string field.
fn required_str<'a>(field: &str, raw: Option<&'a RawValue>) -> Result<Str<'a>, Error> {
    let value: Option<Str> = parse_field(field, raw)?;
    value.ok_or_else(|| Error::event(field, "missing"))
}

/// A path field; absent, `null` or empty means `/`.
fn optional_path<'a>(field: &str, raw: Option<&'a RawValue>) -> Result<Cow<'a, str>, Error> {
    let path: Option<Str> = parse_field(field, raw)?;
    Ok(path
        .map(|p| p.0)
        .filter(|p| !p.is_empty())
        .unwrap_or(Cow::Borrowed("/")))
}

/// A query rebuilt form-encoded from REST or ALB parameters, in event order:
/// the multi-value map when it has entries, else the single-value one. ALB
/// values arrive still encoded (`decode`), API Gateway's decoded.
fn form_query(
    single: Option<&RawValue>,
    multi: Option<&RawValue>,
    decode: bool,
) -> Result<String, Error> {
    let mut out = String::new();
    let mut push = |name: &str, value: &str| {
        if decode {
            uri::push_form_pair(&mut out, &uri::form_decode(name), &uri::form_decode(value));
        } else {
            uri::push_form_pair(&mut out, name.as_bytes(), value.as_bytes());
        }
    };
    let multi: Entries<Option<Vec<Str>>> = parse_field("multiValueQueryStringParameters", multi)?;
    if multi.0.iter().any(|(_, v)| v.is_some()) {
        for (name, values) in &multi.0 {
            for v in values.iter().flatten() {
                push(name, v);
            }
        }
    } else {
        let single: Entries<Option<Str>> = parse_field("queryStringParameters", single)?;
        for (name, value) in &single.0 {
            if let Some(v) = value {
                push(name, v);
            }
        }
    }
    Ok(out)
}

fn method(field: &str, raw: Option<&RawValue>) -> Result<Method, Error> {
    let name = required_str(field, raw)?;
    let method = Method::from_bytes(name.as_bytes())
        .map_err(|_| Error::event(field, format!("{:?} is not an HTTP method", &*name)))?;
    if method == Method::CONNECT {
        // Its request target is host:port, not a path: there is no request to forward.
        return Err(Error::event(
            field,
            "CONNECT opens a tunnel and cannot be forwarded to the app",
        ));
    }
    Ok(method)
}

/// A JSON string, borrowed from the payload when it has no escapes.
#[derive(Debug, Default, PartialEq)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The first element of a JSON array, the others skipped unparsed.
pub struct First<T>(pub Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Vis<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(Vis(std::marker::PhantomData))
    }
}

/// A JSON object's members with their values still raw: every object the
/// adapter picks keys from is read this way, through one deserialiser.
pub type Members<'a> = Entries<'a, &'a RawValue>;

impl<'a> Members<'a> {
    /// The raw value of `key`; `None` when it is absent or `null`, an error
    /// when it is given twice.
    pub fn get(&self, key: &str) -> Result<Option<&'a RawValue>, String> {
        let mut values = self.0.iter().filter(|(k, _)| **k == *key);
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(format!("duplicate field `{key}`")),
            (Some((_, v)), None) if v.get() != "null" => Ok(Some(*v)),
            _ => Ok(None),
        }
    }
}

/// A JSON object's entries in document order, duplicates kept (serde_json's
/// own map sorts keys, which would make query order depend on names).
///
/// Its vector comes from, and goes back to, a per-thread pool (`Pooled`): a
/// worker decodes its events one after the other, so from the second
/// invocation on the objects of an event cost no allocation. Allocated and
/// freed together once per invocation, they made musl's allocator unmap
/// and map a page again for every invocation.
#[derive(Debug)]
pub struct Entries<'a, V: Pooled>(pub Vec<(Str<'a>, V)>);

impl<V: Pooled> Default for Entries<'_, V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<V: Pooled> Drop for Entries<'_, V> {
    fn drop(&mut self) {
        V::give(std::mem::take(&mut self.0));
    }
}

impl<'de: 'a, 'a, V: Deserialize<'de> + Pooled> Deserialize<'de> for Entries<'a, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de> + Pooled> Visitor<'de> for Vis<V> {
            type Value = Entries<'de, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Entries(V::take());
                while let Some(entry) = map.next_entry()? {
                    entries.0.push(entry);
                }
                Ok(entries)
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

/// The value types of `Entries`, each with its per-thread pool of emptied
/// vectors. The pool holds them with `'static` lifetimes (they are empty):
/// one is used for a shorter lifetime as it is (vectors are covariant), and
/// emptied back into the `'static` type by an in-place `collect`, which
/// keeps its memory.
pub trait Pooled: Sized {
    /// A vector for an object's entries, empty.
    fn take<'a>() -> Vec<(Str<'a>, Self)>;
    /// Gives `entries` back, emptied (their strings are dropped).
    fn give(entries: Vec<(Str<'_>, Self)>);
}

/// Spare vectors kept per type and thread, and the largest kept.
const POOL_SPARES: usize = 8;
const POOL_MAX_ENTRIES: usize = 64;

/// An event's objects (the event, its requestContext, its headers) mostly
/// have 9 to 16 members.
const FIRST_ENTRIES: usize = 16;

macro_rules! pooled {
    ($pool:ident, $value:ty, $static:ty) => {
        thread_local! {
            static $pool: std::cell::RefCell<Vec<Vec<(Str<'static>, $static)>>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        impl<'x> Pooled for $value {
            fn take<'a>() -> Vec<(Str<'a>, Self)> {
                $pool
                    .with(|pool| pool.borrow_mut().pop())
                    .unwrap_or_else(|| Vec::with_capacity(FIRST_ENTRIES))
            }
            fn give(entries: Vec<(Str<'_>, Self)>) {
                if entries.capacity() == 0 || entries.capacity() > POOL_MAX_ENTRIES {
                    return;
                }
                let empty: Vec<(Str<'static>, $static)> =
                    entries.into_iter().filter_map(|_| None).collect();
                $pool.with(|pool| {
                    let mut pool = pool.borrow_mut();
                    if pool.len() < POOL_SPARES {
                        pool.push(empty);
                    }
                });
            }
        }
    };
}

pooled!(RAW_ENTRIES, &'x RawValue, &'static RawValue);
pooled!(STR_ENTRIES, Option<Str<'x>>, Option<Str<'static>>);
pooled!(
    STRS_ENTRIES,
    Option<Vec<Str<'x>>>,
    Option<Vec<Str<'static>>>
);

pub use crate::json::push_str;

fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A header value as text: UTF-8 when it is, otherwise read as ISO-8859-1,
/// HTTP's historical charset, so that no byte is lost or replaced
/// (decisions.md #1: upstream exits on such values).
pub fn header_text(value: &HeaderValue) -> Cow<'_, str> {
    match std::str::from_utf8(value.as_bytes()) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(value.as_bytes().iter().map(|&b| char::from(b)).collect()),
    }
}

/// Writes `"statusCode":N,` for the response shapes.
fn push_status(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(b"{\"statusCode\":");
    push_decimal(out, status.into());
}

/// Response headers grouped by name, lower-case, in the app's order;
/// `transfer-encoding` describes the app's framing, not the content.
fn response_headers(
    headers: &HeaderMap,
) -> impl Iterator<Item = (&HeaderName, header::GetAll<'_, HeaderValue>)> {
    headers
        .keys()
        .filter(|n| *n != header::TRANSFER_ENCODING)
        .map(|n| (n, headers.get_all(n)))
}

/// What a single-value header map does with `Set-Cookie`, which cannot be joined.
#[derive(Clone, Copy, PartialEq)]
enum SetCookie {
    /// Left out: the shape has a `cookies` array.
    Omit,
    /// Only the first: the shape has nowhere else to put the rest.
    First,
}

/// `{"name":"v1, v2",...}`: repeated values joined (decisions.md #5).
fn push_joined_headers(out: &mut Vec<u8>, headers: &HeaderMap, set_cookie: SetCookie) {
    out.push(b'{');
    let mut first = true;
    for (name, values) in response_headers(headers) {
        let is_cookie = name == header::SET_COOKIE;
        if is_cookie && set_cookie == SetCookie::Omit {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        push_str(out, name.as_str());
        out.push(b':');
        let mut joined = String::new();
        for (i, v) in values
            .iter()
            .take(if is_cookie { 1 } else { usize::MAX })
            .enumerate()
        {
            if i > 0 {
                joined.push_str(", ");
            }
            joined.push_str(&header_text(v));
        }
        push_str(out, &joined);
    }
    out.push(b'}');
}

/// `{"name":["v1","v2"],...}` with every value.
fn push_multi_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    out.push(b'{');
    for (i, (name, values)) in response_headers(headers).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, name.as_str());
        out.push(b':');
        push_values(out, values);
    }
    out.push(b'}');
}

/// `["v1","v2"]`: every value of one header.
fn push_values<'h>(out: &mut Vec<u8>, values: impl IntoIterator<Item = &'h HeaderValue>) {
    out.push(b'[');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, &header_text(v));
    }
    out.push(b']');
}

#[cfg(test)]
mod tests;
