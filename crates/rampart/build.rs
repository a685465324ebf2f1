//! Links the `rampart` binary with packed relative relocations (DT_RELR) where the C
//! toolchain and library support them. The loader applies some 47,000 relative relocations
//! when the program starts; packed, their table is about 13 KiB instead of 1.1 MiB, and the
//! pages of the binary mapped in at start, which count towards the process's memory, are
//! fewer (`bench/pipeline-vs-intelmq` measures peak memory against the input's size).
//!
//! The flag is used only when a small program linked with it also runs: a linker older than
//! binutils 2.38 does not know it, and a C library older than glibc 2.36 cannot load its output.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    // The probe must run where the binary will: a native glibc build on x86-64.
    if target != host || target != "x86_64-unknown-linux-gnu" {
        return;
    }
    if probe_links_and_runs() {
        println!("cargo::rustc-link-arg-bins={FLAG}");
    } else {
        println!("cargo::warning=linking without packed relative relocations (the C toolchain or library lacks them)");
    }
}

/// Links a program with one relative relocation (a pointer to a static) with the flag, as a
/// position-independent executable like Rust's, and runs it.
fn probe_links_and_runs() -> bool {
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else { return false };
    let source = out.join("relr_probe.c");
    let program = out.join("relr_probe");
    let code = "static int answer = 42;\nint *pointer = &answer;\nint main(void) { return *pointer == 42 ? 0 : 1; }\n";
    if std::fs::write(&source, code).is_err() {
        return false;
    }
    let quiet = |command: &mut Command| command.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    quiet(Command::new("cc").arg("-fPIE").arg("-pie").arg(FLAG).arg(&source).arg("-o").arg(&program)) && quiet(&mut Command::new(&program))
}
