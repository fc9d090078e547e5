#![no_main]
//! The kernel log readers (lockless ring 5.10+, structured log_buf 3.5-5.9), driven from bytes:
//! the input is VMCOREINFO text, a NUL, then physical memory from address 0. With no page
//! tables in the VMCOREINFO, only kernel-image addresses (`__START_KERNEL_map + phys_base + x`)
//! translate, so the seeds place every structure there.
use crashlens::dump::{ContainerInfo, Dump, Notes, PhysMem};
use crashlens::error::MemError;
use crashlens::kernel::Kernel;
use libfuzzer_sys::fuzz_target;

struct Mem(Vec<u8>);

impl PhysMem for Mem {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let o = usize::try_from(paddr).map_err(|_| MemError::NoPhysical { paddr })?;
        let end = o.checked_add(buf.len()).ok_or(MemError::NoPhysical { paddr })?;
        let src = self.0.get(o..end).ok_or(MemError::NoPhysical { paddr })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn ranges(&self) -> Vec<(u64, u64)> {
        vec![(0, self.0.len() as u64)]
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    // The image is at most 64 KiB: a missing key makes the kernel layer fall back to kallsyms
    // and BTF, whose search over a 1 GiB default image would dominate every run.
    let text = String::from_utf8_lossy(&data[..split]).into_owned() + "\nNUMBER(KERNEL_IMAGE_SIZE)=65536\n";
    let mem = data.get(split + 1..).unwrap_or(&[]).to_vec();
    let notes = Notes { vmcoreinfo: Some(text), ..Default::default() };
    let dump = Dump { info: ContainerInfo::default(), mem: Box::new(Mem(mem)), notes, virt_ranges: vec![] };
    let k = Kernel::new(dump);
    if let Ok(recs) = crashlens::kernel::printk::read_log(&k) {
        // (The log text's oops parsing has its own target.)
        let _ = crashlens::render::log::render(&recs);
        assert!(recs.len() <= 1 << 20);
    }
});
