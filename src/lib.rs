//! wsdeploy: agentless, idempotent, transactional deployment of WebSocket backends
//! (Odoo, FastAPI/uvicorn, Frappe Socket.IO) behind nginx.
//!
//! Data flows one way: `cli` → `inventory` + `plan` (+ `template`) → `fleet` →
//! `engine` (gather → `edit` → `diff` → lock → journal → write → `verify`, every host
//! script and its parser in `host`) over a `transport`, → `run` reports → `report` →
//! `exit` code. See ARCHITECTURE.md.

pub mod cli;
pub mod config;
pub mod diff;
pub mod digest;
pub mod edit;
pub mod engine;
pub mod exit;
pub mod facts;
pub mod fleet;
pub mod history;
pub mod host;
pub mod interrupt;
pub mod inventory;
pub mod location;
pub mod mask;
pub mod no_core_dump;
pub mod plan;
pub mod project;
pub mod reach;
pub mod report;
pub mod restore_date;
pub mod restore_run;
pub mod review;
pub mod run;
pub mod schedule;
pub mod shell;
pub mod template;
pub mod tls;
pub mod transport;
pub mod validate;
pub mod vault;
pub mod verify;
