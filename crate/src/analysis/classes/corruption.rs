//! Corruption the kernel caught itself: the stack protector ("stack-protector: Kernel stack is
//! corrupted in: F"), CONFIG_DEBUG_LIST ("list_add corruption. prev->next should be next (A),
//! but was B. (prev=C)", "list_del corruption, ..."), and SLUB's debug checks ("BUG kmalloc-32
//! (Tainted: ...): Object already free", redzone / poison overwritten, with the object's
//! "Allocated in" / "Freed in" sites when slub_debug has U).
//!
//! The report's addresses say whose memory it is: a module's static variable (`lab_list
//! [crashlens_lab]`) from the symbols, a slab object (its cache, where in it) from the page that
//! holds it ([`crate::kernel::slab::find_object`]). The culprit is the code that found its own
//! data corrupted (the function whose canary died; the caller of list_add/list_del on the
//! corrupted list; the caller that freed the object a second time; the function that allocated
//! an object whose red zone was overwritten), not the checker nor the slab call it ran in (the
//! free or the next allocation that found the damage). A poisoned (written after its free)
//! object has no culprit: SLUB records who allocated and who freed it, not who wrote to it.

use super::{Examined, Finding, Input};
use crate::analysis::model::{Confidence, CpuTrace, CrashClass, ModuleInfo, PanicInfo};
use crate::analysis::oops::Oops;
use crate::analysis::verdict::{Culprit, CulpritRule, Taint};
use crate::kernel::slab::{self, SlabObject};
use crate::kernel::Kernel;
use serde::Serialize;

/// A function as `F+0x80/0x8a [module]` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub function: String,
    pub module: Option<String>,
    /// As printed (`lab_stack_smash+0x80/0x8a [crashlens_lab]`).
    pub text: String,
}

impl Site {
    /// `func+0x1/0x2 [mod]` (and what follows it, e.g. SLUB's ` age=.. cpu=.. pid=..`).
    pub fn parse(s: &str) -> Option<Site> {
        let s = s.trim();
        let (f, rest) = s.split_once('+')?;
        if f.is_empty()
            || !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
        {
            return None;
        }
        let off = rest.split_whitespace().next()?;
        let module = rest
            .split_once('[')
            .and_then(|(_, m)| m.split_once(']'))
            .map(|(m, _)| m.to_string())
            .filter(|m| m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let text = match &module {
            Some(m) => format!("{f}+{off} [{m}]"),
            None => format!("{f}+{off}"),
        };
        Some(Site {
            function: f.to_string(),
            module,
            text,
        })
    }
}

/// An address of a corruption report and what holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// Its part in the report: `prev`, `next`, `found` (the value seen instead), `entry`...
    pub role: String,
    #[serde(with = "crate::util::hex")]
    pub address: u64,
    /// The symbol it is in (`lab_list [crashlens_lab]`, `lab_items+0x20 [crashlens_lab]`).
    pub symbol: Option<String>,
    pub module: Option<String>,
    /// The slab object it is in.
    pub slab: Option<SlabObject>,
}

fn place(k: &Kernel, role: &str, address: u64) -> Place {
    let sym = k.symbols().lookup(address);
    let symbol = sym.map(|(s, off)| {
        let m = s
            .module
            .as_deref()
            .map(|m| format!(" [{m}]"))
            .unwrap_or_default();
        if off == 0 {
            format!("{}{m}", s.name)
        } else {
            format!("{}+{off:#x}{m}", s.name)
        }
    });
    let module = sym
        .and_then(|(s, _)| s.module.clone())
        .or_else(|| k.symbols().module_of(address).map(|m| m.name.clone()));
    let slab = if symbol.is_none() {
        slab::find_object(k, address)
    } else {
        None
    };
    Place {
        role: role.to_string(),
        address,
        symbol,
        module,
        slab,
    }
}

/// "stack-protector: Kernel stack is corrupted in: F".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackProtector {
    /// The function whose canary was overwritten (the return address of __stack_chk_fail).
    pub function: Option<Site>,
}

/// A CONFIG_DEBUG_LIST report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListCorruption {
    /// `list_add` or `list_del`.
    pub operation: String,
    /// The report line as printed.
    pub message: String,
    pub places: Vec<Place>,
    /// The check that reported it (the oops's RIP function: `__list_add_valid.cold`,
    /// `__list_add_valid_or_report`).
    pub checker: Option<String>,
    /// The function that called list_add/list_del (from the panicking CPU's backtrace).
    pub caller: Option<Site>,
}

