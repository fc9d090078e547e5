//! Inputs the fuzz targets (fuzz-kernel/) found crashes with, replayed the way the targets run
//! them: each must now give a clean result or error.

use crashlens::dump::{ContainerInfo, Dump, Notes, PhysMem};
use crashlens::error::MemError;
use crashlens::kernel::Kernel;
use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz-kernel/regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

struct Mem(Vec<u8>);

impl PhysMem for Mem {
    fn read_phys(&self, paddr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let o = usize::try_from(paddr).map_err(|_| MemError::NoPhysical { paddr })?;
        let end = o
            .checked_add(buf.len())
            .ok_or(MemError::NoPhysical { paddr })?;
        buf.copy_from_slice(self.0.get(o..end).ok_or(MemError::NoPhysical { paddr })?);
        Ok(())
    }
    fn ranges(&self) -> Vec<(u64, u64)> {
        vec![(0, self.0.len() as u64)]
    }
}

/// As fuzz_targets/printk.rs: VMCOREINFO text, NUL, physical memory.
fn kernel_of(data: &[u8]) -> Kernel {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let text = String::from_utf8_lossy(&data[..split]).into_owned()
        + "\nNUMBER(KERNEL_IMAGE_SIZE)=65536\n";
    let mem = data.get(split + 1..).unwrap_or(&[]).to_vec();
    let notes = Notes {
        vmcoreinfo: Some(text),
        ..Default::default()
    };
    Kernel::new(Dump {
        info: ContainerInfo::default(),
        mem: Box::new(Mem(mem)),
        notes,
        virt_ranges: vec![],
    })
}

#[test]
fn printk_inputs() {
    for (name, data) in inputs("printk") {
        let r = crashlens::kernel::printk::read_log(&kernel_of(&data));
        if name == "info-field-outside-struct" {
            // OFFSET(printk_info.text_len) past SIZE(printk_info): refused, not indexed.
            let e = r.expect_err("damaged layout refused").to_string();
            assert!(e.contains("outside its structure"), "{e}");
        }
    }
}

#[test]
fn btf_inputs() {
    for (_, data) in inputs("btf") {
        let b = crashlens::kernel::btf::Btf::parse(&data).expect("the blob parses");
        for st in ["task_struct", "inactive_task_frame", "a", "b"] {
            assert_eq!(b.field_at(st, u64::MAX), None);
        }
    }
}
