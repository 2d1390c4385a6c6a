//! End to end: real agents (or raw MQTT clients) through a broker, the
//! embedded one or a real Mosquitto, to the real server and its API.

mod access;
mod bad_input;
mod bridge;
mod door_events;
mod doors;
mod embedded;
mod enroll;
mod identity;
mod mosquitto;
mod office_page;
pub mod reload;
mod remediation;
mod share;
mod telegram;
mod view;
