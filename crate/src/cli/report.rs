use super::{print_json, Args, Format};
use crate::error::Result;
use crate::render;
use crate::report::build::analyze_many;

pub fn run(a: &Args) -> Result<()> {
    let (srcs, opts) = super::open_files(a)?;
    let r = analyze_many(srcs, &opts, &mut |_| {})?;
    if let Some(doc) = a.document {
        super::out(&render::render(&r, doc, render::Lang::parse(a.lang())));
        return Ok(());
    }
    match a.format {
        Format::Json => print_json(&r),
        Format::Text => super::out(&crate::render::report::render(&r, a.lang())),
    }
    Ok(())
}
