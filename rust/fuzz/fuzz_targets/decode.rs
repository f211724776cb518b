//! Any bytes through the wire-event decoder: it returns an event or a skip reason, never panics,
//! never overflows its stack (deep nesting) and never allocates beyond the input's size. It also
//! accepts exactly what it must: nothing that is not JSON (kept entries are served back inside JSON
//! answers), and every object serde_json reads whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use stemtrace_core::event::{decode, SkipReason};

fuzz_target!(|data: &[u8]| {
    let decoded = decode(data);
    if decoded != Err(SkipReason::Malformed) {
        assert!(std::str::from_utf8(data).is_ok() && serde_json::from_slice::<&RawValue>(data).is_ok());
    }
    if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice(data) {
        assert_ne!(decoded, Err(SkipReason::Malformed));
    }
});
