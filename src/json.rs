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

/// Writes `n` in decimal (without `fmt`, which costs several times more).
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_fmt_writes_them() {
        for n in [0, 7, 10, 99, 100, 65_535, 1_000_000, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}").into_bytes());
        }
    }
}
