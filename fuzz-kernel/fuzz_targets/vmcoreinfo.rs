#![no_main]
//! VMCOREINFO note text: every key kind, then the lookups the kernel layer makes.
use crashlens::kernel::VmcoreInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vi = VmcoreInfo::parse(&text);
    let _ = vi.symbol("_stext");
    let _ = vi.offset("printk_ringbuffer.desc_ring");
    let _ = vi.size("printk_info");
    let _ = vi.length("mem_section");
    let _ = vi.number("phys_base");
});
