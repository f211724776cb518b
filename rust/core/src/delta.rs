//! An event kept as the bytes it shares with an earlier event of its task, and the bytes it does not.
//!
//! A task's events repeat most of each other: ids, name, queue, worker, often the arguments. Kept
//! whole, they were ~70 % of the engine's memory at a million tasks, and the first touch of that
//! memory much of ingest's time (bench/RESULTS-engine.md, session 13). A later event is kept as
//! operations instead: copy a run of bytes from the task's first event, or take literal bytes.
//!
//! Encoding is a heuristic over JSON members: matching runs are followed as far as they go, and after
//! a difference it goes on at the next member (`,"`), looked for by its first bytes in the base.
//! Whatever it finds, the operations rebuild the event exactly; only their size depends on it.
//!
//! Operations: a LEB128 header `length << 1 | kind`; kind 0 is followed by `length` literal bytes,
//! kind 1 by a LEB128 offset in the log's buffer to copy `length` bytes from.

/// A run shorter than this is taken as literal bytes: a copy costs its header and an offset.
const MIN_COPY: usize = 8;
/// How many of a member's first bytes (`,"key"` and a little more) find it in the base.
const ANCHOR: usize = 8;

/// Append to `out` the operations that rebuild `raw` from `base`, which sits at `base_at` in the
/// buffer the operations will read.
pub fn encode(base: &[u8], base_at: usize, raw: &[u8], out: &mut Vec<u8>) {
    let (mut at, mut literal, mut cursor) = (0, 0, 0);
    // Bytes of the base searched for members, in proportion to the event's own size: a small event
    // against a first one of megabytes (large arguments) must not cost a pass over them per member.
    let mut budget = 4 * raw.len() + 1024;
    while at < raw.len() {
        let same = common_prefix(&raw[at..], &base[cursor..]);
        if same >= MIN_COPY {
            put_literal(out, &raw[literal..at]);
            put(out, same << 1 | 1);
            put(out, base_at + cursor);
            at += same;
            cursor += same;
            literal = at;
            continue;
        }
        let next = next_member(raw, at + 1);
        if let Some(anchor) = raw.get(next..next + ANCHOR) {
            // Most often the member differed in a value of the same length (a state, a time), so the
            // next one is as far on in the base.
            let ahead = cursor + (next - at);
            if base.get(ahead..ahead + ANCHOR) == Some(anchor) {
                cursor = ahead;
            } else if !base[cursor..].starts_with(anchor) {
                cursor = find_member(base, cursor, anchor, &mut budget).unwrap_or(cursor);
            }
        }
        at = next;
    }
    put_literal(out, &raw[literal..]);
}

/// The bytes the operations `ops` rebuild, run by run, reading copies from `buffer`; `None` when
/// they are malformed (ends the runs).
fn runs<'a>(buffer: &'a [u8], ops: &'a [u8]) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
    let mut ops = ops;
    std::iter::from_fn(move || {
        if ops.is_empty() {
            return None;
        }
        let run = take(&mut ops).and_then(|header| {
            let len = header >> 1;
            if header & 1 == 0 {
                let (literal, rest) = ops.split_at_checked(len)?;
                ops = rest;
                Some(literal)
            } else {
                let from = take(&mut ops)?;
                buffer.get(from..from.checked_add(len)?)
            }
        });
        if run.is_none() {
            ops = &[];
        }
        Some(run)
    })
}

/// Rebuild the event of operations `ops` into `out`; false when they are malformed.
pub fn decode(buffer: &[u8], ops: &[u8], out: &mut Vec<u8>) -> bool {
    runs(buffer, ops).all(|run| run.inspect(|run| out.extend_from_slice(run)).is_some())
}

/// Whether the operations `ops` rebuild exactly `raw`, without rebuilding it.
pub fn rebuilds(buffer: &[u8], ops: &[u8], raw: &[u8]) -> bool {
    let mut rest = raw;
    runs(buffer, ops).all(|run| {
        run.and_then(|run| rest.strip_prefix(run)).inspect(|after| rest = after).is_some()
    }) && rest.is_empty()
}

