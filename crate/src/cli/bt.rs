use super::{open_session, out, print_json, Args, Format};
use crate::error::{Error, Result};
use crate::render::bt;
use crate::report::tasks::TaskTracer;
use crate::report::{CpuTrace, TaskTrace};

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let pid: Option<i32> = a
        .flags
        .iter()
        .find_map(|f| f.strip_prefix("--pid="))
        .and_then(|v| v.parse().ok());
    let all_tasks = a.flags.iter().any(|f| f == "--all-tasks");
    if pid.is_some() || all_tasks {
        return tasks(a, &s.kernel, pid);
    }
    let r = s.report();
    let all = a.flags.iter().any(|f| f == "-a" || f == "--all");
    let shown: Vec<&CpuTrace> = if all {
        r.cpu_traces.iter().collect()
    } else {
        bt::crashing(&r).into_iter().collect()
    };
    match a.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Bt<'a> {
                backtrace: &'a [crate::report::Frame],
                cpu_traces: Vec<&'a CpuTrace>,
            }
            print_json(&Bt {
                backtrace: &r.backtrace,
                cpu_traces: shown,
            });
        }
        Format::Text if all => out(&bt::all_text(&r)),
        Format::Text => out(&bt::crashing_text(&r)),
    }
    Ok(())
}

/// `bt -p PID` (every thread with that PID: the idle tasks share PID 0) and `bt --all-tasks`.
fn tasks(a: &Args, k: &crate::kernel::Kernel, pid: Option<i32>) -> Result<()> {
    let (list, task_warnings) = k.tasks();
    let chosen: Vec<_> = list
        .iter()
        .filter(|t| pid.is_none_or(|p| t.pid == p))
        .collect();
    if chosen.is_empty() {
        let why = task_warnings
            .first()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(Error::Missing(format!(
            "no task with PID {}{why}",
            pid.unwrap_or(-1)
        )));
    }
    let tracer = TaskTracer::new(k);
    let traces: Vec<TaskTrace> = chosen.iter().map(|t| tracer.trace(t)).collect();
    let mut warnings = tracer.warnings();
    warnings.extend(task_warnings.iter().cloned());
    match a.format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Bt<'a> {
                /// With -p: the (first) task's frames, as `bt` gives the crashing task's.
                #[serde(skip_serializing_if = "Option::is_none")]
                backtrace: Option<&'a [crate::report::Frame]>,
                tasks: &'a [TaskTrace],
                warnings: &'a [String],
            }
            let backtrace = pid
                .and_then(|_| traces.first())
                .map(|t| t.trace.frames.as_slice());
            print_json(&Bt {
                backtrace,
                tasks: &traces,
                warnings: &warnings,
            });
        }
        Format::Text => {
            let text: Vec<String> = traces.iter().map(|t| bt::render(&t.trace)).collect();
            out(&text.join("\n"));
        }
    }
    Ok(())
}
