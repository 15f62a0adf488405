//! The emulator recipe of docs/emulator.md, run as written (the block between its `recipe:start` and
//! `recipe:end` markers, in bash): the emulator, the three sample calendars, `calsync serve` with
//! push, a change at Google, and the row in PostgreSQL brought by push. Only the ports and the
//! database are chosen here, through the variables the recipe reads.

use std::os::unix::process::CommandExt as _;
use std::time::Duration;

use calsync_testkit::create_database;

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn recipe() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/emulator.md"))
        .expect("docs/emulator.md");
    let block = doc
        .split_once("<!-- recipe:start -->")
        .and_then(|(_, rest)| rest.split_once("<!-- recipe:end -->"))
        .map(|(block, _)| block)
        .expect("the recipe markers in docs/emulator.md");
    let body = block
        .trim()
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("one ```sh block between the markers");
    body.to_string()
}

#[tokio::test]
async fn the_emulator_recipe_in_the_docs_brings_a_google_change_by_push() {
    let (db_url, _) = create_database().await;
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(recipe())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CALSYNC_BIN", env!("CARGO_BIN_EXE_calsync"))
        .env("EMULATOR", free_addr())
        .env("CALSYNC", free_addr())
        .env("DATABASE_URL", &db_url)
        .env("REDIS_URL", calsync_testkit::REDIS_URL.as_str())
        .env("RUST_LOG", "warn")
        // Its own process group, so a recipe that hangs is killed with its background servers.
        .process_group(0);
    let mut child = tokio::process::Command::from(cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bash");
    let pgid = child.id().expect("pid") as i32;
    let out = tokio::time::timeout(Duration::from_secs(90), async {
        let mut stdout = String::new();
        let mut stderr = String::new();
        use tokio::io::AsyncReadExt as _;
        let (mut o, mut e) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (_, _, status) = tokio::join!(
            o.read_to_string(&mut stdout),
            e.read_to_string(&mut stderr),
            child.wait()
        );
        (status, stdout, stderr)
    })
    .await;
    let Ok((status, stdout, stderr)) = out else {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        panic!("the recipe did not finish within 90 s");
    };
    let status = status.expect("bash status");
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(stdout.contains("Séminaire"), "{stdout}\n{stderr}");
    assert!(stdout.contains("chercheur"), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.trim().lines().last(),
        Some("push"),
        "{stdout}\n{stderr}"
    );
}
