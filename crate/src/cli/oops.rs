//! `crashlens oops FILE [--format json] [--all]`: the kernel's own crash reports, parsed.
//! FILE is console text (or a syzkaller report test file), or a vmcore whose log is read.

use super::{print_json, Args, Format};
use crate::analysis::oops::{self, Oops};
use crate::error::{Error, Result};
use crate::kernel::printk;
use crate::report::build::{Options, Session};
use crate::source::FileSource;
use std::io::Read;

/// Does the file start like a dump container (ELF, kdump-compressed, makedumpfile flattened)?
fn is_dump(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"KDUMP   ")
        || head.starts_with(b"DISKDUMP")
        || head.starts_with(b"makedumpfile")
}

/// Most console logs are far smaller; this only bounds memory on a wrong file.
const MAX_TEXT: u64 = 512 << 20;

fn log_text(a: &Args) -> Result<String> {
    let path = a
        .paths
        .first()
        .ok_or_else(|| Error::Io("no log or dump file given".into()))?;
    let mut f = std::fs::File::open(path).map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let mut head = [0u8; 16];
    let n = f
        .read(&mut head)
        .map_err(|e| Error::Io(format!("{path}: {e}")))?;
    let src = FileSource::open(std::path::Path::new(path))?;
    if let Some(e) = crate::dump::archive::error(&crate::dump::archive::head_of(&src), path) {
        return Err(e);
    }
    if is_dump(&head[..n]) {
        let opts = Options {
            cache_budget: a.cache_mb << 20,
            file_name: Some(path.clone()),
            ..Options::default()
        };
        let s = Session::open(Box::new(src), &opts)?;
        let log = printk::read_log(&s.kernel)?;
        return Ok(printk::plain_text(&log));
    }
    let mut buf = head[..n].to_vec();
    f.take(MAX_TEXT)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io(format!("{path}: {e}")))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub fn run(a: &Args) -> Result<()> {
    let text = log_text(a)?;
    let all = oops::parse_all(oops::console_text(&text));
    let every = a.flags.iter().any(|f| f == "--all");
    match a.format {
        Format::Json if every => print_json(&all),
        Format::Json => print_json(&oops::primary(&all)),
        Format::Text => {
            let list: Vec<&Oops> = if every {
                all.iter().collect()
            } else {
                oops::primary(&all).into_iter().collect()
            };
            if list.is_empty() {
                super::out("no crash report found\n");
            }
            let mut s = String::new();
            for o in list {
                s.push_str(&crate::render::oops::text(o));
            }
            super::out(&s);
        }
    }
    Ok(())
}
