//! Lab hosts reached the way Ansible users reach theirs: through a bastion (one lab host
//! running only sshd in front of the others, which drop every packet to the controller),
//! declared in `ssh_config` (`ProxyJump`) or in `ansible_ssh_common_args`
//! (`ProxyCommand="ssh -W %h:%p ..."`); and a user without NOPASSWD who logs in with a
//! password and becomes root with a sudo password, both given on stdin, never in argv
//! or sudo's log.

use crate::support;

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use support::lab::Lab;
use support::project::Run;
use support::shared_fleet::SharedFleet;

/// The hosts of every test here (4: three and one), started together; each test takes
/// fresh ones.
static FLEET: SharedFleet = SharedFleet::new("bastion", 4, &["--role", "odoo"]);

fn wsdeploy(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("wsdeploy").expect("binary");
    cmd.arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("WSDEPLOY_SSH_PASSWORD")
        .env_remove("WSDEPLOY_BECOME_PASSWORD");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("wsdeploy runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The lab's inventory with each host line passed through `edit(index, line)`
/// (`None` drops the host).
fn edited_inventory(lab: &Lab, edit: impl Fn(usize, &str) -> Option<String>) -> String {
    let text = std::fs::read_to_string(lab.inventory()).expect("read the lab inventory");
    text.lines()
        .filter_map(|line| {
            let trimmed = line.trim_start();
            match (1..=lab.hosts).find(|i| trimmed.starts_with(&format!("lab-{i}: {{"))) {
                Some(i) => edit(i, line),
                None => Some(line.to_owned()),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

/// Makes host `i` unreachable from the controller: replies to the Docker gateway (where
/// the controller's connections come from) are dropped; other lab hosts still reach it.
fn hide_from_controller(lab: &Lab, i: usize) {
    lab.ok(
        i,
        "gw=$(ip route show default | awk '{print $3; exit}'); test -n \"$gw\" && ip route add blackhole \"$gw/32\"",
    );
    let address: SocketAddr = format!("{}:22", lab.ip(i)).parse().expect("address");
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_secs(3)).is_err(),
        "host {i} is still reachable from the controller"
    );
}

#[test]
fn apply_through_a_bastion_declared_in_ssh_config_and_in_ansible_ssh_common_args() {
    let lab = FLEET.take("bastion", 3);
    for i in 2..=3 {
        hide_from_controller(&lab, i);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = lab.outdir.join("id_ed25519");
    let known_hosts = lab.known_hosts();
    let bastion_ip = lab.ip(1);
    let config = write(
        dir.path(),
        "ssh_config",
        &format!(
            "Host lab-bastion\n  HostName {bastion_ip}\n  User root\n  IdentityFile {key}\n\
             Host lab-2\n  HostName {ip2}\n  ProxyJump lab-bastion\n\
             Host *\n  UserKnownHostsFile {kh}\n",
            key = key.display(),
            ip2 = lab.ip(2),
            kh = known_hosts.display(),
        ),
    );
    // lab-2: an ssh_config alias (no ansible_host); lab-3: the Ansible bastion idiom.
    let inventory = edited_inventory(&lab, |i, line| {
        match i {
        1 => None,
        2 => Some(line.replace(&format!("ansible_host: {}, ", lab.ip(2)), "")),
        _ => Some(line.replace(
            "public_host:",
            &format!(
                "ansible_ssh_common_args: '-o ProxyCommand=\"ssh -W %h:%p -q -i {key} root@{bastion_ip}\" -o UserKnownHostsFile={kh}', public_host:",
                key = key.display(),
                kh = known_hosts.display()
            ),
        )),
    }
    });
    let inventory = write(dir.path(), "hosts.yml", &inventory);

    let run = wsdeploy(&["apply", "-i", &inventory, "-F", &config], &[]);
    run.code(0).stdout_has("2 changed");
    for i in 2..=3 {
        lab.assert_healthy(i);
        let handshake = lab.handshake(i, true);
        assert!(handshake.contains("101 Switching Protocols"), "{handshake}");
    }
    // The bastion itself was never touched.
    assert_eq!(lab.sh(1, "test -e /var/lib/wsdeploy/runs").0, 1);

    wsdeploy(&["apply", "-i", &inventory, "-F", &config], &[])
        .code(0)
        .stdout_has("2 in sync");

    // Without the bastion the hosts cannot be reached at all.
    let direct = edited_inventory(&lab, |i, line| (i == 3).then(|| line.to_owned()));
    let direct = write(dir.path(), "direct.yml", &direct);
    wsdeploy(
        &[
            "apply",
            "-i",
            &direct,
            "--known-hosts",
            &known_hosts.to_string_lossy(),
            "--connect-timeout",
            "3",
        ],
        &[],
    )
    .code(1)
    .stdout_has("timed out");
}

const LOGIN_PASSWORD: &str = "pa ss$w0rd!#1";
const BECOME_PASSWORD: &str = "pa ss$w0rd!#1";

#[test]
#[expect(clippy::too_many_lines, reason = "one end-to-end scenario in order")]
fn password_login_and_a_sudo_password_on_stdin_for_a_user_without_nopasswd() {
    let lab = FLEET.take("become-pw", 1);
    // alice: a password, sudo for everything WITH a password; sshd accepts passwords for her.
    lab.ok(
        1,
        &format!(
            "useradd -m -s /bin/bash alice && printf '%s\\n' 'alice:{LOGIN_PASSWORD}' | chpasswd && \
             printf 'Defaults logfile=/var/log/sudo-test.log\\nalice ALL=(ALL) ALL\\n' > /etc/sudoers.d/alice && chmod 0440 /etc/sudoers.d/alice && visudo -c && \
             printf 'Match User alice\\n  PasswordAuthentication yes\\n' >> /etc/ssh/sshd_config && sshd -t && kill -HUP \"$(cat /run/sshd.pid)\""
        ),
    );
    // sudo really wants a password from alice.
    let (code, text) = lab.sh(1, "su alice -c 'sudo -n true'");
    assert_ne!(code, 0, "alice must not have NOPASSWD: {text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let as_alice = |extra: &str| {
        edited_inventory(&lab, |_, line| {
            Some(line.replace(
                &format!(
                    "ansible_user: root, ansible_ssh_private_key_file: {}",
                    lab.outdir.join("id_ed25519").display()
                ),
                &format!("ansible_user: alice, ansible_become: true{extra}"),
            ))
        })
    };
    let from_env = write(dir.path(), "env.yml", &as_alice(""));
    let kh = lab.known_hosts().to_string_lossy().into_owned();
    let before = lab.config_sums(1);

    // A wrong sudo password: the host fails before any change.
    let wrong = wsdeploy(
        &["apply", "-i", &from_env, "--known-hosts", &kh],
        &[
            ("WSDEPLOY_SSH_PASSWORD", LOGIN_PASSWORD),
            ("WSDEPLOY_BECOME_PASSWORD", "not the password"),
        ],
    );
    wrong.code(1);
    let said = format!("{}{}", wrong.stdout, wrong.stderr);
    assert!(
        said.contains("hint: sudo refused the become password"),
        "the failure says what to fix:\n{said}"
    );
    assert_eq!(lab.config_sums(1), before, "nothing changed");

    // No become password at all: `sudo -n` refuses, and the hint names -K.
    let none = wsdeploy(
        &["apply", "-i", &from_env, "--known-hosts", &kh],
        &[("WSDEPLOY_SSH_PASSWORD", LOGIN_PASSWORD)],
    );
    none.code(1);
    let said = format!("{}{}", none.stdout, none.stderr);
    assert!(
        said.contains("hint: sudo wants a password here: pass -K"),
        "the failure says what to fix:\n{said}"
    );
    assert_eq!(lab.config_sums(1), before, "nothing changed");

    // A wrong login password: authentication fails, naming the password.
    wsdeploy(
        &["apply", "-i", &from_env, "--known-hosts", &kh],
        &[
            ("WSDEPLOY_SSH_PASSWORD", "wrong"),
            ("WSDEPLOY_BECOME_PASSWORD", BECOME_PASSWORD),
        ],
    )
    .code(1)
    .stdout_has("authentication failed for alice@")
    .stdout_has("password");

    // Both passwords from the environment.
    let run = wsdeploy(
        &["apply", "-i", &from_env, "--known-hosts", &kh],
        &[
            ("WSDEPLOY_SSH_PASSWORD", LOGIN_PASSWORD),
            ("WSDEPLOY_BECOME_PASSWORD", BECOME_PASSWORD),
        ],
    );
    run.code(0).stdout_has("1 changed");
    lab.assert_healthy(1);
    assert!(lab.handshake(1, true).contains("101 Switching Protocols"));
    assert!(!run.stdout.contains(BECOME_PASSWORD) && !run.stderr.contains(BECOME_PASSWORD));

    // Both passwords from inventory variables (as vault would provide them).
    let from_vars = write(
        dir.path(),
        "vars.yml",
        &as_alice(&format!(
            ", ansible_password: \"{LOGIN_PASSWORD}\", ansible_become_password: \"{BECOME_PASSWORD}\""
        )),
    );
    let again = wsdeploy(&["apply", "-i", &from_vars, "--known-hosts", &kh], &[]);
    again.code(0).stdout_has("1 in sync");

    // deploy has NOPASSWD: the become password given anyway is dropped on the host, never
    // reaching sudo or the command (`sudo -n` succeeds first).
    let deploy = write(
        dir.path(),
        "deploy.yml",
        &edited_inventory(&lab, |_, line| {
            Some(line.replace(
                "ansible_user: root,",
                "ansible_user: deploy, ansible_become: true,",
            ))
        }),
    );
    wsdeploy(
        &["apply", "-i", &deploy, "--known-hosts", &kh],
        &[("WSDEPLOY_BECOME_PASSWORD", BECOME_PASSWORD)],
    )
    .code(0)
    .stdout_has("1 in sync");

    // sudo ran the plan's commands for alice, and its log shows neither them nor the password.
    let log = lab.ok(1, "cat /var/log/sudo-test.log");
    assert!(
        log.contains("alice") && log.contains("deploy") && log.contains("COMMAND="),
        "{log}"
    );
    for secret_or_command in [BECOME_PASSWORD, "nginx -s reload", "docker restart"] {
        assert!(
            !log.contains(secret_or_command),
            "sudo's log shows {secret_or_command:?}:\n{log}"
        );
    }
    let (_, found) = lab.sh(
        1,
        &format!("grep -rlF -- '{BECOME_PASSWORD}' /var/lib/wsdeploy /var/log /tmp /home/alice 2>/dev/null"),
    );
    assert_eq!(found.trim(), "", "the password was written on the host");
}
