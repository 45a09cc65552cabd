//! Shared test support: throwaway projects, the lab fleet, a throwaway sshd.

pub mod lab;
pub mod project;
pub mod reliability;
pub mod sshd;
