//! The console for the page: [`console_open`] opens the dump (and the extra files) once more
//! for the crash-style commands, [`console_run`] runs one command line and returns
//! `{"text": ..., "error": bool}` as JSON text, the same text `crashlens shell` prints.

use super::{dump_files, read_ahead, report_panic, sentence, BrowserFile, Meter};
use crate::cache::ReadAhead;
use crate::console::{Console, COMMANDS};
use crate::report::build::{Options, Session};
use crate::source::ReadAt;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::File;

thread_local! {
    static CONSOLE: RefCell<Option<Console>> = const { RefCell::new(None) };
}

fn source(f: File, phase: &'static str) -> std::result::Result<ReadAhead<BrowserFile>, JsValue> {
    let meter = Meter::new(phase, f.size().max(0.0) as u64, None);
    let src = BrowserFile::new(f, meter).map_err(|e| sentence(&e))?;
    Ok(read_ahead(src))
}

/// Opens the dump (`files`: its parts, in order) and the extra files (`extras`: vmlinux /
/// `.ko` / System.map) for [`console_run`]; replaces a console opened before.
#[wasm_bindgen(js_name = consoleOpen)]
pub fn console_open(
    files: js_sys::Array,
    extras: js_sys::Array,
) -> std::result::Result<(), JsValue> {
    std::panic::set_hook(Box::new(report_panic));
    let files = dump_files(&files)?;
    let name = files
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut srcs: Vec<Box<dyn ReadAt>> = Vec::new();
    for f in files {
        srcs.push(Box::new(source(f, "container")?));
    }
    let mut debuginfo = Vec::new();
    for v in extras.iter() {
        let f: File = v
            .dyn_into()
            .map_err(|_| JsValue::from_str("An extra file is not a File."))?;
        let name = f.name();
        let src: Rc<dyn ReadAt> = Rc::new(source(f, "debuginfo")?);
        debuginfo.push(crate::debuginfo::Extra { name, src });
    }
    let opts = Options {
        file_name: Some(name.clone()),
        debuginfo,
        ..Options::default()
    };
    let mut s = Session::open_many(srcs, &opts).map_err(|e| sentence(&e))?;
    s.load_debuginfo(&opts);
    CONSOLE.with(|c| *c.borrow_mut() = Some(Console::new(s, Some(name))));
    Ok(())
}

/// Runs one console command line: `{"text": "...", "error": false}` as JSON text.
#[wasm_bindgen(js_name = consoleRun)]
pub fn console_run(line: &str) -> std::result::Result<String, JsValue> {
    CONSOLE.with(|c| match &mut *c.borrow_mut() {
        Some(con) => serde_json::to_string(&con.run(line))
            .map_err(|e| JsValue::from_str(&format!("The output could not be encoded: {e}."))),
        None => Err(JsValue::from_str("No dump is open in the console.")),
    })
}

/// The console's command names, for completion.
#[wasm_bindgen(js_name = consoleCommands)]
pub fn console_commands() -> Vec<String> {
    COMMANDS.iter().map(|c| c.name.to_string()).collect()
}

/// Completions of the line's last word (command names, then symbol and type names), at most 50.
#[wasm_bindgen(js_name = consoleComplete)]
pub fn console_complete(line: &str) -> Vec<String> {
    CONSOLE.with(|c| {
        c.borrow()
            .as_ref()
            .map(|con| con.complete(line, 50))
            .unwrap_or_default()
    })
}
