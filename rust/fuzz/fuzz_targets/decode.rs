//! Any bytes through the wire-event decoder: it returns an event or a skip reason, never panics,
//! never overflows its stack (deep nesting) and never allocates beyond the input's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stemtrace_core::event::decode;

fuzz_target!(|data: &[u8]| {
    let _ = decode(data);
});
