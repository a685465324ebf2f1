//! Where the shared external test data lives, for tests of every crate: the folder
//! `shared/testdata` beside the project (found from this crate upwards), or
//! `RAMPART_SHARED_TESTDATA`. Not used by Rampart itself.

use std::path::PathBuf;

/// `rel` inside the shared test data. Panics with directions when it is not there, so a
/// test never passes without its data.
pub fn path(rel: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("RAMPART_SHARED_TESTDATA") {
        return PathBuf::from(dir).join(rel);
    }
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in here.ancestors() {
        let candidate = dir.join("shared").join("testdata");
        if candidate.is_dir() {
            return candidate.join(rel);
        }
    }
    panic!("the shared test data (shared/testdata beside the project) was not found above {}; set RAMPART_SHARED_TESTDATA", here.display())
}

/// The text of a file in the shared test data.
pub fn read(rel: &str) -> String {
    let p = path(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
