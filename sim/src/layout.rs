//! The simulated office: which devices it has, with names and zones as a
//! small Indonesian office would have them.

use std::net::SocketAddr;

use crate::state::{Auth, DeviceState, Scheme, SimChannel, SimDisk, SimKind};

fn auth(scheme: Scheme, realm: &str, username: &str, password: &str) -> Auth {
    Auth {
        scheme,
        realm: realm.into(),
        username: username.into(),
        password: password.into(),
    }
}

fn channel(id: &str, name: &str, zone: &str) -> SimChannel {
    SimChannel {
        id: id.into(),
        name: name.into(),
        zone: zone.into(),
        online: true,
        recording: true,
        stopped_at: None,
        view: Default::default(),
    }
}

fn disk(id: &str, status: &str, capacity_mb: u64, free_mb: u64) -> SimDisk {
    SimDisk {
        id: id.into(),
        status: status.into(),
        capacity_mb,
        free_mb,
    }
}

fn recorder(
    id: &str,
    kind: SimKind,
    a: Auth,
    model: &str,
    firmware: &str,
    channels: Vec<SimChannel>,
) -> DeviceState {
    let mut d = DeviceState::new(id, kind);
    d.auth = a;
    d.model = model.into();
    d.firmware = firmware.into();
    d.serial = format!("{}-SN0001", id.to_uppercase());
    d.channels = channels;
    d
}

fn plug(
    id: &str,
    kind: SimKind,
    a: Auth,
    topic: &str,
    relays: &[(&str, bool, f32)],
) -> DeviceState {
    let mut d = DeviceState::new(id, kind);
    d.auth = a;
    d.topic = topic.into();
    d.classes = relays.iter().map(|r| r.0.to_owned()).collect();
    d.relays = relays.iter().map(|r| r.1).collect();
    d.load_w = relays.iter().map(|r| r.2).collect();
    d
}

/// What the simulated office has besides the default devices.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Door controllers (`crate::access::layout`): a Hikvision access
    /// terminal, and a ZKTeco PUSH device calling the agent's listener at
    /// this address (written as `access_listen` in the agent config).
    pub doors: Option<SocketAddr>,
}

/// The default office, with what `layout` adds.
pub fn office(layout: &Layout) -> Vec<DeviceState> {
    let mut devices = default_office();
    if let Some(listen) = layout.doors {
        devices.extend(crate::access::layout::door_controllers(listen));
    }
    devices
}

/// The default office: every kind of device Ronda reads, once or more
/// (door controllers only with [`office`]).
pub fn default_office() -> Vec<DeviceState> {
    let none = || auth(Scheme::None, "", "", "");
    let mut nvr = recorder(
        "nvr-depan",
        SimKind::Hikvision,
        auth(Scheme::DigestMd5, "DS-7608NI-K2", "admin", "Kantor2018"),
        "DS-7608NI-K2/8P",
        "V4.22.005",
        vec![
            channel("1", "Jalan depan", "front-road"),
            channel("2", "Lobi pelayanan", "interior"),
            channel("3", "Ruang arsip", "interior"),
            channel("4", "Parkir belakang", "perimeter"),
        ],
    );
    nvr.disks = vec![disk("1", "ok", 1_907_729, 0), disk("2", "ok", 1_907_729, 0)];
    let mut dvr = recorder(
        "dvr-gudang",
        SimKind::Dahua,
        auth(
            Scheme::DigestMd5,
            "Login to 4G0123PAZ00000",
            "admin",
            "Gudang2018",
        ),
        "DH-XVR5108HS-4KL-I2",
        "4.001.0000000.3.R",
        vec![
            channel("1", "Gudang", "perimeter"),
            channel("2", "Ruang server", "interior"),
        ],
    );
    dvr.disks = vec![disk("0", "Success", 953_869, 120_000)];
    let onvif = recorder(
        "nvr-aula",
        SimKind::Onvif,
        auth(Scheme::DigestSha256, "onvif", "operator", "Aula2018"),
        "NVR-ONVIF-4",
        "2.6.1",
        vec![channel("1", "Aula", "interior")],
    );
    let rtsp = recorder(
        "cam-gerbang",
        SimKind::Rtsp,
        auth(
            Scheme::DigestMd5,
            "IP Camera(C6496)",
            "admin",
            "Gerbang2018",
        ),
        "DS-2CD1023G0-I",
        "V5.5.800",
        vec![
            channel("101", "Gerbang utama", "front-road"),
            channel("201", "Pagar samping", "perimeter"),
        ],
    );
    let frigate = recorder(
        "frigate-pos",
        SimKind::Frigate,
        none(),
        "Frigate",
        "0.14.1",
        vec![
            channel("depan", "Pos satpam depan", "front-road"),
            channel("halaman", "Halaman", "perimeter"),
        ],
    );
    let folder = recorder(
        "rekaman-pc",
        SimKind::Folder,
        none(),
        "",
        "",
        vec![channel("lorong", "Lorong lantai 2", "interior")],
    );
    let mut service = DeviceState::new("sipd", SimKind::Service);
    service.model = "Sistem Informasi Pelayanan Daerah".into();
    vec![
        nvr,
        dvr,
        onvif,
        rtsp,
        frigate,
        folder,
        plug(
            "rak-server",
            SimKind::Tasmota,
            none(),
            "rak_server",
            &[("server", true, 212.0)],
        ),
        plug(
            "stopkontak-tu",
            SimKind::Tasmota,
            none(),
            "stopkontak_tu",
            &[("printer", false, 35.0), ("pc", false, 120.0)],
        ),
        plug(
            "ac-kepala",
            SimKind::ShellyGen1,
            auth(Scheme::Basic, "shellyplug-s-7C87CE", "admin", "Ac2018"),
            "",
            &[("air-conditioner", false, 850.0)],
        ),
        plug(
            "pc-loket",
            SimKind::ShellyRpc,
            auth(
                Scheme::DigestSha256,
                "shellyplusplugs-b0b21c0f1a2c",
                "admin",
                "Loket2018",
            ),
            "",
            &[("pc", false, 95.0)],
        ),
        plug(
            "dispenser-lobi",
            SimKind::TasmotaMqtt,
            none(),
            "dispenser_lobi",
            &[("dispenser", false, 420.0)],
        ),
        plug(
            "printer-lobi",
            SimKind::ShellyRpcMqtt,
            none(),
            "shellyplusplugs-a8032ab12345",
            &[("printer", false, 15.0)],
        ),
        plug(
            "tv-monitor-cctv",
            SimKind::Zigbee2mqtt,
            none(),
            "zigbee2mqtt/tv-monitor-cctv",
            &[("cctv-monitor", true, 48.0)],
        ),
        service,
    ]
}
