//! The one JSON writing helper shared by the event shapes, the error bodies,
//! the configuration and the JSON log lines.

/// Writes `s` as a JSON string.
///
/// Text with nothing to escape (serde_json escapes `"`, `\\` and controls
/// only) is copied in one go: serde_json's escaper goes byte by byte, about
/// 25 instructions a byte at opt-level "z" (85% of the instructions of an
/// invocation answered with 100 KiB of text).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    serde_json::to_writer(&mut *out, s).expect("BUG: serialising a str into a Vec cannot fail");
}
