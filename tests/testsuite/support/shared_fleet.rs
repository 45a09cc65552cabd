//! One lab started for all the tests of a module: `lab up` once, on the first test that
//! needs hosts, for every host the module's tests need together. Each test takes hosts no
//! other test has had (fresh, as from a `lab up` of its own: isolation is kept), sees them
//! as `lab-1`, `lab-2`, … in an inventory, key and known_hosts of its own, and removes
//! them when it ends; the lab itself goes (`lab down`) when the test process exits.
//!
//! The hosts boot together instead of one lab after the other, and the tests skip the
//! `lab up`/`lab down` of a lab of their own (network, key, image checks, the wait).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

use super::lab::Lab;

/// Hosts of one role and options for the tests of one module (a `static` there).
pub struct SharedFleet {
    /// The lab's name (the process id is added, as for [`Lab::up`]).
    name: &'static str,
    /// How many hosts the module's tests take together.
    hosts: usize,
    /// `lab up` options (`--role fastapi`, `--odoo real`, …).
    options: &'static [&'static str],
    /// The lab's name and directory once up, or why `lab up` failed.
    up: OnceLock<Result<(String, PathBuf), String>>,
    /// Hosts taken so far.
    taken: Mutex<usize>,
}

/// Labs started by a [`SharedFleet`] in this process, taken down at its exit.
static STARTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl SharedFleet {
    pub const fn new(name: &'static str, hosts: usize, options: &'static [&'static str]) -> Self {
        Self {
            name,
            hosts,
            options,
            up: OnceLock::new(),
            taken: Mutex::new(0),
        }
    }

    /// `hosts` fresh hosts for the test `test` (a name unique in the module). Starts the
    /// fleet on first use; panics with the lab's output if that failed, or if the
    /// module's tests take more hosts than the fleet has.
    pub fn take(&'static self, test: &str, hosts: usize) -> Lab {
        let (lab_name, fleet_dir) = match self.up.get_or_init(|| self.start()) {
            Ok(up) => up,
            Err(why) => panic!("{why}"),
        };
        let first = {
            let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
            let first = *taken;
            assert!(
                first + hosts <= self.hosts,
                "the shared lab `{}` has {} hosts, its tests take more: raise its host count",
                self.name,
                self.hosts
            );
            *taken += hosts;
            first
        };
        let outdir = fleet_dir.join(test);
        super::lab::claim(&outdir.display().to_string());
        // From here on, dropping `lab` removes its hosts.
        let lab = Lab::slice(lab_name, first, hosts, outdir.clone());
        write_slice(fleet_dir, &outdir, first, hosts);
        lab
    }

    fn start(&self) -> Result<(String, PathBuf), String> {
        let name = format!("{}-{}", self.name, std::process::id());
        let outdir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/lab/.run")
            .join(&name);
        let _ = Command::new(Lab::script()).args(["down", &name]).output();
        STARTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name.clone());
        let out = Command::new(Lab::script())
            .args([
                "up",
                &name,
                &self.hosts.to_string(),
                &outdir.display().to_string(),
            ])
            .args(self.options)
            // `lab up`'s default wait (90 s + 2 s a host) is for hosts booting side by
            // side; this many boot on the same cores.
            .env(
                "LAB_UP_TIMEOUT",
                std::env::var("LAB_UP_TIMEOUT")
                    .unwrap_or_else(|_| (90 + 20 * self.hosts).to_string()),
            )
            .output()
            .map_err(|e| format!("tests/lab/lab does not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "lab up {name} {} {} failed:\n{}\n{}",
                self.hosts,
                self.options.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((name, outdir))
    }
}

/// Writes `outdir`: the fleet's inventory with its hosts `first+1 ..= first+hosts` only,
/// renamed `lab-1 ..`, and the key, known_hosts lines and CA those need.
fn write_slice(fleet_dir: &Path, outdir: &Path, first: usize, hosts: usize) {
    std::fs::create_dir_all(outdir).expect("mkdir the test's lab directory");
    let read = |file: &str| {
        std::fs::read_to_string(fleet_dir.join(file))
            .unwrap_or_else(|e| panic!("read {}: {e}", fleet_dir.join(file).display()))
    };
    // The fleet's key, known_hosts and CA are referred to by path in the inventory.
    let fleet = format!("{}/", fleet_dir.display());
    let own = format!("{}/", outdir.display());
    let mut inventory = String::new();
    let mut addresses = Vec::new();
    for line in read("hosts.yml").lines() {
        let trimmed = line.trim_start();
        let host = trimmed
            .strip_prefix("lab-")
            .and_then(|rest| rest.split_once(": {"))
            .and_then(|(n, _)| n.parse::<usize>().ok());
        let line = match host {
            Some(n) if n > first && n <= first + hosts => {
                let address = trimmed
                    .split_once("ansible_host: ")
                    .and_then(|(_, rest)| rest.split([',', '}']).next())
                    .expect("the lab inventory names each host's ansible_host");
                addresses.push(address.trim().to_owned());
                line.replacen(
                    &format!("lab-{n}: {{"),
                    &format!("lab-{}: {{", n - first),
                    1,
                )
            }
            Some(_) => continue,
            None => line.to_owned(),
        };
        inventory.push_str(&line.replace(&fleet, &own));
        inventory.push('\n');
    }
    assert_eq!(addresses.len(), hosts, "hosts of the shared lab in {fleet}");
    let known_hosts: String = read("known_hosts")
        .lines()
        .filter(|l| addresses.iter().any(|a| l.split(' ').next() == Some(a)))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(outdir.join("known_hosts"), known_hosts).expect("write known_hosts");
    std::fs::write(outdir.join("hosts.yml"), inventory).expect("write hosts.yml");
    // `copy` keeps the key's mode (0600), which ssh insists on.
    std::fs::copy(fleet_dir.join("id_ed25519"), outdir.join("id_ed25519")).expect("copy key");
    if fleet_dir.join("ca.pem").exists() {
        std::fs::copy(fleet_dir.join("ca.pem"), outdir.join("ca.pem")).expect("copy CA");
    }
}

/// Removes the hosts of `lab` (taken from a [`SharedFleet`]) with their volumes, and its
/// directory.
pub fn remove_hosts(lab: &Lab) {
    for i in 1..=lab.hosts {
        let container = lab.container(i);
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &container])
            .output();
        let _ = Command::new("docker")
            .args(["volume", "rm", "-f", &format!("{container}-docker")])
            .output();
    }
    let _ = std::fs::remove_dir_all(&lab.outdir);
}

/// `lab down` of every shared lab when the test process exits (after the last test;
/// a `static` is never dropped, so this runs from the process's exit handlers).
extern "C" fn down_started_fleets() {
    if std::env::var_os("WSDEPLOY_KEEP_LAB").is_some() {
        return;
    }
    let names = std::mem::take(&mut *STARTED.lock().unwrap_or_else(PoisonError::into_inner));
    for name in names {
        let _ = Command::new(Lab::script()).args(["down", &name]).output();
    }
}

#[used]
#[unsafe(link_section = ".fini_array")]
static DOWN_AT_EXIT: extern "C" fn() = down_started_fleets;
