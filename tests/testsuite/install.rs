//! What installing wsdeploy needs: shell completions and a man page printed by the
//! binary (checked by the real bash and man), a LICENSE matching Cargo.toml, and a
//! release profile that strips and links with LTO.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::project::Project;

const BIN: &str = env!("CARGO_BIN_EXE_wsdeploy");

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("wsdeploy runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completion_loads_and_completes_subcommands_and_flags() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("wsdeploy.bash");
    std::fs::write(&file, &script).expect("write");
    // Load it in a real bash and ask it to complete `wsdeploy va` and `wsdeploy apply --ch`.
    let probe = format!(
        "source '{}'\n\
         COMP_WORDS=(wsdeploy va); COMP_CWORD=1; _wsdeploy wsdeploy va wsdeploy; echo \"sub: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(wsdeploy apply --ch); COMP_CWORD=2; _wsdeploy wsdeploy --ch apply; echo \"flag: ${{COMPREPLY[*]}}\"\n",
        file.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(probe)
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("sub: validate"), "{text}");
    assert!(text.contains("flag: --check"), "{text}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(
            stdout_of(&["completions", shell]).contains("validate"),
            "{shell}"
        );
    }
    Project::new()
        .run(&["completions", "tcsh"])
        .code(3)
        .stderr_has("invalid value 'tcsh'");
}

#[test]
fn man_page_renders_with_every_subcommand() {
    let page = stdout_of(&["man"]);
    let dir = tempfile::tempdir().expect("temp");
    let file = dir.path().join("wsdeploy.1");
    std::fs::write(&file, &page).expect("write");
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .expect("man (man-db) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "Agentless, idempotent, transactional",
        "WSDEPLOY APPLY",
        "WSDEPLOY VALIDATE",
        "WSDEPLOY SCHEDULE",
        "--check",
        "--connect-timeout",
    ] {
        assert!(text.contains(needle), "man page lacks {needle:?}:\n{text}");
    }
}

#[test]
fn license_matches_cargo_toml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("\nlicense = \"MIT\"\n"),
        "Cargo.toml license"
    );
    let license = std::fs::read_to_string(root.join("LICENSE")).expect("LICENSE exists");
    assert!(license.starts_with("MIT License\n"), "{license}");
    assert!(license.contains("Permission is hereby granted, free of charge"));
}

#[test]
fn release_profile_strips_and_uses_lto_without_debug_info() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let release: String = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a [profile.release] section")
        .lines()
        .take_while(|l| !l.starts_with('['))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(release.contains("strip = true"), "{release}");
    assert!(release.contains("lto = true"), "{release}");
    assert!(
        !release.contains("debug"),
        "release keeps debug off: {release}"
    );
}
