//! A validating scanner over the members of one JSON object: the ingest hot path.
//!
//! Decoding an event reads a handful of its ~20 members and only checks and steps over the rest
//! (arguments, results, tracebacks). Strings are most of the work, so they are searched 16 bytes
//! per step for the bytes that end or interrupt them (SSE2 on x86-64), and the caller dispatches on
//! each key itself rather than through serde's visitor machinery.
//!
//! The input is bytes, and UTF-8 is checked where it can be broken: outside strings the grammar
//! admits only ASCII, and a string holding a non-ASCII byte is checked whole. A separate pass over
//! every entry (`str::from_utf8`) cost ~300 instructions per event; events are almost all ASCII.
//!
//! Input that is not JSON (RFC 8259) is refused exactly where serde_json refuses it, because the
//! bytes of every kept entry are served back inside JSON answers; `event::tests` checks the two
//! agree on generated and mutated entries. Two differences, both towards accepting valid JSON:
//! nesting is not limited (serde_json refuses 128 levels inside the members decoding reads), and
//! decimal numbers are read with correct rounding (serde_json's default may differ in the last bit).

use std::borrow::Cow;

/// The input is not JSON, or not an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

type Result<T> = std::result::Result<T, Malformed>;

/// A member's value, read: strings and numbers as values, containers only checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    Container,
}

/// The members of one object, read in order: [`Members::next_key`], then one of
/// [`Members::text`], [`Members::value`], [`Members::raw`] or [`Members::skip`] for its value.
pub struct Members<'a> {
    bytes: &'a [u8],
    at: usize,
    first: bool,
}

impl<'a> Members<'a> {
    pub fn of(bytes: &'a [u8]) -> Result<Members<'a>> {
        let mut m = Members { bytes, at: 0, first: true };
        m.whitespace();
        m.expect(b'{')?;
        Ok(m)
    }

    /// The next member's key, or `None` after the object's end, once only whitespace is left.
    #[inline]
    pub fn next_key(&mut self) -> Result<Option<Cow<'a, str>>> {
        self.whitespace();
        if std::mem::take(&mut self.first) {
            if self.peek() == Some(b'}') {
                self.at += 1;
                return self.end();
            }
        } else {
            match self.bump() {
                Some(b',') => self.whitespace(),
                Some(b'}') => return self.end(),
                _ => return Err(Malformed),
            }
        }
        self.expect(b'"')?;
        let key = self.string()?;
        self.whitespace();
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// Whether the next member's key is `key`, written compactly (`,"key":`, or `"key":` first):
    /// if so, step past its colon. A guess checked in a few instructions before
    /// [`Members::next_key`] scans and returns whatever key is there; a miss moves nothing.
    #[inline(always)]
    #[allow(clippy::inline_always)] // once per member: see `skip_string`
    pub fn next_key_is(&mut self, key: &QuotedKey) -> bool {
        let bytes = self.bytes;
        if !self.first && bytes.get(self.at) != Some(&b',') {
            return false;
        }
        let from = self.at + usize::from(!self.first);
        let word = |at: usize| bytes.get(at..at + 16).map(|w| u128::from_le_bytes(w.try_into().expect("16 bytes")));
        let hit = if key.len <= 16 {
            word(from).is_some_and(|w| (w ^ key.head) & key.mask == 0)
        } else {
            word(from) == Some(key.head) && word(from + key.len - 16) == Some(key.tail)
        };
        if hit {
            self.at = from + key.len;
            self.first = false;
        }
        hit
    }

    #[inline]
    pub fn value(&mut self) -> Result<Value<'a>> {
        self.whitespace();
        Ok(match self.peek() {
            Some(b'"') => {
                self.at += 1;
                Value::Str(self.string()?)
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b'{' | b'[') => {
                self.skip()?;
                Value::Container
            }
            Some(b't') => self.literal(b"true", Value::Bool(true))?,
            Some(b'f') => self.literal(b"false", Value::Bool(false))?,
            Some(b'n') => self.literal(b"null", Value::Null)?,
            _ => return Err(Malformed),
        })
    }

