use super::{print_json, Args, Format};
use crate::error::Result;
use crate::report::build::{analyze, Options};
use crate::source::FileSource;

pub fn run(a: &Args) -> Result<()> {
    let path = a.paths.first().ok_or_else(|| crate::Error::Io("no dump file given".into()))?;
    let src = FileSource::open(std::path::Path::new(path))?;
    let opts = Options { cache_budget: a.cache_mb << 20, file_name: Some(path.clone()) };
    let r = analyze(Box::new(src), &opts, &mut |_| {})?;
    match a.format {
        Format::Json => print_json(&r),
        Format::Text => super::out(&crate::report::text::render(&r)),
    }
    Ok(())
}
