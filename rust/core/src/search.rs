//! The payload search: a case-insensitive substring of a task's args, kwargs, result or exception.
//!
//! Reading every payload at a million tasks takes seconds, so each task keeps a 256-bit signature:
//! one bit per hashed trigram (three lowercased bytes) of its payload values. A task can contain
//! the needle only if its signature holds every bit of the needle's, which rules out nearly all
//! tasks for a needle of a few characters; only the rest are read. A needle shorter than three
//! bytes has no trigram and reads every task. 256 bits rather than 128: a task's payload of ~40
//! trigrams sets ~15 % of them instead of ~27 %, so a needle with one trigram that tells tasks apart
//! lets half as many through, for 16 more bytes per task.

use crate::event::{decode, Decoded};

/// A set of hashed trigrams, one bit each.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Signature([u64; 4]);

impl Signature {
    /// Bits set by the trigrams of `bytes`, ASCII-lowercased.
    pub fn of(bytes: &[u8]) -> Signature {
        let mut signature = Signature::default();
        signature.add(bytes);
        signature
    }

    /// Also set the bits of the trigrams of `bytes`. Runs over every payload of every event
    /// ingested, so each byte is lowercased once and the bit set without a branch.
    pub fn add(&mut self, bytes: &[u8]) {
        let mut trigram = 0u32;
        for (i, &b) in bytes.iter().enumerate() {
            trigram = (trigram << 8 | u32::from(b.to_ascii_lowercase())) & 0x00FF_FFFF;
            if i >= 2 {
                // Fibonacci hashing: the top 8 bits of the product spread neighbouring trigrams over the 256 bits.
                let bit = trigram.wrapping_mul(0x9E37_79B1) >> 24;
                self.0[(bit >> 6) as usize] |= 1u64 << (bit & 63);
            }
        }
    }

    /// Whether every bit of `other` is set here.
    pub fn holds(&self, other: &Signature) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & b == *b)
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }
}

/// What a search looks for, prepared once per query.
pub struct Needle<'a> {
    text: &'a str,
    signature: Signature,
}

