//! Shared test support: throwaway projects, the lab fleet, a throwaway sshd, a TCP
//! forwarder that can be cut like a network partition.

pub mod chromium;
pub mod history;
pub mod host_state;
pub mod lab;
pub mod nginx_shape;
pub mod odoo;
pub mod partition;
pub mod project;
pub mod real_world_lab;
pub mod reliability;
pub mod shared_fleet;
pub mod sshd;
pub mod tutorial;