/// How many first bytes `a` and `b` share: 32 at a time while they match, then 8 at a time (by
/// chunks, ~190 instructions fewer per event than by indexed slices).
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 32 * a[..n].chunks_exact(32).zip(b[..n].chunks_exact(32)).take_while(|(x, y)| x == y).count();
    while i + 8 <= n {
        let word = |s: &[u8]| u64::from_le_bytes(*s[i..].first_chunk().expect("8 bytes"));
        let diff = word(a) ^ word(b);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..n].iter().zip(&b[i..n]).take_while(|(x, y)| x == y).count()
}

/// Where the next member starts (its `,"`) at or after `from`; the end when there is none. Commas
/// are found eight bytes at a time: the next one is usually a few words away, nearer than a call
/// to `memchr` pays off.
fn next_member(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const COMMAS: u64 = ONES * b',' as u64;
    let is_member = |at: usize| bytes.get(at + 1) == Some(&b'"');
    let mut at = from;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*word) ^ COMMAS;
        // The top bit of each byte that was a comma (and maybe of some after one: checked).
        let mut commas = x.wrapping_sub(ONES) & !x & (ONES << 7);
        while commas != 0 {
            let comma = at + (commas.trailing_zeros() / 8) as usize;
            if bytes[comma] == b',' && is_member(comma) {
                return comma;
            }
            commas &= commas - 1;
        }
        at += 8;
    }
    (at..bytes.len()).find(|&i| bytes[i] == b',' && is_member(i)).unwrap_or(bytes.len())
}

/// A member of `base` starting with `anchor`: the first after `cursor`, else the first before it,
/// searching no more than `budget` bytes.
fn find_member(base: &[u8], cursor: usize, anchor: &[u8], budget: &mut usize) -> Option<usize> {
    for (from, end) in [(cursor + 1, base.len()), (0, cursor)] {
        let mut at = from;
        while at < end && *budget > 0 {
            let limit = end.min(at.saturating_add(*budget));
            let next = next_member(&base[..limit], at);
            *budget = budget.saturating_sub(next - at + 1);
            if next < limit && base[next..].starts_with(anchor) {
                return Some(next);
            }
            at = next + 1;
        }
    }
    None
}

fn put_literal(out: &mut Vec<u8>, literal: &[u8]) {
    if !literal.is_empty() {
        put(out, literal.len() << 1);
        out.extend_from_slice(literal);
    }
}