impl<'a> Needle<'a> {
    pub fn new(text: &'a str) -> Needle<'a> {
        Needle { text, signature: Signature::of(text.as_bytes()) }
    }

    /// Whether the signature rules anything out: a needle under three bytes has no trigram.
    pub fn selective(&self) -> bool {
        !self.signature.is_empty()
    }

    /// Whether a task with this signature may contain the needle (false: it certainly does not).
    pub fn may_match(&self, task_signature: &Signature) -> bool {
        task_signature.holds(&self.signature)
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

/// ASCII-case-insensitive substring test. Candidates are the places where both the needle's first
/// and last bytes match (either case), found 16 at a time (SSE2 on x86-64, a portable loop
/// elsewhere); only they are compared whole. Two bytes rule out far more places than one: a payload
/// search reads hundreds of thousands of events whose keys share letters with any needle.
pub fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    let (Some(&first), Some(&last)) = (n.first(), n.last()) else { return true };
    if hay.len() < n.len() {
        return false;
    }
    let (first, last, last_at) = (Folded::of(first), Folded::of(last), n.len() - 1);
    let starts = hay.len() - n.len() + 1;
    let found_at = |i: usize| hay[i..i + n.len()].eq_ignore_ascii_case(n);
    let mut at = 0;
    while at + 16 <= starts {
        let heads: &[u8; 16] = hay[at..at + 16].try_into().expect("16 bytes");
        let tails: &[u8; 16] = hay[at + last_at..at + last_at + 16].try_into().expect("16 bytes");
        let mut mask = pairs16(heads, tails, first, last);
        while mask != 0 {
            if found_at(at + mask.trailing_zeros() as usize) {
                return true;
            }
            mask &= mask - 1;
        }
        at += 16;
    }
    (at..starts).any(found_at)
}

/// Bit `j` set where `heads[j]` matches `first` and `tails[j]` matches `last`.
#[cfg(target_arch = "x86_64")]
fn pairs16(heads: &[u8; 16], tails: &[u8; 16], first: Folded, last: Folded) -> u32 {
    use std::arch::x86_64::{__m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    // SAFETY: SSE2 is part of x86-64, so these instructions exist on every CPU this can run on,
    // and each load reads exactly the 16 bytes its array borrows (unaligned loads are allowed).
    unsafe {
        let folded = |bytes: &[u8; 16], f: Folded| {
            #[allow(clippy::cast_ptr_alignment)] // an unaligned load
            let v = _mm_or_si128(_mm_loadu_si128(bytes.as_ptr().cast::<__m128i>()), _mm_set1_epi8(f.or as i8));
            _mm_cmpeq_epi8(v, _mm_set1_epi8(f.want as i8))
        };
        _mm_movemask_epi8(_mm_and_si128(folded(heads, first), folded(tails, last))) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn pairs16(heads: &[u8; 16], tails: &[u8; 16], first: Folded, last: Folded) -> u32 {
    pairs16_portable(heads, tails, first, last)
}

#[cfg(any(test, not(target_arch = "x86_64")))]
fn pairs16_portable(heads: &[u8; 16], tails: &[u8; 16], first: Folded, last: Folded) -> u32 {
    (0..16).fold(0, |mask, j| mask | u32::from(first.is(heads[j]) & last.is(tails[j])) << j)
}

/// A byte to compare in either ASCII case: for a letter, OR-ing 0x20 lowercases both cases and maps
/// no other byte onto it.
#[derive(Clone, Copy)]
struct Folded {
    or: u8,
    want: u8,
}

impl Folded {
    fn of(b: u8) -> Folded {
        if b.is_ascii_alphabetic() {
            Folded { or: 0x20, want: b.to_ascii_lowercase() }
        } else {
            Folded { or: 0, want: b }
        }
    }

    #[cfg(any(test, not(target_arch = "x86_64")))]
    fn is(self, b: u8) -> bool {
        b | self.or == self.want
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_sets_the_bit_of_each_lowercased_trigram() {
        let by_definition = |bytes: &[u8]| {
            let mut words = [0u64; 4];
            for w in bytes.windows(3) {
                let t = w.iter().fold(0u32, |t, b| t << 8 | u32::from(b.to_ascii_lowercase()));
                let bit = t.wrapping_mul(0x9E37_79B1) >> 24;
                words[(bit / 64) as usize] |= 1 << (bit % 64);
            }
            Signature(words)
        };
        let long: String = (0..3000u32).map(|i| char::from(b' ' + (i * 7 % 95) as u8)).collect();
        for text in ["", "ab", "abc", "Order-42 and ORDER-42", "é€𝄞 mixed \0 bytes", &long] {
            assert_eq!(Signature::of(text.as_bytes()), by_definition(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn the_sse2_pairs_match_the_portable_ones() {
        let heads: [u8; 16] = std::array::from_fn(|i| b"aAzZ@`09-_xX\0\xff\x80q"[i]);
        let tails: [u8; 16] = std::array::from_fn(|i| heads[15 - i]);
        for a in 0..=255u8 {
            for b in [b'a', b'Z', b'0', b'@', b'`', 0x80, 0xff] {
                let (first, last) = (Folded::of(a), Folded::of(b));
                assert_eq!(pairs16(&heads, &tails, first, last), pairs16_portable(&heads, &tails, first, last), "{a} {b}");
            }
        }
    }

    proptest::proptest! {
        /// Against the definition, on haystacks long enough for the 16-byte steps and their tail,
        /// over a small alphabet (both cases, and the bytes that differ from a letter by 0x20) so
        /// that matches and near-misses are frequent.
        #[test]
        fn contains_ci_is_a_case_insensitive_substring_test(
            hay in proptest::collection::vec(proptest::sample::select(b"aAbB@`[{-1".to_vec()), 0..80),
            needle in proptest::collection::vec(proptest::sample::select(b"aAbB@`[{-1".to_vec()), 1..6),
        ) {
            let needle = String::from_utf8(needle).unwrap();
            let expected = hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
            proptest::prop_assert_eq!(contains_ci(&hay, &needle), expected);
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
        let sig = Signature::of(hay);
        for needle in ["order-1234", "ORDER", "currency", "\"eur\"", "42", "r-1", "}]"] {
            assert!(Needle::new(needle).may_match(&sig), "{needle}");
        }
        assert!(!Needle::new("order-9999-zz").may_match(&Signature::of(b"[1, 2, 3]")));
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
