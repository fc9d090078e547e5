//! The console's commands on the command line (`crashlens struct VMCORE TYPE [ADDR]`,
//! `rd`, `p`, `task`) and `crashlens shell VMCORE`: crash-style commands read from stdin, with
//! `crash> ` prompts when stdin is a terminal.

use super::{open_session, out, Args};
use crate::console::{Console, Output};
use crate::error::{Error, Result};

fn console(a: &Args, dump_paths: Vec<String>) -> Result<Console> {
    let dump = Args {
        paths: dump_paths,
        ..a.clone()
    };
    let s = open_session(&dump)?;
    for w in &s.debuginfo.warnings {
        eprintln!("crashlens: warning: {w}");
    }
    Ok(Console::new(s, dump.paths.first().cloned()))
}

/// Prints a command's output; an error is one line on stderr and exit code 2.
fn finish(o: Output) -> Result<()> {
    if o.error {
        return Err(Error::Missing(o.text.trim_end().to_string()));
    }
    out(&o.text);
    Ok(())
}

/// `crashlens struct|rd|p|task VMCORE ARGS...`: the dump is the first path, the rest (and the
/// command's own flags) go to the console command.
pub fn run_one(a: &Args, min_args: usize, usage: &str) -> Result<()> {
    if a.paths.len() < 1 + min_args {
        return Err(Error::Missing(format!("usage: crashlens {usage}")));
    }
    let mut words: Vec<String> = vec![a.command.clone()];
    words.extend(
        a.flags
            .iter()
            .filter(|f| matches!(f.as_str(), "-o" | "-s"))
            .cloned(),
    );
    words.extend(a.paths[1..].iter().cloned());
    let mut c = console(a, a.paths[..1].to_vec())?;
    finish(c.run(&words.join(" ")))
}

/// `crashlens shell VMCORE...`: one command a line until end of input or `q`/`quit`/`exit`.
pub fn shell(a: &Args) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if a.paths.is_empty() {
        return Err(Error::Missing("usage: crashlens shell VMCORE".into()));
    }
    let mut c = console(a, a.paths.clone())?;
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprintln!("crashlens shell: crash-style commands (`help` lists them, `q` quits)");
    }
    let mut line = String::new();
    loop {
        if tty {
            print!("crash> ");
            let _ = std::io::stdout().flush();
        }
        line.clear();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let cmd = line.trim();
        if matches!(cmd, "q" | "quit" | "exit") {
            break;
        }
        if cmd.is_empty() {
            continue;
        }
        let o = c.run(cmd);
        if o.error {
            eprint!("{}", o.text);
        } else {
            out(&o.text);
        }
    }
    if tty {
        println!();
    }
    Ok(())
}
