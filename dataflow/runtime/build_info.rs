//! Build script of both binaries: the commit they are built from, as `PRICESTREAM_GIT_SHA`
//! for `pricestream_build_info{git_sha}`. The environment variable of that name wins (image
//! builds pass it, their context has no `.git`); otherwise `git rev-parse HEAD`; otherwise
//! `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PRICESTREAM_GIT_SHA");
    let from_env = std::env::var("PRICESTREAM_GIT_SHA").ok().filter(|sha| !sha.is_empty());
    let sha = from_env.or_else(|| {
        // Rebuilt when HEAD moves: the files that name the current commit.
        for path in ["HEAD", "packed-refs"] {
            if let Some(file) = git(&["rev-parse", "--git-path", path]) {
                println!("cargo:rerun-if-changed={file}");
            }
        }
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
            && let Some(file) = git(&["rev-parse", "--git-path", &branch])
        {
            println!("cargo:rerun-if-changed={file}");
        }
        git(&["rev-parse", "HEAD"])
    });
    println!("cargo:rustc-env=PRICESTREAM_GIT_SHA={}", sha.unwrap_or_else(|| "unknown".into()));
}
