//! Ronda's root test suite, one test binary: end-to-end tests through the
//! broker and the server (`e2e`), the server's web side (`web`), the agent
//! against simulated devices, the policy engine and mail on a held clock,
//! the delivery model, the conformance matrix, the fault tests, and the
//! Debian packages with their systemd units (`deploy`).
//!
//! One binary, not one per file: each file used to be compiled and linked
//! against the whole workspace on its own, with its own copy of the helpers.
// Tests may unwrap: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod policy_harness;

mod agent_devices;
mod agent_doctor;
mod agent_services;
mod channels;
mod conformance;
mod deploy;
mod e2e;
mod faults;
mod mail_delivery;
mod mail_tls;
mod model_delivery;
mod policy_eval;
mod telegram_api;
mod upgrade;
mod web;