/// A SLUB debug report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlabCorruption {
    pub cache: String,
    /// "Object already free", "Redzone overwritten", "Poison overwritten", ...
    pub problem: String,
    #[serde(with = "crate::util::hex::opt")]
    pub object: Option<u64>,
    #[serde(with = "crate::util::hex::opt")]
    pub slab: Option<u64>,
    /// "Allocated in F+.. age=.. cpu=.. pid=.." (slub_debug=U).
    pub allocated_in: Option<Site>,
    pub allocated_pid: Option<u32>,
    pub freed_in: Option<Site>,
    pub freed_pid: Option<u32>,
    /// The object's place as the dump's page says (cache cross-check).
    pub object_in_dump: Option<SlabObject>,
    /// The function on the panicking stack that called kfree()/kmem_cache_free().
    pub freeing_caller: Option<Site>,
    /// What the check found, by the report's wording: `double_free` ("Object already free"),
    /// `redzone` ("Redzone overwritten", "Right Redzone overwritten", "Left Redzone ..."),
    /// `poison` ("Poison overwritten": written after its free), `other`.
    pub check: SlabCheck,
    /// `right` / `left` for a red zone the report names by side.
    pub zone: Option<String>,
    /// The region as 7.x names it in its line before the report ("[Right Redzone overwritten]
    /// 0xA-0xB ...", the BUG line then says "Object corrupt"); None where the BUG line names it.
    pub region: Option<String>,
    /// The overwritten bytes ("0xA-0xB @offset=N. First byte 0xX instead of 0xY").
    pub damage: Option<Damage>,
    /// Where in the object the damage starts (`damage.start - object`): at or past
    /// `object_size` for a right red zone.
    pub damage_offset: Option<i64>,
    /// The slab object that holds the first overwritten byte, as the dump's page says.
    pub damage_in_dump: Option<SlabObject>,
    /// The slab call during which SLUB's check ran: `free` (kfree/kmem_cache_free) or `alloc`
    /// (the next allocation from the cache); None when the stack does not tell.
    pub detected_in: Option<String>,
    /// The function that made that call (it found the damage; it did not make it).
    pub detected_by: Option<Site>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SlabCheck {
    DoubleFree,
    Redzone,
    Poison,
    Other,
}

impl SlabCheck {
    /// By the report's wording (every kernel prints "%s overwritten" with the region's name).
    pub fn of(problem: &str) -> SlabCheck {
        let p = problem.to_ascii_lowercase();
        if p.contains("already free") {
            SlabCheck::DoubleFree
        } else if p.contains("redzone overwritten") || p.contains("red zone overwritten") {
            SlabCheck::Redzone
        } else if p.contains("poison overwritten") {
            SlabCheck::Poison
        } else {
            SlabCheck::Other
        }
    }
}

/// "0xffff8dfdc2fa3400-0xffff8dfdc2fa3407 @offset=1024. First byte 0x47 instead of 0xcc".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    #[serde(with = "crate::util::hex")]
    pub start: u64,
    #[serde(with = "crate::util::hex")]
    pub end: u64,
    /// The byte found and the one SLUB wrote there (0xcc/0xbb red zone, 0x6b/0xa5 poison).
    pub first_byte: u8,
    pub expected: u8,
}

impl Damage {
    pub fn parse(l: &str) -> Option<Damage> {
        let (range, rest) = l.split_once(' ')?;
        let (a, b) = range.split_once('-')?;
        let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok();
        let (start, end) = (hex(a)?, hex(b)?);
        let (_, bytes) = rest.split_once("First byte ")?;
        let (found, want) = bytes.split_once(" instead of ")?;
        let byte = |s: &str| {
            let s = s.trim().trim_end_matches('.').trim_start_matches("0x");
            u8::from_str_radix(s.get(..2.min(s.len()))?, 16).ok()
        };
        (start <= end).then_some(Damage {
            start,
            end,
            first_byte: byte(found)?,
            expected: byte(want)?,
        })
    }
}

/// "BUG: Bad page state in process X  pfn:NNNNN": the page allocator found a page it was given
/// back still in use (mapped, referenced, with a mapping or bad flags).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadPage {
    /// The process that freed it.
    pub process: Option<String>,
    pub pfn: Option<u64>,
    /// `struct page` of that pfn in the dump (vmemmap).
    #[serde(with = "crate::util::hex::opt")]
    pub page: Option<u64>,
    /// "page dumped because: nonzero mapcount".
    pub reason: Option<String>,
    /// The `page:... refcount:.. mapcount:.. mapping:..` line.
    pub page_line: Option<String>,
    /// The function on the panicking stack that freed the page.
    pub freeing_caller: Option<Site>,
    /// The check ran when a per-CPU free list was flushed (`free_pcppages_bulk`), after the
    /// free itself: the stack is a later, innocent free and does not name who freed the page.
    pub deferred_check: bool,
}

