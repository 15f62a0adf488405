//! `calsync bench [--quick] [--scale]`: a thin launcher. The benchmark is its own binary, `calsync-bench`
//! (`crates/calsync-bench`), so that the product library holds no benchmark code; this runs the one
//! built beside this executable with the same `--config`, `--quick` and `--scale` (it takes this process's
//! place, so its output, signals and exit code are the command's), or fails naming the build command.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

/// The benchmark binary's name.
const BENCH: &str = "calsync-bench";

/// Runs `calsync-bench` from beside this executable; returns only if it could not be started.
pub fn run(config: Option<&Path>, quick: bool, scale: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the calsync executable")?;
    let bench = beside(&exe);
    if !bench.is_file() {
        return Err(anyhow!(
            "the benchmark is its own binary and {} is not built; build it with `{}` (from the checkout), then run `calsync bench` again",
            bench.display(),
            build_command(&exe)
        ));
    }
    let mut cmd = std::process::Command::new(&bench);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    if quick {
        cmd.arg("--quick");
    }
    if scale {
        cmd.arg("--scale");
    }
    exec(cmd).with_context(|| format!("running {}", bench.display()))
}

/// `calsync-bench` in the directory of `exe`.
fn beside(exe: &Path) -> PathBuf {
    exe.with_file_name(format!("{BENCH}{}", std::env::consts::EXE_SUFFIX))
}

/// The cargo command that builds `calsync-bench` beside `exe`, when `exe` is cargo's build of calsync
/// (`--release` for one under `release/`).
fn build_command(exe: &Path) -> String {
    let release = exe
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|dir| dir == "release");
    format!(
        "cargo build{} -p {BENCH}",
        if release { " --release" } else { "" }
    )
}

#[cfg(unix)]
fn exec(mut cmd: std::process::Command) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    Err(cmd.exec().into())
}

#[cfg(not(unix))]
fn exec(mut cmd: std::process::Command) -> anyhow::Result<()> {
    let status = cmd.status()?;
    match status.code() {
        Some(0) => Ok(()),
        _ => Err(anyhow!("{BENCH} failed ({status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_command_matches_the_profile_of_the_executable() {
        let at = |dir: &str| build_command(&Path::new(dir).join("calsync"));
        assert_eq!(at("/t/release"), "cargo build --release -p calsync-bench");
        assert_eq!(at("/t/debug"), "cargo build -p calsync-bench");
        assert_eq!(at("/tmp/x"), "cargo build -p calsync-bench");
        assert!(beside(Path::new("/t/debug/calsync")).starts_with("/t/debug"));
    }
}
