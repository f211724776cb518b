//! A small JSON writer: responses are written straight into bytes, with no value tree in between.

use crate::time::{self, Micros};

/// Writes one JSON object's members, handling the commas.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Start a member and return the buffer to write its value into. Keys are names in our code
    /// (hence `'static`) that never need escaping, so they are copied without a check.
    pub fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(key.as_bytes()), "{key}");
        self.out.reserve(key.len() + 4);
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        write_str(self.key(key), value);
        self
    }

    pub fn opt_str(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    pub fn display(&mut self, key: &'static str, value: Option<&impl std::fmt::Display>) -> &mut Self {
        match value {
            Some(v) => self.str(key, &v.to_string()),
            None => self.null(key),
        }
    }

    pub fn int(&mut self, key: &'static str, value: i64) -> &mut Self {
        let out = self.key(key);
        write_int(out, value);
        self
    }

    pub fn opt_int(&mut self, key: &'static str, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    /// Milliseconds from microseconds, with microsecond precision kept as a fraction.
    pub fn opt_ms(&mut self, key: &'static str, micros: Option<i64>) -> &mut Self {
        match micros {
            Some(v) => {
                let out = self.key(key);
                out.extend_from_slice(format!("{}", v as f64 / 1000.0).as_bytes());
                self
            }
            None => self.null(key),
        }
    }

    pub fn bool(&mut self, key: &'static str, value: bool) -> &mut Self {
        self.key(key).extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    pub fn null(&mut self, key: &'static str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self
    }

    pub fn ts(&mut self, key: &'static str, value: Micros) -> &mut Self {
        let out = self.key(key);
        out.push(b'"');
        time::write_iso(out, value);
        out.push(b'"');
        self
    }

    pub fn opt_ts(&mut self, key: &'static str, value: Option<Micros>) -> &mut Self {
        match value {
            Some(v) => self.ts(key, v),
            None => self.null(key),
        }
    }

    pub fn str_list<'s>(&mut self, key: &'static str, values: impl IntoIterator<Item = &'s str>) -> &mut Self {
        let out = self.key(key);
        out.push(b'[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, v);
        }
        out.push(b']');
        self
    }

    pub fn finish(&mut self) {
        self.out.push(b'}');
    }
}

/// Write `items` as a JSON array, each written by `each`.
pub fn array<T>(out: &mut Vec<u8>, items: impl IntoIterator<Item = T>, mut each: impl FnMut(&mut Vec<u8>, T)) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
    out.push(b']');
}

pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Ids, names and timestamps almost never need escaping: copy them in one go.
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(out, s).expect("writing a string to a Vec cannot fail");
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Whether any byte is a control character, `"` or `\\`. Eight bytes per step (SWAR): this check
/// runs over every string of every response and live update.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is below `n` (n ≤ 128) exactly when its high bit is set here, for bytes < 128.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if below(x, 0x20) | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// An integer in decimal, without the allocation of `to_string`.
pub fn write_int(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; 20];
    let mut n = value.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_byte_that_needs_escaping_at_every_position() {
        for len in 0..20 {
            assert!(!needs_escape(&vec![b'a'; len]));
            assert!(!needs_escape("é€𝄞 ~\x7f".repeat(len).as_bytes()), "non-ASCII and DEL need no escape");
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    let mut s = vec![b'a'; len];
                    s[at] = bad;
                    assert!(needs_escape(&s), "{bad:#x} at {at} of {len}");
                }
                let mut fine = vec![b'a'; len];
                fine[at] = 0x20;
                assert!(!needs_escape(&fine));
            }
        }
    }

    #[test]
    fn writes_objects_and_escapes() {
        let mut out = Vec::new();
        Obj::new(&mut out).str("a", "x\"<y>\n").opt_str("b", None).int("c", 3).str_list("d", ["p", "q"]).finish();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["a"], "x\"<y>\n");
        for n in [0, 7, -12, i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            write_int(&mut buf, n);
            assert_eq!(buf, n.to_string().into_bytes());
        }
        assert!(v["b"].is_null());
        assert_eq!(v["d"][1], "q");
    }
}