/// Strips the `[    1.234567] ` prefix.
fn body(l: &str) -> &str {
    let t = l.trim_start();
    match t.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((ts, rest)) if ts.trim().parse::<f64>().is_ok() => rest.trim_end(),
        _ => t.trim_end(),
    }
}

fn list_line(log: &str) -> Option<&str> {
    log.lines()
        .map(body)
        .find(|l| l.starts_with("list_add ") || l.starts_with("list_del corruption"))
        .filter(|l| l.contains("corruption") || l.contains("double add"))
}

/// "BUG kmalloc-32 (Tainted: G  OE): Object already free" (the first SLUB report).
fn slub_line(log: &str) -> Option<(String, String)> {
    log.lines().map(body).find_map(|l| {
        let rest = l.strip_prefix("BUG ")?;
        let (cache, rest) = rest.split_once(" (")?;
        let (_, problem) = rest.split_once("): ")?;
        (!cache.contains(' ')).then(|| (cache.to_string(), problem.trim().to_string()))
    })
}

fn protector_line<'a>(panic: &'a PanicInfo, log: &'a str) -> Option<&'a str> {
    const P: &str = "stack-protector: Kernel stack is corrupted in:";
    panic
        .panic_string
        .as_deref()
        .filter(|s| s.contains(P))
        .or_else(|| log.lines().find(|l| l.contains(P)))
}

fn bad_page_line(log: &str) -> Option<&str> {
    log.lines()
        .map(body)
        .find(|l| l.starts_with("BUG: Bad page state"))
}

pub fn recognise(panic: &PanicInfo, _oops: Option<&Oops>, log: &str) -> bool {
    protector_line(panic, log).is_some()
        || list_line(log).is_some()
        || slub_line(log).is_some()
        || bad_page_line(log).is_some()
}

fn bad_page(inp: &Input, line: &str) -> Examined {
    let process = line
        .split("in process ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string);
    let pfn = line
        .split("pfn:")
        .nth(1)
        .and_then(|v| u64::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok());
    let after: Vec<&str> = inp
        .log
        .lines()
        .map(body)
        .skip_while(|l| !l.starts_with("BUG: Bad page state"))
        .take(40)
        .collect();
    let reason = after
        .iter()
        .find_map(|l| l.strip_prefix("page dumped because: "))
        .map(|s| s.trim().to_string());
    let page_line = after
        .iter()
        .find(|l| l.starts_with("page:") && l.contains("refcount:"))
        .map(|s| s.to_string());
    let deferred_check = inp
        .traces
        .iter()
        .filter(|t| inp.panic.cpu.is_none_or(|c| t.cpu == c))
        .flat_map(|t| t.frames.iter())
        .any(|f| {
            f.function
                .as_deref()
                .is_some_and(|n| base(n) == "free_pcppages_bulk")
        });
    let freeing_caller = if deferred_check {
        None
    } else {
        caller_after(
            inp.traces,
            inp.panic.cpu,
            &[
                "bad_page",
                "free_page_is_bad",
                "free_pages_prepare",
                "free_unref_page",
                "free_frozen_pages",
                "__free_frozen_pages",
                "__free_pages",
                "___free_pages",
                "free_the_page",
                "free_pages",
                "__free_page",
                "free_pcp_prepare",
                "free_unref_page_prepare",
                "check_free_page",
            ],
        )
    };
    let culprit = freeing_caller.as_ref().map(|s| {
        culprit(
            inp,
            s,
            CulpritRule::BadPageFreed {
                reason: reason.clone().unwrap_or_default(),
            },
        )
    });
    Examined {
        class: CrashClass::BadPage,
        finding: Finding::BadPage(BadPage {
            process,
            pfn,
            page: pfn.map(|p| inp.kernel.pfn_to_page(p)),
            reason,
            page_line,
            freeing_caller,
            deferred_check,
        }),
        culprit,
    }
}

/// The 16-hex-digit values of a report line with the word before each: `(prev=X)` -> prev,
/// `should be next (X)` -> next, `but was X` -> found.
fn labelled_addresses(line: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    while i + 16 <= b.len() && out.len() < 8 {
        let run = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if run == 16 && boundary {
            let v = u64::from_str_radix(&line[i..i + 16], 16).unwrap_or(0);
            let before = line[..i].trim_end_matches(['(', ' ', '=', ',']);
            let word = before
                .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '>' || c == '-'))
                .next()
                .unwrap_or("");
            let role = match word {
                "was" => "found",
                "prev" | "next" | "new" | "entry" => word,
                w if w.ends_with("POISON1") || w.ends_with("POISON2") || w == "NULL" => "found",
                "corruption" => "entry",
                _ => "value",
            };
            out.push((role.to_string(), v));
            i += 16;
        } else {
            i += run.max(1);
        }
    }
    out
}

