use super::{open_session, out, print_json, Args, Format};
use crate::error::Result;
use crate::report::{bt, CpuTrace};

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let r = s.report();
    let all = a.flags.iter().any(|f| f == "-a" || f == "--all");
    let crashing: Vec<&CpuTrace> = r.cpu_traces.iter().filter(|t| t.frames == r.backtrace || r.backtrace.is_empty()).take(1).collect();
    let shown: Vec<&CpuTrace> = if all { r.cpu_traces.iter().collect() } else { crashing };
    match a.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Bt<'a> {
                backtrace: &'a [crate::report::Frame],
                cpu_traces: Vec<&'a CpuTrace>,
            }
            print_json(&Bt { backtrace: &r.backtrace, cpu_traces: shown });
        }
        Format::Text => {
            let text: Vec<String> = shown.iter().map(|t| bt::render(t)).collect();
            out(&text.join("\n"));
        }
    }
    Ok(())
}
