use super::{print_json, Args, Format};
use crate::error::Result;
use crate::report::build::analyze_many;

pub fn run(a: &Args) -> Result<()> {
    let (srcs, opts) = super::open_files(a)?;
    let r = analyze_many(srcs, &opts, &mut |_| {})?;
    match a.format {
        Format::Json => print_json(&r),
        Format::Text => super::out(&crate::render::report::render(&r, a.lang())),
    }
    Ok(())
}
