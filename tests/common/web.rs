//! Logging in over real HTTP, for the account, access and browser tests.

use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// Every test account's password.
pub const PW: &str = "lampu-merah-7";

/// A client that shows redirects instead of following them, with no token.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub fn add(app: &TestApp, name: &str, role: &str, office: Option<&str>) {
    let conn = super::db::open(&app.db);
    ronda_server::store::users::add(&conn, name, role, office, PW, 0).unwrap();
}

/// Log in; the session cookie as sent back, and its CSRF token.
pub async fn login(app: &TestApp, name: &str) -> (String, String) {
    let res = client()
        .post(format!("{}/login", app.http))
        .form(&[("name", name), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in [
        "__Host-ronda=",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Path=/",
    ] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let me: Value = client()
        .get(format!("{}/api/v1/me", app.http))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["name"], name);
    (cookie, me["csrf"].as_str().unwrap().to_owned())
}
