//! Puts what `beacon serve` needs at run time inside the binary: the
//! repository's `seeds/` (the first content ships with Beacon, so `serve`
//! started anywhere has it), GraphiQL's files and the editor app's, gzipped
//! once here rather than on every request.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it is compiled: a target
    // directory shared by several checkouts reuses the compiled script.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    embed_seeds(Path::new(&manifest), &out);
    let manifest = Path::new(&manifest);
    embed_assets(
        manifest,
        &out,
        "graphiql",
        "backend/http/graphiql",
        &[
            (
                "vendor/react.production.min.js",
                "text/javascript; charset=utf-8",
            ),
            (
                "vendor/react-dom.production.min.js",
                "text/javascript; charset=utf-8",
            ),
            ("vendor/graphiql.min.js", "text/javascript; charset=utf-8"),
            ("vendor/graphiql.min.css", "text/css; charset=utf-8"),
            ("start.js", "text/javascript; charset=utf-8"),
        ],
    );
    embed_assets(
        manifest,
        &out,
        "admin",
        "backend/http/admin/assets",
        &[
            ("admin.css", "text/css; charset=utf-8"),
            ("admin.js", "text/javascript; charset=utf-8"),
        ],
    );
}

fn embed_seeds(manifest: &Path, out: &Path) {
    let seeds = manifest.join("seeds");
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
    std::fs::write(out.join("embedded_seeds.rs"), code).unwrap();
}

/// A page's files (GraphiQL's, the editor app's) with their media types,
/// each also gzipped, and a tag drawn from their contents: the tag is in
/// their URLs, so they can be cached for good and a new build never meets
/// an old cached file. Written as `{name}_assets.rs` and `{name}_tag.rs`.
fn embed_assets(manifest: &Path, out: &Path, name: &str, folder: &str, files: &[(&str, &str)]) {
    let folder = manifest.join(folder);
    let mut fingerprint = Fnv::default();
    let mut code = String::from("&[\n");
    for (file, media_type) in files {
        let path = folder.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
        fingerprint.write(&bytes);
        let file_name = Path::new(file).file_name().unwrap().to_string_lossy();
        let gzipped = out.join(format!("{name}-{file_name}.gz"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &bytes).unwrap();
        std::fs::write(&gzipped, encoder.finish().unwrap()).unwrap();
        writeln!(
            code,
            "    Asset {{ name: {file_name:?}, media_type: {media_type:?}, plain: include_bytes!({:?}), gzipped: include_bytes!({:?}) }},",
            path.display().to_string(),
            gzipped.display().to_string(),
        )
        .unwrap();
    }
    code.push_str("]\n");
    std::fs::write(out.join(format!("{name}_assets.rs")), code).unwrap();
    std::fs::write(
        out.join(format!("{name}_tag.rs")),
        format!("\"{:016x}\"", fingerprint.0),
    )
    .unwrap();
}

/// FNV-1a: a fingerprint that is the same in every build of the same bytes
/// (std's hashers promise no such thing).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
