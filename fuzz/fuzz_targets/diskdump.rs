#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = crashlens::dump::split::open(common::source(data)) {
        common::exercise(&d);
    }
});