    /// A string member's contents; a value of another kind is checked and reads as `None`.
    #[inline]
    pub fn text(&mut self) -> Result<Option<Cow<'a, str>>> {
        self.whitespace();
        match self.peek() {
            Some(b'"') => {
                self.at += 1;
                self.string().map(Some)
            }
            // Absent members are often written as null.
            Some(b'n') => self.literal(b"null", None),
            _ => self.value().map(|_| None),
        }
    }

    /// The value's JSON text, checked.
    #[inline]
    pub fn raw(&mut self) -> Result<&'a str> {
        self.whitespace();
        let start = self.at;
        self.skip()?;
        Ok(self.scanned(start, self.at))
    }

    /// Check the value and step over it. Containers are walked without recursion.
    pub fn skip(&mut self) -> Result<()> {
        let mut open = Nesting::default();
        loop {
            self.whitespace();
            match self.bump().ok_or(Malformed)? {
                b'"' => {
                    self.skip_string()?;
                }
                b'-' | b'0'..=b'9' => {
                    self.at -= 1;
                    self.number_end()?;
                }
                b't' => self.expect_rest(b"rue")?,
                b'f' => self.expect_rest(b"alse")?,
                b'n' => self.expect_rest(b"ull")?,
                b'[' => {
                    open.push(false);
                    self.whitespace();
                    if self.peek() != Some(b']') {
                        continue;
                    }
                    self.at += 1;
                    open.pop();
                }
                b'{' => {
                    open.push(true);
                    self.whitespace();
                    if self.peek() != Some(b'}') {
                        self.member_key()?;
                        continue;
                    }
                    self.at += 1;
                    open.pop();
                }
                _ => return Err(Malformed),
            }
            // After a value: close what ends here, then expect the next element or member.
            loop {
                let Some(object) = open.top() else { return Ok(()) };
                self.whitespace();
                match self.bump() {
                    Some(b',') => {
                        if object {
                            self.whitespace();
                            self.member_key()?;
                        }
                        break;
                    }
                    Some(b']') if !object => open.pop(),
                    Some(b'}') if object => open.pop(),
                    _ => return Err(Malformed),
                }
            }
        }
    }

    fn end(&mut self) -> Result<Option<Cow<'a, str>>> {
        self.whitespace();
        if self.at == self.bytes.len() {
            Ok(None)
        } else {
            Err(Malformed)
        }
    }

    /// Inside an object being skipped: a key and its colon.
    fn member_key(&mut self) -> Result<()> {
        self.expect(b'"')?;
        self.skip_string()?;
        self.whitespace();
        self.expect(b':')
    }

    /// Text the scan has stepped over, from and to ASCII bytes.
    fn scanned(&self, from: usize, to: usize) -> &'a str {
        let bytes = &self.bytes[from..to];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: every byte stepped over was checked: outside strings the grammar admits only
        // ASCII, and a string holding any other byte was checked as UTF-8 whole
        // (`skip_string_slowly`). `from` and `to` sit at ASCII bytes, so on character boundaries.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Result<()> {
        if self.bump() == Some(b) {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// A literal's remaining letters. Their number is a constant, so the check is one compare
    /// rather than a call to `memcmp`.
    #[inline]
    fn expect_rest<const N: usize>(&mut self, rest: &[u8; N]) -> Result<()> {
        if self.bytes.get(self.at..self.at + N) == Some(rest) {
            self.at += N;
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn literal<const N: usize, T>(&mut self, word: &[u8; N], value: T) -> Result<T> {
        self.expect_rest(word)?;
        Ok(value)
    }

    #[inline(always)]
    #[allow(clippy::inline_always)] // measured: see `skip_string`
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// After the opening quote: the string's contents, borrowed unless it holds escapes.
    #[inline(always)]
    #[allow(clippy::inline_always)] // measured: see `skip_string`
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let start = self.at;
        let escaped = self.skip_string()?;
        let inner = self.scanned(start, self.at - 1);
        if escaped {
            unescape(inner).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(inner))
        }
    }

    /// After the opening quote: step past the closing one; whether escapes were met. Most strings
    /// have none and end within a few 16-byte steps, so that path is kept small and inlined: as a
    /// call (with `string` and `whitespace`) it cost ~1.3k of the ~7.6k instructions decoding an
    /// event took (callgrind, bench/RESULTS-engine.md).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    fn skip_string(&mut self) -> Result<bool> {
        let bytes = self.bytes;
        let start = self.at;
        let mut at = self.at;
        loop {
            let (mask, len) = stops(&bytes[at..]);
            if mask != 0 {
                let stop = at + mask.trailing_zeros() as usize;
                if bytes[stop] == b'"' {
                    self.at = stop + 1;
                    return Ok(false);
                }
                self.at = stop;
                return self.skip_string_slowly(start);
            }
            if len < 16 {
                return Err(Malformed); // the input ends inside the string
            }
            at += 16;
        }
    }

    /// The rest of a string that began at `start`, from a backslash, a control character or a
    /// non-ASCII byte: step past its closing quote, check the string is UTF-8; whether it has escapes.
    #[cold]
    #[inline(never)]
    fn skip_string_slowly(&mut self, start: usize) -> Result<bool> {
        let mut escaped = false;
        loop {
            match self.bump().ok_or(Malformed)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    match self.bump() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        Some(b'u') => {
                            hex4(&self.bytes[self.at..]).ok_or(Malformed)?;
                            self.at += 4;
                        }
                        _ => return Err(Malformed),
                    }
                }
                0..0x20 => return Err(Malformed),
                _ => {}
            }
        }
        std::str::from_utf8(&self.bytes[start..self.at - 1]).map_err(|_| Malformed)?;
        Ok(escaped)
    }

    /// Step over a number, checking its form; whether it has a fraction or an exponent.
    fn number_end(&mut self) -> Result<bool> {
        let digits = |m: &mut Self| {
            let start = m.at;
            while let Some(b'0'..=b'9') = m.peek() {
                m.at += 1;
            }
            m.at - start
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            // A digit after a leading zero is refused by whatever reads the next byte.
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(Malformed),
        }
        let mut decimal = false;
        if self.peek() == Some(b'.') {
            self.at += 1;
            decimal = true;
            if digits(self) == 0 {
                return Err(Malformed);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            decimal = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(Malformed);
            }
        }
        Ok(decimal)
    }

    /// A number as serde_json gives it: `u64` when it is a non-negative integer that fits, `i64`
    /// when a negative one does (but `-0` is a float), else `f64`; out of `f64`'s range is refused.
    fn number(&mut self) -> Result<Value<'a>> {
        let start = self.at;
        let decimal = self.number_end()?;
        let span = self.scanned(start, self.at);
        if !decimal {
            let (negative, digits) = span.strip_prefix('-').map_or((false, span), |d| (true, d));
            if let Ok(n) = digits.parse::<u64>() {
                if !negative {
                    return Ok(Value::U64(n));
                }
                let neg = (n as i64).wrapping_neg();
                if neg < 0 {
                    return Ok(Value::I64(neg));
                }
            }
        }
        let v: f64 = span.parse().map_err(|_| Malformed)?;
        if v.is_finite() {
            Ok(Value::F64(v))
        } else {
            Err(Malformed)
        }
    }
}

