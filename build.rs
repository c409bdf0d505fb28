//! Puts the repository's `seeds/` inside the binary: the first content ships
//! with Beacon, so `beacon serve` started anywhere has it.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it is compiled: a target
    // directory shared by several checkouts reuses the compiled script.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let seeds = Path::new(&manifest).join("seeds");
    println!("cargo:rerun-if-changed={}", seeds.display());
    let mut files: Vec<_> = std::fs::read_dir(&seeds)
        .unwrap_or_else(|error| panic!("reading {}: {error}", seeds.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut code = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("]\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_seeds.rs");
    std::fs::write(out, code).unwrap();
}
