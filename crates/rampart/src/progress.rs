//! A one-line progress bar on standard error, for long CLI commands.

use std::io::Write;

/// A one-line progress bar on standard error.
pub struct Bar {
    pub label: &'static str,
}

impl Bar {
    pub fn show(&self, done: usize, total: usize) {
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        // One write: stderr is unbuffered, and the padding alone would be a call per space.
        let mut line = format!("\r{:<14} [{}{}] {percent:>3}% {done}/{total}", self.label, "#".repeat(filled), " ".repeat(width - filled));
        if done >= total {
            line.push('\n');
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