fn base(f: &str) -> &str {
    f.split('.').next().unwrap_or(f)
}

/// The first frame after the last of `inner` (the checker and what it was called from) on the
/// panicking CPU's trace: the function that called it.
fn caller_after(traces: &[CpuTrace], cpu: Option<u32>, inner: &[&str]) -> Option<Site> {
    let t = traces
        .iter()
        .find(|t| cpu.is_some_and(|c| t.cpu == c))
        .or(traces.first())?;
    let names: Vec<&str> = t
        .frames
        .iter()
        .map(|f| f.function.as_deref().unwrap_or(""))
        .collect();
    let last = names
        .iter()
        .rposition(|n| inner.iter().any(|p| base(n).starts_with(p)))?;
    let f = t
        .frames
        .get(last + 1..)?
        .iter()
        .find(|f| f.function.is_some())?;
    let name = f.function.clone()?;
    Some(Site {
        text: match &f.module {
            Some(m) => format!("{name} [{m}]"),
            None => name.clone(),
        },
        function: name,
        module: f.module.clone(),
    })
}

fn taint_of(modules: &[ModuleInfo], m: Option<&str>) -> Vec<Taint> {
    m.and_then(|m| modules.iter().find(|x| x.name == m))
        .map(|x| Taint::of(&x.taint))
        .unwrap_or_default()
}

fn culprit(inp: &Input, s: &Site, rule: CulpritRule) -> Culprit {
    Culprit {
        function: s.function.clone(),
        module: s.module.clone(),
        confidence: Confidence::High,
        rule,
        taint: taint_of(inp.modules, s.module.as_deref()),
    }
}

