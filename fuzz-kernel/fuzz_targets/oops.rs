#![no_main]
//! Console / kernel-log text: every oops report in it, titles, frames, registers.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = crashlens::analysis::oops::console_text(&text);
    let all = crashlens::analysis::oops::parse_all(text);
    let _ = crashlens::analysis::oops::primary(&all);
});
