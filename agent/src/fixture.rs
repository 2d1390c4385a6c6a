//! Vendor fixture files (`sim/fixtures/<vendor>/`): a header of `# ` lines
//! naming the vendor document they follow, one empty line, then the body
//! exactly as the device sends it. The simulator serves the bodies; the
//! agent's tests parse them. One reading of the format for both.

/// The body of a fixture or template, without its header.
pub fn body(file: &str) -> &str {
    let mut rest = file;
    while let Some(line_end) = rest.find('\n') {
        let line = &rest[..line_end];
        if line.starts_with("# ") || line == "#" {
            rest = &rest[line_end + 1..];
        } else {
            break;
        }
    }
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
        .unwrap_or(rest)
}

/// The body of `sim/fixtures/<vendor>/<name>`, for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub fn read(vendor: &str, name: &str) -> String {
    let path = format!(
        "{}/../sim/fixtures/{vendor}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    body(&text).to_owned()
}