/// A key as written compactly, quoted and followed by its colon (`"name":`), held as the 16-byte
/// words [`Members::next_key_is`] compares: the first (masked to the length), and for keys longer
/// than 16 bytes the last 16.
#[derive(Debug, Clone, Copy)]
pub struct QuotedKey {
    head: u128,
    tail: u128,
    mask: u128,
    len: usize,
}

impl QuotedKey {
    /// `key` holds 1 to 29 ASCII characters that JSON does not escape.
    pub const fn new(key: &str) -> QuotedKey {
        let key = key.as_bytes();
        let len = key.len() + 3;
        assert!(!key.is_empty() && len <= 32);
        let mut quoted = [0u8; 32];
        quoted[0] = b'"';
        let mut i = 0;
        while i < key.len() {
            assert!(key[i] >= 0x20 && key[i] < 0x80 && key[i] != b'"' && key[i] != b'\\');
            quoted[i + 1] = key[i];
            i += 1;
        }
        quoted[len - 2] = b'"';
        quoted[len - 1] = b':';
        let (head, tail) = (le_word(&quoted, 0), if len > 16 { le_word(&quoted, len - 16) } else { 0 });
        let mask = if len >= 16 { u128::MAX } else { (1 << (8 * len)) - 1 };
        QuotedKey { head: head & mask, tail, mask, len }
    }
}

