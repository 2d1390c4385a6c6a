//! Tests of the pages' shared parts: the templates parse, times on the page's clock, the page zone, the language switch.

use super::*;

#[test]
fn every_template_parses() {
    for name in [
        "base.html",
        "overview.html",
        "wall.html",
        "office.html",
        "alerts.html",
        "alert.html",
        "servers.html",
        "report.html",
        "outbox.html",
        "telegram.html",
        "audit.html",
        "login.html",
        "sign.html",
        "view.html",
    ] {
        let text = std::fs::read_to_string(format!("templates/{name}")).unwrap();
        let mut fresh = Environment::new();
        if let Err(e) = fresh.add_template_owned(name.to_owned(), text) {
            panic!("{name}: {e:#}");
        }
        assert!(env().get_template(name).is_ok(), "{name}");
    }
}

#[test]
fn times_are_read_on_the_clock_the_frame_carries() {
    let t = env()
        .template_from_str("{{ at|when }} · {{ ms|ms }}")
        .unwrap();
    let at = "2018-06-11T01:30:00Z";
    let ms = 1_528_680_600_000_i64; // the same instant
    let makassar = jiff::tz::TimeZone::get("Asia/Makassar").unwrap();
    let clock = minijinja::Value::from_object(Clock(makassar));
    assert_eq!(
        t.render(minijinja::context! { clock, at, ms }).unwrap(),
        "2018-06-11 09:30:00 WITA · 2018-06-11 09:30:00 WITA"
    );
    let jayapura = jiff::tz::TimeZone::get("Asia/Jayapura").unwrap();
    let clock = minijinja::Value::from_object(Clock(jayapura));
    assert!(t
        .render(minijinja::context! { clock, at, ms })
        .unwrap()
        .starts_with("2018-06-11 10:30:00 WIT ·"));
    // A page rendered without a clock still says which zone it means.
    assert!(t
        .render(minijinja::context! { at, ms })
        .unwrap()
        .starts_with("2018-06-11 08:30:00 WIB"));
}

#[test]
fn the_page_zone_is_the_regions_then_the_letters() {
    let text = "region:\n  name: Kota Makassar\n  timezone: Asia/Makassar\noffices:\n  - id: dinkes\n    name: Dinas Kesehatan\n";
    let r = ronda_policy::Registry::from_text(std::path::Path::new("o.yaml"), text.into()).unwrap();
    assert_eq!(page_zone(Some(&r), &[]).iana_name(), Some("Asia/Makassar"));
    assert_eq!(page_zone(None, &[]).iana_name(), Some("Asia/Jakarta"));
}

#[test]
fn the_language_switch_picks_the_text() {
    let t = env()
        .template_from_str("{{ t('Kantor', 'Office') }}")
        .unwrap();
    assert_eq!(
        t.render(minijinja::context! { lang => "en" }).unwrap(),
        "Office"
    );
    assert_eq!(
        t.render(minijinja::context! { lang => "id" }).unwrap(),
        "Kantor"
    );
}