/// Append `v` in LEB128.
fn put(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read a LEB128 number off the front of `ops`.
fn take(ops: &mut &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for shift in (0..usize::BITS).step_by(7) {
        let (&byte, rest) = ops.split_first()?;
        *ops = rest;
        v |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(base: &[u8], raw: &[u8]) -> Vec<u8> {
        // The base sits after other bytes in the buffer, as a task's first event may.
        let mut buffer = b"xyz".to_vec();
        buffer.extend_from_slice(base);
        let mut ops = Vec::new();
        encode(base, 3, raw, &mut ops);
        let mut out = Vec::new();
        assert!(decode(&buffer, &ops, &mut out));
        assert_eq!(out, raw);
        assert!(rebuilds(&buffer, &ops, raw));
        ops
    }

    const PENDING: &[u8] = br#"{"task_id":"3186e993-52bc-473d-af60-6b522e917db6","name":"examples.celery_app.add","state":"PENDING","timestamp":"2026-11-25T10:49:58.261834Z","retries":0,"trace_id":"3186e993-52bc-473d-af60-6b522e917db6","parent_id":null,"root_id":"3186e993-52bc-473d-af60-6b522e917db6","queue":"q","routing_key":"q","args":[1,2],"kwargs":{}}"#;

    #[test]
    fn a_later_event_of_a_task_keeps_a_fraction_of_its_bytes() {
        let started = br#"{"task_id":"3186e993-52bc-473d-af60-6b522e917db6","name":"examples.celery_app.add","state":"STARTED","timestamp":"2026-11-25T10:49:58.265378Z","retries":0,"trace_id":"3186e993-52bc-473d-af60-6b522e917db6","parent_id":null,"root_id":"3186e993-52bc-473d-af60-6b522e917db6","queue":"q","routing_key":"q","hostname":"w-f1e9ea47@vm","pid":4753,"args":[1,2],"kwargs":{}}"#;
        let ops = round_trip(PENDING, started);
        // The state and time, the worker and pid are new; the rest is copied.
        assert!(ops.len() < 80, "{} bytes of operations for {}", ops.len(), started.len());
        let success = br#"{"task_id":"3186e993-52bc-473d-af60-6b522e917db6","name":"examples.celery_app.add","state":"SUCCESS","timestamp":"2026-11-25T10:49:58.284548Z","retries":0,"trace_id":"3186e993-52bc-473d-af60-6b522e917db6","parent_id":null,"root_id":"3186e993-52bc-473d-af60-6b522e917db6","queue":"q","routing_key":"q","hostname":"w-f1e9ea47@vm","pid":4753,"result":3}"#;
        assert!(round_trip(PENDING, success).len() < 80);
    }

    #[test]
    fn members_in_another_order_are_still_copied() {
        let reordered = br#"{"kwargs":{},"args":[1,2],"root_id":"3186e993-52bc-473d-af60-6b522e917db6","task_id":"3186e993-52bc-473d-af60-6b522e917db6","name":"examples.celery_app.add","state":"PENDING","timestamp":"2026-11-25T10:49:58.261834Z","retries":0,"trace_id":"3186e993-52bc-473d-af60-6b522e917db6","parent_id":null,"queue":"q","routing_key":"q"}"#;
        assert!(round_trip(PENDING, reordered).len() < reordered.len() / 2);
    }

    #[test]
    fn unrelated_and_empty_bytes_round_trip() {
        round_trip(PENDING, b"");
        round_trip(b"", PENDING);
        round_trip(PENDING, "{\"é\":\"\u{1F600}\",\"a\":[\",\\\"\"]}".as_bytes());
        // Every position a comma and quote: the search for members stays within its budget.
        let hostile: Vec<u8> = b",\"".repeat(20_000);
        round_trip(&hostile, &b",\"a".repeat(10_000));
        // A first event of megabytes (its arguments) and a small later one without them.
        let large = [&PENDING[..PENDING.len() - 1], b",\"blob\":\"", &b"x".repeat(4 << 20), b"\",\"pid\":1}"].concat();
        round_trip(&large, br#"{"task_id":"3186e993-52bc-473d-af60-6b522e917db6","state":"SUCCESS","pid":1,"result":3}"#);
    }

    #[test]
    fn malformed_operations_are_refused_not_followed() {
        let buffer = PENDING;
        let mut out = Vec::new();
        // A copy past the buffer's end, a literal longer than what follows, a header never ending.
        for ops in [&[0x03, 0xff, 0x7f][..], &[0x10, b'a'], &[0x80, 0x80]] {
            assert!(!decode(buffer, ops, &mut out));
            assert!(!rebuilds(buffer, ops, b"a"));
        }
        assert!(!rebuilds(buffer, &[0x02, b'a'], b"ab"), "a prefix is not the event");
    }

    proptest! {
        #[test]
        fn any_event_round_trips_against_any_base(base in proptest::collection::vec(any::<u8>(), 0..300), raw in proptest::collection::vec(any::<u8>(), 0..300)) {
            round_trip(&base, &raw);
        }

        #[test]
        fn edited_events_round_trip(edits in proptest::collection::vec((0..PENDING.len(), 0..20usize, "[a-z,\"]{0,12}"), 0..6)) {
            let mut raw = PENDING.to_vec();
            for (at, cut, insert) in edits {
                let at = at.min(raw.len());
                let cut = cut.min(raw.len() - at);
                raw.splice(at..at + cut, insert.bytes());
            }
            round_trip(PENDING, &raw);
        }
    }
}
