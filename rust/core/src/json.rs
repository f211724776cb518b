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

    /// Start a member and return the buffer to write its value into.
    pub fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        write_str(self.key(key), value);
        self
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    pub fn display(&mut self, key: &str, value: Option<&impl std::fmt::Display>) -> &mut Self {
        match value {
            Some(v) => self.str(key, &v.to_string()),
            None => self.null(key),
        }
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let out = self.key(key);
        write_int(out, value);
        self
    }

    pub fn opt_int(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    /// Milliseconds from microseconds, with microsecond precision kept as a fraction.
    pub fn opt_ms(&mut self, key: &str, micros: Option<i64>) -> &mut Self {
        match micros {
            Some(v) => {
                let out = self.key(key);
                out.extend_from_slice(format!("{}", v as f64 / 1000.0).as_bytes());
                self
            }
            None => self.null(key),
        }
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).extend_from_slice(b"null");
        self
    }

    pub fn ts(&mut self, key: &str, value: Micros) -> &mut Self {
        let out = self.key(key);
        out.push(b'"');
        time::write_iso(out, value);
        out.push(b'"');
        self
    }

    pub fn opt_ts(&mut self, key: &str, value: Option<Micros>) -> &mut Self {
        match value {
            Some(v) => self.ts(key, v),
            None => self.null(key),
        }
    }

    pub fn str_list<'s>(&mut self, key: &str, values: impl IntoIterator<Item = &'s str>) -> &mut Self {
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
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, s).expect("writing a string to a Vec cannot fail");
    }
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
