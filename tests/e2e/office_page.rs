//! The office page lists the devices its real agent reported, through the
//! embedded broker and the server.

use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_page_shows_the_devices_its_agent_reported() {
    let app = crate::common::spawn_app().await;
    let stop = CancellationToken::new();
    let sim = crate::common::sim_office(&stop).await;
    crate::common::spawn_sim_agent(
        &sim,
        "dinsos",
        app.credentials_for("dinsos", crate::common::SIM_AGENT),
        &stop,
    );
    app.wait_report("dinsos", "kantor-utama", 1).await;
    let page = app.get_text("/offices/dinsos").await;
    for text in [
        "nvr-depan",
        "Jalan depan",
        "front-road",
        "rak-server",
        "cctv-monitor",
        "sipd",
    ] {
        assert!(page.contains(text), "the office page lacks {text}");
    }
    let missing = app
        .client
        .get(format!("{}/offices/nowhere", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    stop.cancel();
    app.stop().await;
}
