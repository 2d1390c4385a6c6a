//! The server's web side over real HTTP(S), with no agent reporting:
//! accounts, throttling, TLS, slow clients, a real browser, time zones.

mod browser;
mod https;
mod invite;
mod invite_cli;
mod login;
mod security;
mod slow_clients;
mod zones;
