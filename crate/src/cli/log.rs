use super::{open_session, print_json, Args, Format};
use crate::error::Result;
use crate::kernel::printk;

pub fn run(a: &Args) -> Result<()> {
    let s = open_session(a)?;
    let log = printk::read_log(&s.kernel)?;
    match a.format {
        Format::Json => print_json(&log),
        Format::Text => super::out(&crate::render::log::render(&log)),
    }
    Ok(())
}
