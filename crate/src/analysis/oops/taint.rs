//! Taint flags (kernel/panic.c `taint_flags[]`): the letters printed after `Tainted:`.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaintFlag {
    pub letter: char,
    /// Bit number in the kernel's taint mask.
    pub bit: u32,
    /// The kernel's name (TAINT_*) without the prefix.
    pub name: &'static str,
    pub meaning: &'static str,
}

/// (set letter, bit, name, meaning). `G` is the unset form of `P` (all modules GPL).
const TABLE: &[(char, u32, &str, &str)] = &[
    (
        'P',
        0,
        "PROPRIETARY_MODULE",
        "a proprietary (non-GPL) module was loaded",
    ),
    ('F', 1, "FORCED_MODULE", "a module was force-loaded"),
    (
        'S',
        2,
        "CPU_OUT_OF_SPEC",
        "the CPU runs out of specification (or an unsafe SMP configuration)",
    ),
    ('R', 3, "FORCED_RMMOD", "a module was force-unloaded"),
    (
        'M',
        4,
        "MACHINE_CHECK",
        "a machine check exception happened",
    ),
    (
        'B',
        5,
        "BAD_PAGE",
        "a bad page was found (page allocator or reference count)",
    ),
    ('U', 6, "USER", "tainted on request of user space"),
    (
        'D',
        7,
        "DIE",
        "the kernel died before (an earlier oops or BUG)",
    ),
    (
        'A',
        8,
        "OVERRIDDEN_ACPI_TABLE",
        "an ACPI table was overridden",
    ),
    ('W', 9, "WARN", "a WARNING was issued before"),
    ('C', 10, "CRAP", "a staging driver was loaded"),
    (
        'I',
        11,
        "FIRMWARE_WORKAROUND",
        "a workaround for broken firmware is active",
    ),
    ('O', 12, "OOT_MODULE", "an out-of-tree module was loaded"),
    ('E', 13, "UNSIGNED_MODULE", "an unsigned module was loaded"),
    ('L', 14, "SOFTLOCKUP", "a soft lockup happened before"),
    ('K', 15, "LIVEPATCH", "the kernel was live-patched"),
    ('X', 16, "AUX", "auxiliary taint (distribution-defined)"),
    (
        'T',
        17,
        "RANDSTRUCT",
        "built with the struct randomization plugin",
    ),
    ('N', 18, "TEST", "an in-kernel test was run"),
    ('J', 19, "FWCTL", "fwctl debug mode was used"),
];

/// Decodes the flag text: `G           OE` (fixed-width, kernels up to 6.x), `GOE`, or the list
/// form `[O]=OOT_MODULE, [E]=UNSIGNED_MODULE` of newer kernels. `G`/` ` mean "not set".
pub fn decode(flags: &str) -> Vec<TaintFlag> {
    let mut out: Vec<TaintFlag> = Vec::new();
    let mut add = |c: char| {
        if let Some(&(l, bit, name, meaning)) = TABLE.iter().find(|t| t.0 == c) {
            if !out.iter().any(|f| f.bit == bit) {
                out.push(TaintFlag {
                    letter: l,
                    bit,
                    name,
                    meaning,
                });
            }
        }
    };
    if flags.contains("]=") {
        for part in flags.split(',') {
            let p = part.trim();
            if let Some(c) = p.strip_prefix('[').and_then(|r| r.chars().next()) {
                add(c);
            }
        }
    } else {
        for c in flags.chars().filter(|c| c.is_ascii_uppercase()) {
            add(c);
        }
    }
    crate::util::sort_by_key(&mut out, |f| f.bit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn decodes_fixed_width_and_list_forms() {
        let f = decode("G           OE");
        assert_eq!(
            f.iter().map(|f| f.name).collect::<Vec<_>>(),
            ["OOT_MODULE", "UNSIGNED_MODULE"]
        );
        let f = decode("[W]=WARN, [O]=OOT_MODULE");
        assert_eq!(f.iter().map(|f| f.letter).collect::<String>(), "WO");
        assert_eq!(decode("P  D   W")[0].name, "PROPRIETARY_MODULE");
        assert!(decode("G").is_empty());
    }
}
