//! Debuginfo the user adds: a module .ko with DWARF on the fixtures (source lines, field names,
//! crash's `dis -l`), and a .ko of another build rejected.

mod common;
use common::*;
use crashlens::debuginfo::{DebugInfo, Extra};
use crashlens::source::FileSource;

fn ko(name: &str) -> Option<Extra> {
    let p = fixtures()?.join(name).join("vmcore_fixture.ko");
    let src = FileSource::open(&p).ok()?;
    Some(Extra { name: p.display().to_string(), src: Box::new(src) })
}

#[test]
fn module_lines_and_field() {
    let (Some(s), Some(x)) = (open(F61), ko(F61)) else { return };
    let t = std::time::Instant::now();
    let n = s.kernel.symbols().len();
    eprintln!("kallsyms ({n} symbols): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let d = DebugInfo::load(&s.kernel, vec![x]);
    eprintln!("load: {:?} {:?} {:?}", t.elapsed(), d.notes, d.warnings);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.files.len(), 1);
    let l = d.line(0xffffffffc033d0fb).expect("line of the exception RIP");
    assert_eq!((l.file.as_str(), l.line), ("/usr/src/vmcore_fixture/vmcore_fixture.c", 46));
    eprintln!("frames: {:?}", d.frames(0xffffffffc033d0fb));
    let f = d.arg_field("fixture_null_deref", 0xffffffffc033d0e6, 1, 0x18);
    assert_eq!(f.as_deref(), Some("struct victim.field"));
    eprintln!("total {:?}", t.elapsed());
}

#[test]
fn other_build_rejected() {
    let (Some(s), Some(x)) = (open(F61), ko(F612)) else { return };
    let d = DebugInfo::load(&s.kernel, vec![x]);
    assert!(d.files.is_empty());
    assert_eq!(d.warnings.len(), 1);
    eprintln!("{}", d.warnings[0]);
    assert!(d.warnings[0].contains("6.12") && d.warnings[0].contains("not used"), "{}", d.warnings[0]);
}
