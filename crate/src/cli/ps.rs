use super::{open_session, out, print_json, Args, Format};
use crate::error::Result;
use crate::report::tasks::ps;

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
        Format::Text => out(&crate::render::ps::render(&rows, &warnings)),
    }
    Ok(())
}
