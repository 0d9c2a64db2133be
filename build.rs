//! Concatenate the message catalog files (src/web/i18n/<lang>/*.txt, one file per area) into
//! one file per language, so each feature keeps its strings in its own file. Also tells cargo
//! that the crate depends on `migrations/`: `sqlx::migrate!` embeds them, and without this a new
//! migration file would not rebuild the binary.

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    println!("cargo:rerun-if-changed=src/web/i18n");
    println!("cargo:rerun-if-changed=migrations");
    for lang in ["zh-CN", "en"] {
        let dir = Path::new("src/web/i18n").join(lang);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        let mut all = String::new();
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            all.push_str(&format!("# --- {}\n", f.file_name().unwrap().to_string_lossy()));
            all.push_str(&std::fs::read_to_string(&f).unwrap());
            all.push('\n');
        }
        std::fs::write(Path::new(&out).join(format!("{lang}.txt")), all).unwrap();
    }
}
