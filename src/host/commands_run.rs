//! Test support: the external commands a host script runs, in order, each command it
//! may run wrapped to log its name (`systemctl` is not among them: a script finds no
//! `systemctl`).

use std::os::unix::fs::PermissionsExt;

/// Commands a host script may run, each logged by a wrapper of the same name.
const WRAPPED: &[&str] = &[
    "stat",
    "head",
    "readlink",
    "cat",
    "mktemp",
    "rm",
    "tr",
    "od",
    "awk",
    "id",
    "getent",
    "setpriv",
    "sha256sum",
    "sync",
    "mv",
];

/// Runs `script` with `sh -c`, each of [`WRAPPED`] logging its name; the names in the
/// order they ran, and the script's output.
pub fn commands_run(script: &str) -> (Vec<String>, std::process::Output) {
    let bin = tempfile::tempdir().expect("temp dir");
    let log = bin.path().join("log");
    for name in WRAPPED {
        let wrapper = bin.path().join(name);
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho {name} >> '{}'\nexec /usr/bin/{name} \"$@\"\n",
                log.display()
            ),
        )
        .expect("write a wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
            .expect("chmod a wrapper");
    }
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env("PATH", bin.path())
        .output()
        .expect("sh runs");
    let run = std::fs::read_to_string(&log).unwrap_or_default();
    (run.lines().map(str::to_owned).collect(), out)
}
