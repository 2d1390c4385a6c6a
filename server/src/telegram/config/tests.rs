//! The `telegram:` section: defaults, and every error named by its key.

use std::path::Path;
use std::time::Duration;

use ronda_common::conf::Source;

use super::*;

#[derive(Deserialize)]
struct File {
    telegram: RawTelegram,
}

fn check(text: &str) -> Result<TelegramConfig, String> {
    let source = Source::from_text(Path::new("server.yaml"), text.into());
    let raw: File = source.parse().map_err(|e| e.to_string())?;
    let mut c = source.checker();
    let config = raw.telegram.check(&mut c, Path::new("/etc/ronda"));
    c.finish().map_err(|e| e.to_string())?;
    Ok(config.expect("a config when there are no problems"))
}

#[test]
fn defaults_with_only_a_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "123:abc\n").unwrap();
    let text = format!("telegram:\n  token_file: {}\n", file.display());
    let config = check(&text).unwrap();
    assert_eq!(config.api_base, "https://api.telegram.org");
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert!(matches!(config.updates, Updates::Poll));
    assert_eq!(config.token.resolve().unwrap().expose(), "123:abc");
    assert!(!format!("{config:?}").contains("123:abc"));
}

#[test]
fn a_local_api_server_webhook_and_timeout() {
    let text = "telegram:\n  token_env: RONDA_TG_TOKEN\n  api_base: http://127.0.0.1:8081/\n  timeout: 3s\n  updates: webhook\n  webhook_secret_env: RONDA_TG_HOOK\n";
    let config = check(text).unwrap();
    assert_eq!(config.api_base, "http://127.0.0.1:8081", "no trailing /");
    assert_eq!(config.timeout, Duration::from_secs(3));
    let Updates::Webhook { secret } = config.updates else {
        panic!("webhook expected");
    };
    assert_eq!(format!("{secret:?}"), "Env(RONDA_TG_HOOK)");
}

#[test]
fn an_inline_token_never_shows_in_debug() {
    let config = check("telegram:\n  token: \"999:SECRETSECRET\"\n  updates: off\n").unwrap();
    assert!(matches!(config.updates, Updates::Off));
    assert!(!format!("{config:?}").contains("SECRETSECRET"));
}

#[test]
fn every_error_is_named_by_its_key() {
    let err =
        check("telegram:\n  api_base: ftp://x\n  timeout: 0s\n  updates: push\n").unwrap_err();
    for key in [
        "telegram.token: give the bot token",
        "telegram.api_base: must start with http:// or https://",
        "telegram.timeout: expected a duration from 1s to 300s",
        "telegram.updates: `push` is not a way to read updates",
    ] {
        assert!(err.contains(key), "{key} missing from {err}");
    }
}

#[test]
fn a_webhook_needs_its_secret_and_only_a_webhook_takes_one() {
    let err = check("telegram:\n  token_env: T\n  updates: webhook\n").unwrap_err();
    assert!(
        err.contains("telegram.webhook_secret: updates: webhook needs"),
        "{err}"
    );
    let err = check("telegram:\n  token_env: T\n  webhook_secret_env: H\n").unwrap_err();
    assert!(
        err.contains("telegram.webhook_secret: has no use unless updates: webhook"),
        "{err}"
    );
}

#[test]
fn two_sources_for_one_secret_are_refused() {
    let err = check("telegram:\n  token: x\n  token_env: T\n").unwrap_err();
    assert!(err.contains("telegram.token: give only one of"), "{err}");
    let text = "telegram:\n  token_env: T\n  updates: webhook\n  webhook_secret: a\n  webhook_secret_env: H\n";
    let err = check(text).unwrap_err();
    assert!(
        err.contains("telegram.webhook_secret: give only one of"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_refused() {
    let err = check("telegram:\n  token_env: T\n  chat: 5\n").unwrap_err();
    assert!(err.contains("unknown field `chat`"), "{err}");
}

#[test]
fn the_webhook_secret_follows_telegrams_alphabet_and_length() {
    assert!(check_webhook_secret("abc_DEF-123").is_ok());
    assert!(check_webhook_secret(&"a".repeat(256)).is_ok());
    assert!(check_webhook_secret("").is_err());
    assert!(check_webhook_secret(&"a".repeat(257)).is_err());
    let err = check_webhook_secret("has space/and:colon").unwrap_err();
    assert!(
        !err.contains("colon"),
        "the value stays out of the error: {err}"
    );
}
