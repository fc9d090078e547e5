use super::{open_session, out, print_json, Args, Format};
use crate::error::Result;
use crate::report::tasks::ps;
use std::fmt::Write;

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let (rows, warnings) = ps(&s.kernel);
    match a.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Ps<'a> {
                tasks: &'a [crate::report::PsRow],
                warnings: &'a [String],
            }
            print_json(&Ps {
                tasks: &rows,
                warnings: &warnings,
            });
        }
        Format::Text => {
            let mut t = String::from("   PID    PPID  CPU       TASK        ST  COMM\n");
            for r in &rows {
                let comm = if r.kthread {
                    format!("[{}]", r.comm)
                } else {
                    r.comm.clone()
                };
                let _ = writeln!(
                    t,
                    "{}{:>6}  {:>6}  {:>3}  {:016x}  {}  {comm}",
                    if r.active { ">" } else { " " },
                    r.pid,
                    r.ppid,
                    r.cpu,
                    r.task,
                    r.st
                );
            }
            for w in &warnings {
                let _ = writeln!(t, "warning: {w}");
            }
            out(&t);
        }
    }
    Ok(())
}
