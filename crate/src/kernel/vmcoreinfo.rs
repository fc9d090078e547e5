//! The VMCOREINFO note: `KEY=value` lines the kernel writes for dump tools
//! (kernel/vmcore_info.c, arch/x86/kernel/machine_kexec_64.c).
//!
//! Every key kind: OSRELEASE, PAGESIZE, BUILD-ID, CRASHTIME, KERNELOFFSET, SYMBOL(x), OFFSET(s.f),
//! SIZE(s), LENGTH(x), NUMBER(x). NUMBER values are signed decimal (`NUMBER(phys_base)=-337641472`
//! is a two's-complement u64); SYMBOL, KERNELOFFSET and the kallsyms addresses are hex without 0x.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct VmcoreInfo {
    pub osrelease: Option<String>,
    pub page_size: Option<u64>,
    pub build_id: Option<String>,
    pub crash_time: Option<u64>,
    #[serde(with = "crate::util::hex::opt")]
    pub kernel_offset: Option<u64>,
    pub symbols: BTreeMap<String, u64>,
    pub offsets: BTreeMap<String, u64>,
    pub sizes: BTreeMap<String, u64>,
    pub lengths: BTreeMap<String, u64>,
    pub numbers: BTreeMap<String, i64>,
    /// Any other `KEY=value` line, kept verbatim.
    pub other: BTreeMap<String, String>,
    /// Lines that could not be parsed (reported, never fatal).
    pub bad_lines: Vec<String>,
}

fn hex(v: &str) -> Option<u64> {
    let v = v.trim();
    u64::from_str_radix(v.strip_prefix("0x").unwrap_or(v), 16).ok()
}

fn dec(v: &str) -> Option<i64> {
    let v = v.trim();
    v.parse::<i64>()
        .ok()
        .or_else(|| v.parse::<u64>().ok().map(|u| u as i64))
}

fn inner<'a>(key: &'a str, kind: &str) -> Option<&'a str> {
    key.strip_prefix(kind)?.strip_prefix('(')?.strip_suffix(')')
}

impl VmcoreInfo {
    pub fn parse(text: &str) -> VmcoreInfo {
        let mut vi = VmcoreInfo::default();
        for line in text.lines().take(100_000) {
            let line = line.trim_end_matches(['\0', '\r']);
            if line.is_empty() {
                continue;
            }
            let Some((key, val)) = line.split_once('=') else {
                vi.bad_lines.push(line.to_string());
                continue;
            };
            let ok = if let Some(name) = inner(key, "SYMBOL") {
                hex(val)
                    .map(|v| vi.symbols.insert(name.to_string(), v))
                    .is_some()
            } else if let Some(name) = inner(key, "OFFSET") {
                dec(val)
                    .map(|v| vi.offsets.insert(name.to_string(), v as u64))
                    .is_some()
            } else if let Some(name) = inner(key, "SIZE") {
                dec(val)
                    .map(|v| vi.sizes.insert(name.to_string(), v as u64))
                    .is_some()
            } else if let Some(name) = inner(key, "LENGTH") {
                dec(val)
                    .map(|v| vi.lengths.insert(name.to_string(), v as u64))
                    .is_some()
            } else if let Some(name) = inner(key, "NUMBER") {
                dec(val)
                    .map(|v| vi.numbers.insert(name.to_string(), v))
                    .is_some()
            } else {
                match key {
                    "OSRELEASE" => {
                        vi.osrelease = Some(val.to_string());
                        true
                    }
                    "PAGESIZE" => dec(val).map(|v| vi.page_size = Some(v as u64)).is_some(),
                    "BUILD-ID" => {
                        vi.build_id = Some(val.to_string());
                        true
                    }
                    "CRASHTIME" => dec(val).map(|v| vi.crash_time = Some(v as u64)).is_some(),
                    "KERNELOFFSET" => hex(val).map(|v| vi.kernel_offset = Some(v)).is_some(),
                    _ => {
                        vi.other.insert(key.to_string(), val.to_string());
                        true
                    }
                }
            };
            if !ok {
                vi.bad_lines.push(line.to_string());
            }
        }
        vi
    }

    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }
    pub fn offset(&self, name: &str) -> Option<u64> {
        self.offsets.get(name).copied()
    }
    pub fn size(&self, name: &str) -> Option<u64> {
        self.sizes.get(name).copied()
    }
    pub fn length(&self, name: &str) -> Option<u64> {
        self.lengths.get(name).copied()
    }
    pub fn number(&self, name: &str) -> Option<i64> {
        self.numbers.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_kind() {
        let vi = VmcoreInfo::parse(
            "OSRELEASE=6.1.0-56-cloud-amd64\nBUILD-ID=3b43fa\nPAGESIZE=4096\nSYMBOL(_stext)=ffffffffa6a00000\n\
             OFFSET(page._refcount)=52\nSIZE(page)=64\nLENGTH(mem_section)=2048\nNUMBER(phys_base)=-337641472\n\
             NUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\nCRASHTIME=1764092344\nKERNELOFFSET=25a00000\nJUNK\nSYMBOL(x)=zz\n",
        );
        assert_eq!(vi.osrelease.as_deref(), Some("6.1.0-56-cloud-amd64"));
        assert_eq!(vi.page_size, Some(4096));
        assert_eq!(vi.symbol("_stext"), Some(0xffffffffa6a00000));
        assert_eq!(vi.offset("page._refcount"), Some(52));
        assert_eq!(vi.size("page"), Some(64));
        assert_eq!(vi.length("mem_section"), Some(2048));
        assert_eq!(vi.number("phys_base"), Some(-337641472));
        assert_eq!(
            vi.number("phys_base").map(|v| v as u64),
            Some(0xffff_ffff_ebe0_0000)
        );
        assert_eq!(vi.crash_time, Some(1764092344));
        assert_eq!(vi.kernel_offset, Some(0x25a00000));
        assert_eq!(
            vi.bad_lines,
            vec!["JUNK".to_string(), "SYMBOL(x)=zz".to_string()]
        );
    }
}
