//! Reading a config file with care: only a regular file, at most
//! [`MAX_BYTES`], and only if it stayed the same file, unchanged, while it
//! was read.
//!
//! The server reads its letters and registry again on every reload while it
//! runs, so a careless admin's mistake must give an error, never a hang or
//! half a file: a symlink to `/dev/zero` would otherwise fill the memory, a
//! FIFO would block the reader forever, and a file copied in while it is
//! read could parse as a shorter, valid letter.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// No config file Ronda reads comes near this: a registry of a thousand
/// offices is about 250 KiB.
pub const MAX_BYTES: u64 = 4 << 20;

/// The text of `file`, or why it cannot be used (one line, without the
/// file's name, which the caller puts in front).
pub fn text(file: &Path) -> Result<String, String> {
    text_with(file, || {})
}

/// [`text`], running `mid_read` after the bytes are read and before they
/// are checked: the seam the tests use to change the file at that moment.
fn text_with(file: &Path, mid_read: impl FnOnce()) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read the file: {e}");
    // `metadata` follows symlinks: a loop is an error here, and a link to a
    // device or a FIFO is seen as what it points to before anything opens it.
    let before = std::fs::metadata(file).map_err(cannot)?;
    if !before.is_file() {
        return Err(format!(
            "cannot read the file: it is {}, not a regular file",
            kind(&before)
        ));
    }
    too_large(before.len())?;
    let mut f = File::open(file).map_err(cannot)?;
    let opened = f.metadata().map_err(cannot)?;
    if !same_file(&before, &opened) {
        return Err(changed("replaced"));
    }
    let mut bytes = Vec::new();
    (&mut f)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    too_large(bytes.len() as u64)?;
    mid_read();
    let after = f.metadata().map_err(cannot)?;
    if after.len() != bytes.len() as u64 || after.modified().ok() != opened.modified().ok() {
        return Err(changed("changed"));
    }
    match std::fs::metadata(file) {
        Ok(now) if same_file(&now, &opened) => {}
        Ok(_) => return Err(changed("replaced")),
        Err(_) => return Err(changed("removed")),
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the file: it is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn too_large(len: u64) -> Result<(), String> {
    if len > MAX_BYTES {
        return Err(format!(
            "the file is {len} bytes; a config file may have at most {MAX_BYTES}: is it the right file?"
        ));
    }
    Ok(())
}

fn changed(how: &str) -> String {
    format!("the file was {how} while it was being read; read it again once it is written")
}

fn kind(m: &Metadata) -> &'static str {
    if m.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = m.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "something else"
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        assert_eq!(text(&f).unwrap(), "a: 1\n");
    }

    #[test]
    fn a_huge_file_is_refused_without_being_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("huge.yaml");
        // Sparse: 8 GiB that take no disk, and would take the memory.
        File::create(&f).unwrap().set_len(8 << 30).unwrap();
        let e = text(&f).unwrap_err();
        assert!(e.contains("8589934592 bytes"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn links_to_devices_fifos_and_loops_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = text(&zero).unwrap_err();
        assert!(e.contains("a device, not a regular file"), "{e}");

        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = text(&a).unwrap_err();
        assert!(e.starts_with("cannot read the file:"), "{e}");

        // `mkfifo`, through the shell: std cannot make one.
        let fifo = dir.path().join("fifo.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = text(&fifo).unwrap_err();
        assert!(e.contains("a FIFO, not a regular file"), "{e}");

        let e = text(dir.path()).unwrap_err();
        assert!(e.contains("a folder"), "{e}");
    }

    #[test]
    fn a_file_removed_while_it_is_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        let e = text_with(&f, || std::fs::remove_file(&f).unwrap()).unwrap_err();
        assert!(e.contains("removed while it was being read"), "{e}");
    }

    #[test]
    fn a_file_replaced_or_written_to_while_it_is_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        // An editor's save: a new file renamed over the old one.
        let e = text_with(&f, || {
            let new = dir.path().join("a.yaml.new");
            std::fs::write(&new, "a: 2\n").unwrap();
            std::fs::rename(&new, &f).unwrap();
        })
        .unwrap_err();
        assert!(e.contains("replaced while"), "{e}");
        // A copy still being written: more bytes arrive after the read.
        let e = text_with(&f, || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
            w.write_all(b"b: 2\n").unwrap();
        })
        .unwrap_err();
        assert!(e.contains("changed while"), "{e}");
    }

    #[test]
    fn bytes_that_are_not_text_are_refused_with_where() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.yaml");
        std::fs::write(&f, b"a: 1\n\xff\xfe").unwrap();
        let e = text(&f).unwrap_err();
        assert!(e.contains("not UTF-8 text (byte 5)"), "{e}");
    }
}