/// Sixteen bytes from `from`, as a little-endian load reads them.
const fn le_word(bytes: &[u8; 32], from: usize) -> u128 {
    let mut w = 0u128;
    let mut i = 0;
    while i < 16 {
        w |= (bytes[from + i] as u128) << (8 * i);
        i += 1;
    }
    w
}

/// Which containers a skip is inside (`true` for an object): the first 128 levels in bits, any
/// deeper ones (never seen in real events, but valid JSON) on the heap.
#[derive(Default)]
struct Nesting {
    depth: usize,
    bits: u128,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 128 {
            self.bits = self.bits & !(1 << self.depth) | (u128::from(object) << self.depth);
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    fn pop(&mut self) {
        self.depth -= 1;
        if self.depth >= 128 {
            self.deeper.pop();
        }
    }

    /// Whether the innermost open container is an object; `None` when none is open.
    fn top(&self) -> Option<bool> {
        let d = self.depth.checked_sub(1)?;
        if d < 128 {
            Some(self.bits >> d & 1 == 1)
        } else {
            self.deeper.last().copied()
        }
    }
}

/// Bits set at each of the next (up to) 16 bytes that stop a string scan — `"`, `\`, a control
/// character or a non-ASCII byte — and how many bytes were looked at.
#[inline]
fn stops(rest: &[u8]) -> (u32, usize) {
    if let Some(chunk) = rest.first_chunk::<16>() {
        return (stops16(chunk), 16);
    }
    // The tail: padded with bytes that never stop a scan.
    let mut chunk = [b'a'; 16];
    chunk[..rest.len()].copy_from_slice(rest);
    (stops16(&chunk) & ((1 << rest.len()) - 1), rest.len())
}

#[cfg(target_arch = "x86_64")]
fn stops16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of x86-64, so these instructions exist on every CPU this can run on,
    // and the load reads exactly the 16 bytes `chunk` borrows (unaligned loads are allowed).
    unsafe {
        #[allow(clippy::cast_ptr_alignment)] // an unaligned load
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // A byte is below 0x20 exactly when max(byte, 0x1f) is 0x1f.
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        // movemask also gathers each byte's top bit: the non-ASCII bytes.
        (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) | _mm_movemask_epi8(v)) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn stops16(chunk: &[u8; 16]) -> u32 {
    stops16_portable(chunk)
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn stops16_portable(chunk: &[u8; 16]) -> u32 {
    chunk.iter().enumerate().fold(0, |mask, (i, &b)| mask | u32::from(b == b'"' || b == b'\\' || !(0x20..0x80).contains(&b)) << i)
}

fn hex4(b: &[u8]) -> Option<u16> {
    let digits = b.get(..4)?;
    digits.iter().try_fold(0u16, |n, &d| Some(n << 4 | (d as char).to_digit(16)? as u16))
}

/// A string's contents with escapes resolved; a lone UTF-16 surrogate is refused, as serde_json
/// refuses it in the strings it reads.
fn unescape(inner: &str) -> Result<String> {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let b = rest.as_bytes();
        let (c, used) = match b[i + 1] {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            _ => {
                // `\u` with four hex digits: checked by the scan.
                let high = hex4(&b[i + 2..]).ok_or(Malformed)?;
                match high {
                    0xD800..=0xDBFF => {
                        let low = b.get(i + 6..i + 8).filter(|p| *p == b"\\u").and_then(|_| hex4(&b[i + 8..]));
                        let low = low.filter(|l| (0xDC00..=0xDFFF).contains(l)).ok_or(Malformed)?;
                        let code = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        (char::from_u32(code).ok_or(Malformed)?, 12)
                    }
                    _ => (char::from_u32(u32::from(high)).ok_or(Malformed)?, 6),
                }
            }
        };
        out.push(c);
        rest = &rest[i + used..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(text: &str) -> Result<Vec<(String, Value<'_>)>> {
        let mut m = Members::of(text.as_bytes())?;
        let mut out = Vec::new();
        while let Some(key) = m.next_key()? {
            out.push((key.into_owned(), m.value()?));
        }
        Ok(out)
    }

    #[test]
    fn reads_members_and_values() {
        let got = members(r#" { "a" : "x\u00e9\n" , "b":-3,"c":0.5,"d":[1,{"e":[]}],"f":true,"g":null,"h":18446744073709551616 } "#)
            .unwrap();
        let want = vec![
            ("a".into(), Value::Str("xé\n".into())),
            ("b".into(), Value::I64(-3)),
            ("c".into(), Value::F64(0.5)),
            ("d".into(), Value::Container),
            ("f".into(), Value::Bool(true)),
            ("g".into(), Value::Null),
            ("h".into(), Value::F64(18_446_744_073_709_551_616.0)),
        ];
        assert_eq!(got, want);
        assert_eq!(members("{}").unwrap(), vec![]);
        assert_eq!(members(r#"{"-0":-0}"#).unwrap()[0].1, Value::F64(-0.0));
        assert_eq!(members(r#"{"k":"\ud83d\ude00"}"#).unwrap()[0].1, Value::Str("😀".into()));
    }

    #[test]
    fn raw_values_are_the_exact_text() {
        let mut m = Members::of(br#"{"args": [1, "a\"b", {"x": [] }] ,"z":1}"#).unwrap();
        assert_eq!(m.next_key().unwrap().as_deref(), Some("args"));
        assert_eq!(m.raw().unwrap(), r#"[1, "a\"b", {"x": [] }]"#);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":{"b"}}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":"\ud800"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":tru}"#,
            r#"{"a":1} x"#,
            r#"{"a" 1}"#,
            r#"{"a":[}"#,
            r#"{"a":{]}"#,
            r#"{"a":{"b":1]}"#,
            r#"{"a":[1}}"#,
            r#"{"a":[01]}"#,
            r#"{"a":-01}"#,
        ] {
            assert_eq!(members(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_walked_without_recursion() {
        let deep = format!(r#"{{"a":{}1{}}}"#, "[{\"b\":".repeat(10_000), "}]".repeat(10_000));
        assert_eq!(members(&deep).unwrap()[0].1, Value::Container);
        let unbalanced = format!(r#"{{"a":{}{}}}"#, "[".repeat(200), "]".repeat(199));
        assert_eq!(members(&unbalanced), Err(Malformed));
    }

    #[test]
    fn the_sse2_stops_match_the_portable_ones() {
        for b in 0..=255u8 {
            for at in [0, 7, 15] {
                let mut chunk = [b'x'; 16];
                chunk[at] = b;
                assert_eq!(stops16(&chunk), stops16_portable(&chunk), "byte {b} at {at}");
            }
        }
    }
}
