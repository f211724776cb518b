//! The payload search: a case-insensitive substring of a task's args, kwargs, result or exception.
//!
//! Reading every payload at a million tasks takes seconds, so each task keeps a 128-bit signature:
//! one bit per hashed trigram (three lowercased bytes) of its payload values. A task can contain
//! the needle only if its signature holds every bit of the needle's, which rules out nearly all
//! tasks for a needle of a few characters; only the rest are read. A needle shorter than three
//! bytes has no trigram and reads every task.

use crate::event::{decode, Decoded};

/// Bits set by the trigrams of `bytes`, ASCII-lowercased. Runs over every payload of every event
/// ingested, so each byte is lowercased once and the bit set without a branch.
pub fn signature(bytes: &[u8]) -> u128 {
    let (mut low, mut high) = (0u64, 0u64);
    let mut trigram = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        trigram = (trigram << 8 | u32::from(b.to_ascii_lowercase())) & 0x00FF_FFFF;
        if i >= 2 {
            // Fibonacci hashing: the top 7 bits of the product spread neighbouring trigrams over the 128 bits.
            let bit = trigram.wrapping_mul(0x9E37_79B1) >> 25;
            let mask = 1u64 << (bit & 63);
            let in_high = u64::from(bit >> 6).wrapping_neg(); // all ones when bit ≥ 64
            low |= mask & !in_high;
            high |= mask & in_high;
        }
    }
    u128::from(high) << 64 | u128::from(low)
}

/// What a search looks for, prepared once per query.
pub struct Needle<'a> {
    text: &'a str,
    signature: u128,
}

impl<'a> Needle<'a> {
    pub fn new(text: &'a str) -> Needle<'a> {
        Needle { text, signature: signature(text.as_bytes()) }
    }

    /// Whether the signature rules anything out: a needle under three bytes has no trigram.
    pub fn selective(&self) -> bool {
        self.signature != 0
    }

    /// Whether a task with this signature may contain the needle (false: it certainly does not).
    pub fn may_match(&self, task_signature: u128) -> bool {
        task_signature & self.signature == self.signature
    }

    /// Whether the payload values of this raw event contain the needle.
    pub fn found_in(&self, raw: &[u8]) -> bool {
        // Most candidates fail a plain scan of the whole event, which is far cheaper than decoding it.
        if !contains_ci(raw, self.text) {
            return false;
        }
        match decode(raw) {
            Ok(Decoded::Task(ev)) => ev.payload.iter().flatten().any(|value| contains_ci(value.as_bytes(), self.text)),
            _ => false,
        }
    }
}

/// ASCII-case-insensitive substring test. Candidates are found by the needle's first byte (a
/// tight loop the compiler vectorises) and only then compared whole.
pub fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    let Some(&first) = n.first() else { return true };
    if hay.len() < n.len() {
        return false;
    }
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let last_start = hay.len() - n.len();
    let mut at = 0;
    while at <= last_start {
        let Some(p) = hay[at..=last_start].iter().position(|&b| b == lower || b == upper) else { return false };
        if hay[at + p..at + p + n.len()].eq_ignore_ascii_case(n) {
            return true;
        }
        at += p + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_sets_the_bit_of_each_lowercased_trigram() {
        let by_definition = |bytes: &[u8]| {
            bytes.windows(3).fold(0u128, |sig, w| {
                let t = w.iter().fold(0u32, |t, b| t << 8 | u32::from(b.to_ascii_lowercase()));
                sig | 1u128 << (t.wrapping_mul(0x9E37_79B1) >> 25)
            })
        };
        let long: String = (0..3000u32).map(|i| char::from(b' ' + (i * 7 % 95) as u8)).collect();
        for text in ["", "ab", "abc", "Order-42 and ORDER-42", "é€𝄞 mixed \0 bytes", &long] {
            assert_eq!(signature(text.as_bytes()), by_definition(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn case_insensitive_substring() {
        assert!(contains_ci(b"xx Order-12 yy", "order-12"));
        assert!(contains_ci(b"order", "ORDER"));
        assert!(!contains_ci(b"orde", "order"));
        assert!(!contains_ci(b"or-der", "order"));
        assert!(contains_ci(b"", ""));
    }

    #[test]
    fn a_contained_needle_always_passes_the_signature() {
        let hay = br#"[42, "Order-1234", {"currency": "EUR"}]"#;
        let sig = signature(hay);
        for needle in ["order-1234", "ORDER", "currency", "\"eur\"", "42", "r-1", "}]"] {
            assert!(Needle::new(needle).may_match(sig), "{needle}");
        }
        assert!(!Needle::new("order-9999-zz").may_match(signature(b"[1, 2, 3]")));
    }

    #[test]
    fn only_payload_values_are_searched() {
        let raw = br#"{"task_id":"t","name":"shop.refund","state":"SUCCESS","timestamp":1,"args":["order-7"],"kwargs":{},"result":"ok","exception":"ValueError: bad sku"}"#;
        assert!(Needle::new("ORDER-7").found_in(raw));
        assert!(Needle::new("bad sku").found_in(raw));
        assert!(!Needle::new("refund").found_in(raw), "the task name is not payload");
        assert!(!Needle::new("success").found_in(raw), "nor is the state");
    }
}
