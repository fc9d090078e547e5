//! Compressed files and archives a vmcore often travels in (`vmcore.tar.gz`, `vmcore.xz`,
//! `vmcore.zst`, ...): recognised by their magic bytes, so the user is told the one command that
//! unpacks it instead of "not a crash dump". A compressed archive cannot be read in place: its
//! pages would have to be decompressed from the start for every read.

use crate::render::Lang;

/// The compression (or archive) format at the start of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    /// An uncompressed tar archive.
    Tar,
    Zip,
}

/// A file recognised as compressed or archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archive {
    pub packing: Packing,
    /// A tar archive inside the compression (seen in the decompressed head, or from the name).
    pub tar: bool,
}

/// Bytes of the file's head [`detect`] looks at (enough to decompress a tar header).
pub const HEAD: usize = 64 << 10;

fn is_tar(b: &[u8]) -> bool {
    b.len() >= 262 && &b[257..262] == b"ustar"
}

/// The first bytes of the decompressed stream, where this build can decompress the format.
fn inflate_head(p: Packing, head: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = vec![0u8; 1024];
    let mut n = 0;
    let mut fill = |r: &mut dyn Read| {
        while n < out.len() {
            match r.read(&mut out[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
    };
    match p {
        Packing::Gzip => fill(&mut flate2::read::GzDecoder::new(head)),
        Packing::Zstd => {
            if let Ok(mut d) = ruzstd::StreamingDecoder::new(head) {
                fill(&mut d)
            }
        }
        _ => {}
    }
    out.truncate(n);
    out
}

/// Recognises a compressed file or an archive by its first bytes (`head`, up to [`HEAD`]);
/// `name` (the file's name, if known) only decides whether a tar archive is inside when the
/// head cannot be decompressed here (xz, bzip2, a cut-short head).
pub fn detect(head: &[u8], name: Option<&str>) -> Option<Archive> {
    let packing = if head.starts_with(&[0x1f, 0x8b]) {
        Packing::Gzip
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Packing::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Packing::Zstd
    } else if head.starts_with(b"BZh") && head.len() > 3 && (b'1'..=b'9').contains(&head[3]) {
        Packing::Bzip2
    } else if head.starts_with(b"PK\x03\x04") {
        Packing::Zip
    } else if is_tar(head) {
        Packing::Tar
    } else {
        return None;
    };
    let tar = match packing {
        Packing::Tar => true,
        Packing::Zip => false,
        p => {
            let inner = inflate_head(p, head);
            is_tar(&inner) || (inner.len() < 262 && name.is_some_and(tar_name))
        }
    };
    Some(Archive { packing, tar })
}

/// `x.tar.gz`, `x.tgz`, `x.tar.xz`, `x.txz`, `x.tar.zst`, `x.tzst`, `x.tar.bz2`, `x.tbz2`.
fn tar_name(n: &str) -> bool {
    let n = n.to_ascii_lowercase();
    n.contains(".tar.")
        || [".tgz", ".txz", ".tzst", ".tbz", ".tbz2"]
            .iter()
            .any(|e| n.ends_with(e))
}

/// A file name as one shell word (quoted when it holds anything but plain characters).
fn shell_word(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+/:@%=,".contains(c))
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}

impl Archive {
    /// What it is, in words: "a gzip-compressed tar archive", "an xz-compressed file".
    pub fn what(&self, lang: Lang) -> String {
        let codec = match self.packing {
            Packing::Gzip => "gzip",
            Packing::Xz => "xz",
            Packing::Zstd => "zstd",
            Packing::Bzip2 => "bzip2",
            Packing::Tar => {
                return if lang == Lang::Zh {
                    "tar 归档".into()
                } else {
                    "a tar archive".into()
                }
            }
            Packing::Zip => {
                return if lang == Lang::Zh {
                    "zip 压缩包".into()
                } else {
                    "a zip archive".into()
                }
            }
        };
        match (lang, self.tar) {
            (Lang::En, true) => format!("a {codec}-compressed tar archive"),
            (Lang::En, false) => {
                let a = if codec == "xz" { "an" } else { "a" };
                format!("{a} {codec}-compressed file")
            }
            (Lang::Zh, true) => format!("{codec} 压缩的 tar 归档"),
            (Lang::Zh, false) => format!("{codec} 压缩文件"),
        }
    }

    /// The one command that unpacks it (in the directory that holds it).
    pub fn command(&self, name: &str) -> String {
        let n = shell_word(name);
        match (self.packing, self.tar) {
            (Packing::Gzip, true) => format!("tar xzf {n}"),
            (Packing::Xz, true) => format!("tar xJf {n}"),
            (Packing::Zstd, true) => format!("tar --zstd -xf {n}"),
            (Packing::Bzip2, true) => format!("tar xjf {n}"),
            (Packing::Tar, _) => format!("tar xf {n}"),
            (Packing::Gzip, false) => format!("gunzip -k {n}"),
            (Packing::Xz, false) => format!("xz -dk {n}"),
            (Packing::Zstd, false) => format!("zstd -d {n}"),
            (Packing::Bzip2, false) => format!("bunzip2 -k {n}"),
            (Packing::Zip, _) => format!("unzip {n}"),
        }
    }

    /// The sentence the CLI and the page show for it (without a final full stop in English,
    /// as the CLI's error lines).
    pub fn message(&self, name: &str, lang: Lang) -> String {
        let cmd = self.command(name);
        let what = self.what(lang);
        let inside = if self.tar || self.packing == Packing::Zip {
            ("then open the vmcore inside", "再打开其中的 vmcore")
        } else {
            ("then open the file it writes", "再打开解压出的文件")
        };
        match lang {
            Lang::En => format!(
                "{name} is {what}, which cannot be read in place: unpack it first with `{cmd}`, {}",
                inside.0
            ),
            Lang::Zh => {
                let sp = if what.starts_with(|c: char| c.is_ascii()) {
                    " "
                } else {
                    ""
                };
                format!(
                    "{name} 是{sp}{what}，无法直接读取：请先用 `{cmd}` 解包，{}。",
                    inside.1
                )
            }
        }
    }
}

/// The error for a dump file that is an archive (the CLI and the page open files through this).
pub fn error(head: &[u8], name: &str) -> Option<crate::error::Error> {
    let a = detect(head, Some(name))?;
    Some(crate::error::Error::NotADump(a.message(name, Lang::En)))
}

/// The first [`HEAD`] bytes of a source (fewer for a shorter file).
pub fn head_of(src: &dyn crate::source::ReadAt) -> Vec<u8> {
    let mut b = vec![0u8; HEAD.min(src.len() as usize)];
    let mut n = 0;
    while n < b.len() {
        match src.read_at(n as u64, &mut b[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    b.truncate(n);
    b
}

/// Is the head plain text (a console log such as `vmcore-dmesg.txt`)? No NUL byte and almost
/// only printable characters.
pub fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    let s = String::from_utf8_lossy(head);
    let total = s.chars().count();
    let bad = s
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x1b')) || *c == '\u{fffd}'
        })
        .count();
    bad * 50 <= total
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tar_block() -> Vec<u8> {
        let mut b = vec![0u8; 1024];
        b[..6].copy_from_slice(b"vmcore");
        b[257..263].copy_from_slice(b"ustar\0");
        b
    }

    #[test]
    fn gzip_tar_is_seen_inside_and_bare_gzip_is_not_tar() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar_block()).unwrap();
        let gz = e.finish().unwrap();
        // The name says nothing: the tar header inside decides.
        let a = detect(&gz, Some("dump.bin")).unwrap();
        assert_eq!(
            a,
            Archive {
                packing: Packing::Gzip,
                tar: true
            }
        );
        assert_eq!(a.command("vmcore.tar.gz"), "tar xzf vmcore.tar.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"\x7fELF\x02\x01\x01").unwrap();
        let gz = e.finish().unwrap();
        let a = detect(&gz, Some("vmcore.gz")).unwrap();
        assert!(!a.tar);
        assert_eq!(a.command("vmcore.gz"), "gunzip -k vmcore.gz");
        assert_eq!(
            a.message("vmcore.gz", Lang::En),
            "vmcore.gz is a gzip-compressed file, which cannot be read in place: unpack it first with `gunzip -k vmcore.gz`, then open the file it writes"
        );
        assert!(a
            .message("vmcore.gz", Lang::Zh)
            .contains("`gunzip -k vmcore.gz`"));
    }

    #[test]
    fn zstd_xz_bzip2_zip_and_tar_by_magic() {
        let z = ruzstd09::encoding::compress_to_vec(
            tar_block().as_slice(),
            ruzstd09::encoding::CompressionLevel::Fastest,
        );
        let a = detect(&z, None).unwrap();
        assert_eq!((a.packing, a.tar), (Packing::Zstd, true));
        assert_eq!(a.command("vmcore.tar.zst"), "tar --zstd -xf vmcore.tar.zst");
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4];
        assert_eq!(
            detect(&xz, Some("vmcore.tar.xz"))
                .unwrap()
                .command("vmcore.tar.xz"),
            "tar xJf vmcore.tar.xz"
        );
        assert_eq!(
            detect(&xz, Some("vmcore.xz")).unwrap().command("vmcore.xz"),
            "xz -dk vmcore.xz"
        );
        assert_eq!(detect(b"BZh91AY&SY", None).unwrap().packing, Packing::Bzip2);
        assert_eq!(
            detect(b"PK\x03\x04\x14\0", None)
                .unwrap()
                .command("a b.zip"),
            "unzip 'a b.zip'"
        );
        assert_eq!(
            detect(&tar_block(), None).unwrap().command("v.tar"),
            "tar xf v.tar"
        );
        // Dumps and text are not archives.
        assert!(detect(b"\x7fELF\x02\x01\x01\0", None).is_none());
        assert!(detect(b"KDUMP   \x06\0\0\0", None).is_none());
        assert!(detect(b"[    0.000000] Linux version 6.1.0\n", None).is_none());
    }

    #[test]
    fn text_or_not() {
        assert!(looks_like_text(
            b"[    0.000000] Linux version 6.1.0 (gcc)\n[    1.0] x\n"
        ));
        assert!(!looks_like_text(b"\x7fELF\x02\x01\x01\0\0\0"));
        assert!(!looks_like_text(b""));
        assert!(looks_like_text("内核日志\n".as_bytes()));
    }
}
