//! Fixture files: a header of `# ` lines naming the vendor document they
//! follow, one empty line, then the body exactly as the device sends it.
//! Templates (under `templates/`) are the same, with minijinja placeholders
//! where the simulator puts its live state.

use minijinja::Environment;
use serde::Serialize;

pub use ronda_agent::fixture::body;

/// Render a template with `ctx`. A template error is the simulator's own bug,
/// so it is logged and answered as an empty body rather than crashing.
pub fn render(name: &str, template: &str, ctx: impl Serialize) -> String {
    let env = Environment::new();
    match env.render_str(body(template), ctx) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_and_the_blank_line_are_dropped() {
        assert_eq!(body("# Doc, section 1\n# case: normal\n\n<a/>\n"), "<a/>\n");
        assert_eq!(body("{\"x\":1}"), "{\"x\":1}");
    }

    #[test]
    fn templates_render_state() {
        // Booleans go through `tojson`: minijinja writes a bare one as `True`.
        let out = render(
            "t",
            "# doc\n\n{\"on\":{{ on|tojson }}}",
            minijinja::context! { on => true },
        );
        assert_eq!(out, "{\"on\":true}");
    }
}
