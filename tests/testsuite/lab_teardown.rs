//! `lab down` when Docker refuses to remove the lab's network because an endpoint is still on
//! it ("network ... has active endpoints"; in the field a stale endpoint whose container is
//! gone): the endpoint is disconnected with `docker network disconnect -f`, `lab down` says
//! so and the network goes. Here the endpoint is a container outside the lab attached to
//! its network, which `lab down` does not remove (it removes the lab's containers only).

use std::process::Command;

use crate::support;

use support::lab::Lab;

/// A container of this test, removed when the test ends (whatever happened).
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}

fn docker(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn lab_down_disconnects_an_endpoint_left_on_the_lab_network_then_removes_it() {
    let lab = Lab::up_light("teardown", 1);
    let network = format!("wsdeploy-lab-{}", lab.name);
    let (ok, image) = docker(&[
        "inspect",
        "-f",
        "{{.Config.Image}}",
        &format!("wsdeploy-lab-{}-1", lab.name),
    ]);
    assert!(ok, "no lab host container: {image}");
    let probe = Container(format!("wsdeploy-teardown-probe-{}", std::process::id()));
    let (ok, out) = docker(&[
        "run",
        "-d",
        "--name",
        &probe.0,
        "--network",
        &network,
        "--entrypoint",
        "sleep",
        image.trim(),
        "infinity",
    ]);
    assert!(ok, "docker run of the probe failed: {out}");

    let out = Command::new(Lab::script())
        .args(["down", &lab.name])
        .output()
        .expect("tests/lab/lab runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lab down failed: {stderr}");
    assert!(
        stderr.contains(&format!(
            "network {network}: disconnected the endpoint {}",
            probe.0
        )),
        "lab down did not say what it disconnected: {stderr}"
    );
    let (exists, out) = docker(&["network", "inspect", &network]);
    assert!(!exists, "the lab network is still there: {out}");
    // Only disconnected: the container outside the lab is still there.
    let (ok, out) = docker(&["inspect", "-f", "{{.State.Running}}", &probe.0]);
    assert!(ok && out.trim() == "true", "the probe container: {out}");
}