pub fn examine(inp: &Input) -> Option<Examined> {
    if let Some(l) = protector_line(inp.panic, inp.log) {
        let function = l.split("corrupted in:").nth(1).and_then(Site::parse);
        let c = function
            .as_ref()
            .map(|s| culprit(inp, s, CulpritRule::StackSmashed));
        return Some(Examined {
            class: CrashClass::StackCorruption,
            finding: Finding::StackProtector(StackProtector { function }),
            culprit: c,
        });
    }
    if let Some(l) = list_line(inp.log) {
        let operation = if l.starts_with("list_del") {
            "list_del"
        } else {
            "list_add"
        };
        let places: Vec<Place> = labelled_addresses(l)
            .into_iter()
            .map(|(r, a)| place(inp.kernel, &r, a))
            .collect();
        let caller = caller_after(
            inp.traces,
            inp.panic.cpu,
            &[
                "__list_add_valid",
                "__list_del_entry_valid",
                "__list_add_report",
                "__list_del_entry_report",
                "__list_valid_slowpath",
                "list_add",
                "list_del",
                "__list_add",
                "__list_del",
            ],
        );
        let list = places
            .iter()
            .find(|p| p.role == "next" || p.role == "prev")
            .and_then(|p| p.symbol.clone());
        let c = caller.as_ref().map(|s| {
            culprit(
                inp,
                s,
                CulpritRule::CorruptedList {
                    operation: operation.to_string(),
                    list: list.clone(),
                },
            )
        });
        return Some(Examined {
            class: CrashClass::ListCorruption,
            finding: Finding::ListCorruption(Box::new(ListCorruption {
                operation: operation.to_string(),
                message: l.to_string(),
                places,
                checker: inp
                    .oops
                    .and_then(|o| o.rip.as_deref())
                    .and_then(|r| r.split('+').next())
                    .map(str::to_string),
                caller,
            })),
            culprit: c,
        });
    }
    let Some((cache, problem)) = slub_line(inp.log) else {
        return bad_page_line(inp.log).map(|l| bad_page(inp, l));
    };
    let mut f = SlabCorruption {
        cache,
        problem,
        object: None,
        slab: None,
        allocated_in: None,
        allocated_pid: None,
        freed_in: None,
        freed_pid: None,
        object_in_dump: None,
        freeing_caller: None,
        check: SlabCheck::Other,
        zone: None,
        region: None,
        damage: None,
        damage_offset: None,
        damage_in_dump: None,
        detected_in: None,
        detected_by: None,
    };
    // 7.x prints each damaged region first, "[Right Redzone overwritten] 0xA-0xB @offset=N.
    // First byte 0xX instead of 0xY", then "BUG cache (...): Object corrupt".
    let mut recent: Vec<&str> = Vec::new();
    for l in inp.log.lines().map(body).take(200_000) {
        if slub_line(l).is_some() {
            break;
        }
        if l.starts_with('[') && l.contains(" overwritten] ") {
            recent.push(l);
        } else if !l.starts_with("====") {
            recent.clear();
        }
    }
    if let Some(l) = recent.first() {
        if let Some((region, rest)) = l[1..].split_once("] ") {
            f.region = Some(region.to_string());
            f.damage = Damage::parse(rest);
        }
    }
    let named = f.region.clone().unwrap_or_else(|| f.problem.clone());
    f.check = SlabCheck::of(&named);
    if f.check == SlabCheck::Redzone {
        let p = named.to_ascii_lowercase();
        f.zone = ["right", "left"]
            .into_iter()
            .find(|z| p.starts_with(z))
            .map(str::to_string);
    }
    let hex = |s: &str| {
        let s = s.trim_start_matches("0x");
        let end = s.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(s.len());
        u64::from_str_radix(&s[..end], 16).ok()
    };
    let pid = |s: &str| {
        s.split("pid=")
            .nth(1)
            .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|v| v.parse().ok())
    };
    // Only the first report's lines: up to the panic or the next report.
    let mut started = false;
    for l in inp.log.lines().map(body).take(200_000) {
        let l = l.strip_prefix("INFO: ").unwrap_or(l);
        if l.starts_with("BUG ") {
            if started {
                break;
            }
            started = true;
            continue;
        }
        if !started {
            continue;
        }
        if l.starts_with("Kernel panic") || l.starts_with("FIX ") {
            break;
        }
        if let Some(r) = l.strip_prefix("Slab 0x") {
            f.slab = f.slab.or_else(|| hex(r));
        } else if let Some(r) = l.strip_prefix("Object 0x") {
            f.object = f.object.or_else(|| hex(r));
        } else if let Some(r) = l.strip_prefix("Allocated in ") {
            f.allocated_in = f.allocated_in.take().or_else(|| Site::parse(r));
            f.allocated_pid = f.allocated_pid.or_else(|| pid(r));
        } else if let Some(r) = l.strip_prefix("Freed in ") {
            f.freed_in = f.freed_in.take().or_else(|| Site::parse(r));
            f.freed_pid = f.freed_pid.or_else(|| pid(r));
        } else if l.starts_with("0x") && l.contains("First byte") {
            f.damage = f.damage.take().or_else(|| Damage::parse(l));
        }
    }
    f.object_in_dump = f.object.and_then(|o| slab::find_object(inp.kernel, o));
    if let Some(d) = &f.damage {
        f.damage_offset = f.object.map(|o| d.start.wrapping_sub(o) as i64);
        f.damage_in_dump = slab::find_object(inp.kernel, d.start);
    }
    // The slab call the check ran in, and who made it: the first frame after the slab's own.
    const FREE: &[&str] = &[
        "kfree",
        "kmem_cache_free",
        "__kmem_cache_free",
        "kvfree",
        "__slab_free",
        "slab_free",
        "do_slab_free",
        "free_to_partial_list",
        "free_debug_processing",
    ];
    const ALLOC: &[&str] = &[
        "kmem_cache_alloc",
        "__kmem_cache_alloc",
        "kmalloc",
        "__kmalloc",
        "kmalloc_trace",
        "__kmalloc_cache",
        "kzalloc",
        "slab_alloc",
        "__slab_alloc",
        "___slab_alloc",
        "get_partial",
        "get_any_partial",
        "get_from_partial",
        "alloc_single_from",
        "alloc_from_new_slab",
        "alloc_debug_processing",
    ];
    let last_of = |inner: &[&str]| {
        let t = inp
            .traces
            .iter()
            .find(|t| inp.panic.cpu.is_some_and(|c| t.cpu == c))
            .or(inp.traces.first())?;
        t.frames.iter().rposition(|x| {
            x.function
                .as_deref()
                .is_some_and(|n| inner.iter().any(|p| base(n).starts_with(p)))
        })
    };
    let (fi, ai) = (last_of(FREE), last_of(ALLOC));
    f.freeing_caller = caller_after(inp.traces, inp.panic.cpu, FREE);
    // The outermost of the two is the call the check ran in (a free inside an allocation
    // would be deeper, nearer the check).
    let (kind, inner) = match (fi, ai) {
        (Some(a), Some(b)) if b > a => ("alloc", ALLOC),
        (Some(_), _) => ("free", FREE),
        (None, Some(_)) => ("alloc", ALLOC),
        (None, None) => ("", FREE),
    };
    if !kind.is_empty() {
        f.detected_in = Some(kind.to_string());
        f.detected_by = caller_after(inp.traces, inp.panic.cpu, inner);
    }
    let double = f.check == SlabCheck::DoubleFree;
    let c = if double {
        f.freeing_caller.as_ref().map(|s| {
            culprit(
                inp,
                s,
                CulpritRule::DoubleFree {
                    cache: f.cache.clone(),
                    first_free: f.freed_in.as_ref().map(|x| x.function.clone()),
                },
            )
        })
    } else if f.check == SlabCheck::Poison {
        // Written after its free: the report names who allocated and who freed the object,
        // never who wrote to it afterwards (the allocation that found it only looked).
        None
    } else {
        // Written past its end: the object's owner, where it was allocated (its code is what
        // writes into it). "Freed in" is an earlier life of the object: not evidence.
        f.allocated_in.as_ref().map(|s| Culprit {
            confidence: Confidence::Medium,
            ..culprit(
                inp,
                s,
                CulpritRule::SlabObjectCorrupted {
                    cache: f.cache.clone(),
                    problem: named.clone(),
                },
            )
        })
    };
    Some(Examined {
        class: CrashClass::SlabCorruption,
        finding: Finding::SlabCorruption(Box::new(f)),
        culprit: c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_the_addresses_of_a_list_report() {
        let l = "list_add corruption. prev->next should be next (ffffffffc03b4060), but was ffffffffc03b40a0. (prev=ffff8e47c2982c20).";
        assert_eq!(
            labelled_addresses(l),
            vec![
                ("next".to_string(), 0xffffffffc03b4060),
                ("found".to_string(), 0xffffffffc03b40a0),
                ("prev".to_string(), 0xffff8e47c2982c20)
            ]
        );
        let d = "list_del corruption, ffff888003c1e0a0->next is LIST_POISON1 (dead000000000100)";
        assert_eq!(
            labelled_addresses(d),
            vec![
                ("entry".to_string(), 0xffff888003c1e0a0),
                ("found".to_string(), 0xdead000000000100)
            ]
        );
    }

    #[test]
    fn parses_the_damaged_bytes_and_the_check() {
        let d = Damage::parse(
            "0xffff8dfdc2fa3400-0xffff8dfdc2fa3407 @offset=1024. First byte 0x47 instead of 0xcc",
        )
        .unwrap();
        assert_eq!(
            (d.start, d.end, d.first_byte, d.expected),
            (0xffff8dfdc2fa3400, 0xffff8dfdc2fa3407, 0x47, 0xcc)
        );
        assert!(Damage::parse("0x1-0x2 nothing").is_none());
        assert_eq!(
            SlabCheck::of("Right Redzone overwritten"),
            SlabCheck::Redzone
        );
        assert_eq!(SlabCheck::of("Redzone overwritten"), SlabCheck::Redzone);
        assert_eq!(SlabCheck::of("Poison overwritten"), SlabCheck::Poison);
        assert_eq!(SlabCheck::of("Object already free"), SlabCheck::DoubleFree);
        assert_eq!(SlabCheck::of("Wrong object count"), SlabCheck::Other);
    }

    #[test]
    fn parses_sites() {
        let s =
            Site::parse("lab_session_close+0x12/0x30 [crashlens_lab] age=0 cpu=1 pid=103").unwrap();
        assert_eq!(s.function, "lab_session_close");
        assert_eq!(s.module.as_deref(), Some("crashlens_lab"));
        assert_eq!(s.text, "lab_session_close+0x12/0x30 [crashlens_lab]");
        let s = Site::parse(" lab_stack_smash+0x80/0x8a [crashlens_lab]").unwrap();
        assert_eq!(s.function, "lab_stack_smash");
        assert!(Site::parse("no site here").is_none());
    }
}
