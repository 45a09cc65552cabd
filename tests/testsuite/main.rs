//! Every integration test in one binary (one link instead of one per file); each file is
//! a module, run one with `cargo test --test testsuite NAME::`.
//!
//! Three tiers, compiled in or not (docs/testing.md): a plain `cargo test` builds the
//! tests that need nothing but the toolchain, `sh` and coreutils, as any user; the feature
//! `host-tests` adds those that need root on this machine, a real sshd, nginx, the Python
//! oracles or PostgreSQL (whole modules here, single tests in the mixed modules), and
//! `lab-tests` the Docker lab.

mod support;

mod cli_errors;
mod cli_habits;
mod compose_ports_local;
mod docs_plans;
mod dry_run_local;
#[cfg(feature = "host-tests")]
mod dump_cache;
mod editors_corpus;
mod fastapi_plan_local;
mod fleet_local;
mod frappe_plan_local;
mod fuzz_nginx;
#[cfg(feature = "host-tests")]
mod history;
mod host_scripts;
mod install;
#[cfg(feature = "host-tests")]
mod interrupted_runs;
mod inventory;
mod inventory_ansible_compat;
mod inventory_ini;
#[cfg(feature = "host-tests")]
mod journal_crash_points;
#[cfg(feature = "lab-tests")]
mod lab_bastion;
#[cfg(feature = "lab-tests")]
mod lab_daily;
#[cfg(feature = "lab-tests")]
mod lab_fastapi;
#[cfg(feature = "lab-tests")]
mod lab_faults;
#[cfg(feature = "lab-tests")]
mod lab_frappe;
#[cfg(feature = "lab-tests")]
mod lab_light;
#[cfg(feature = "lab-tests")]
mod lab_odoo;
#[cfg(feature = "lab-tests")]
mod lab_odoo_systemd;
#[cfg(feature = "lab-tests")]
mod lab_real_world_fastapi;
#[cfg(feature = "lab-tests")]
mod lab_real_world_frappe;
#[cfg(feature = "lab-tests")]
mod lab_real_world_odoo;
#[cfg(feature = "lab-tests")]
mod lab_teardown;
#[cfg(feature = "lab-tests")]
mod lab_tutorial;
#[cfg(feature = "host-tests")]
mod lock_heartbeat;
mod nginx_corpus;
mod odoo_plan_local;
mod password_prompt;
mod plan_commands;
mod plan_conditions;
mod plan_facts_unless;
mod progress;
mod project_config;
mod readme;
#[cfg(feature = "host-tests")]
mod real_world_sites;
#[cfg(feature = "host-tests")]
mod reliability_backups;
#[cfg(feature = "lab-tests")]
mod reliability_chaos;
mod reliability_host_data;
mod reliability_hostile;
mod reliability_input;
#[cfg(feature = "host-tests")]
mod reliability_local_attacker;
#[cfg(feature = "host-tests")]
mod reliability_lost_update;
mod reliability_memory;
mod reliability_review;
mod reliability_secrets;
#[cfg(feature = "host-tests")]
mod reliability_ssh;
mod reliability_state_dir;
#[cfg(feature = "host-tests")]
mod reliability_timeouts;
#[cfg(feature = "host-tests")]
mod reliability_undo;
#[cfg(feature = "host-tests")]
mod round_trips;
mod schedule;
#[cfg(feature = "host-tests")]
mod signals;
#[cfg(feature = "host-tests")]
mod ssh_certs;
mod ssh_config;
mod ssh_transport;
mod structure;
mod validate;
#[cfg(feature = "host-tests")]
mod vault;
