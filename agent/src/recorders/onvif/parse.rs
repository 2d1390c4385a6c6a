//! The answers the ONVIF adapter reads, matched by local name: vendors
//! prefix the same elements `tds:`, `tt:`, `ns2:` or nothing at all.

use jiff::civil::DateTime;
use jiff::Timestamp;

use crate::probe::ProbeError;
use crate::xml;

/// The Recording Search service's namespace, as GetServices lists it.
pub const SEARCH_NS: &str = "http://www.onvif.org/ver10/search/wsdl";

/// `GetSystemDateAndTime`: the device clock from `UTCDateTime`, which
/// devices fill whatever their time zone. A device older than ONVIF 2.0 may
/// send only `LocalDateTime`, in a zone it may not name: its clock is then
/// unknown (`None`), never guessed from local time.
pub fn parse_system_time(body: &str) -> Result<Option<Timestamp>, ProbeError> {
    let doc = xml::parse(body)?;
    let Some(answer) = xml::find(doc.root_element(), "SystemDateAndTime") else {
        return Err(ProbeError::Parse(
            "no SystemDateAndTime in the answer".into(),
        ));
    };
    let Some(utc) = xml::find(answer, "UTCDateTime") else {
        return Ok(None);
    };
    let n = |name: &str| -> Result<i16, ProbeError> {
        xml::need(utc, name)?
            .parse()
            .map_err(|_| ProbeError::Parse(format!("<{name}> is not a number")))
    };
    let small =
        |v: i16| i8::try_from(v).map_err(|_| ProbeError::Parse("time field out of range".into()));
    let civil = DateTime::new(
        n("Year")?,
        small(n("Month")?)?,
        small(n("Day")?)?,
        small(n("Hour")?)?,
        small(n("Minute")?)?,
        small(n("Second")?)?,
        0,
    )
    .map_err(|e| ProbeError::Parse(format!("UTCDateTime: {e}")))?;
    jiff::tz::Offset::UTC
        .to_timestamp(civil)
        .map(Some)
        .map_err(|e| ProbeError::Parse(e.to_string()))
}

/// `GetDeviceInformation`: the model (with its manufacturer) and firmware.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub model: Option<String>,
    pub firmware: Option<String>,
}

pub fn parse_device_information(body: &str) -> Result<DeviceInfo, ProbeError> {
    let doc = xml::parse(body)?;
    let answer = xml::find(doc.root_element(), "GetDeviceInformationResponse")
        .ok_or_else(|| ProbeError::Parse("no GetDeviceInformationResponse".into()))?;
    let field = |name: &str| xml::text(answer, name).filter(|t| !t.is_empty());
    let model = match (field("Manufacturer"), field("Model")) {
        (Some(maker), Some(model)) if !model.starts_with(maker) => Some(format!("{maker} {model}")),
        (_, Some(model)) => Some(model.to_owned()),
        (maker, None) => maker.map(str::to_owned),
    };
    Ok(DeviceInfo {
        model,
        firmware: field("FirmwareVersion").map(str::to_owned),
    })
}

/// `GetServices`: the path of the Recording Search service, if the device
/// has one (ONVIF Profile G). Only the path is kept; see [`super::Onvif`].
pub fn search_path(body: &str) -> Result<Option<String>, ProbeError> {
    let doc = xml::parse(body)?;
    if xml::find(doc.root_element(), "GetServicesResponse").is_none() {
        return Err(ProbeError::Parse("no GetServicesResponse".into()));
    }
    let xaddr = xml::all(doc.root_element(), "Service")
        .find(|s| xml::child_text(*s, "Namespace") == Some(SEARCH_NS))
        .and_then(|s| xml::child_text(s, "XAddr"));
    Ok(xaddr.map(path_of))
}

/// `GetCapabilities` (Category `All`), the ONVIF 1.x way older devices
/// without `GetServices` name their services: the Recording Search
/// service's path from `Capabilities/Extension/Search/XAddr` (Core 8.1.2.4,
/// Annex A; `tt:CapabilitiesExtension` in onvif.xsd), if the device has
/// one. Only the path is kept, as from `GetServices`.
pub fn capabilities_search_path(body: &str) -> Result<Option<String>, ProbeError> {
    let doc = xml::parse(body)?;
    let Some(answer) = xml::find(doc.root_element(), "GetCapabilitiesResponse") else {
        return Err(ProbeError::Parse("no GetCapabilitiesResponse".into()));
    };
    let xaddr = child(answer, "Capabilities")
        .and_then(|c| child(c, "Extension"))
        .and_then(|e| child(e, "Search"))
        .and_then(|s| xml::child_text(s, "XAddr"))
        .filter(|x| !x.is_empty());
    Ok(xaddr.map(path_of))
}

/// The first direct child element with this local name.
pub(crate) fn child<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// The path (and query) of an XAddr, whether written as a full URL or as a
/// path alone.
pub(crate) fn path_of(xaddr: &str) -> String {
    let path = match reqwest::Url::parse(xaddr) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        },
        Err(_) => xaddr.to_owned(),
    };
    // The path goes straight after the configured `scheme://host[:port]`.
    // Without its `/`, the path of a URL with another scheme (`nvr:8080/x`
    // reads as scheme `nvr`, path `8080/x`) ran on into the host and sent
    // the request, credentials and all, elsewhere (found by
    // `fuzz_onvif_any_xaddr`).
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// `GetRecordingSummary`: what the device holds, across all recordings.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The end of the newest recorded data; `None` when nothing is recorded.
    pub data_until: Option<Timestamp>,
    pub recordings: Option<u64>,
}

pub fn parse_recording_summary(body: &str) -> Result<Summary, ProbeError> {
    let doc = xml::parse(body)?;
    let summary = xml::find(doc.root_element(), "Summary")
        .ok_or_else(|| ProbeError::Parse("no Summary in the answer".into()))?;
    let recordings =
        match xml::text(summary, "NumberRecordings") {
            None => None,
            Some(n) => Some(n.parse::<u64>().map_err(|_| {
                ProbeError::Parse(format!("NumberRecordings `{n}` is not a number"))
            })?),
        };
    // Recording Search 5.4: with zero recordings "both DataFrom and
    // DataUntil can be safely ignored" (devices write the epoch).
    let data_until = match (recordings, xml::text(summary, "DataUntil")) {
        (Some(0), _) | (_, None) => None,
        (_, Some(t)) => Some(parse_date_time(t)?),
    };
    Ok(Summary {
        data_until,
        recordings,
    })
}

/// An `xs:dateTime`. Recording Search 5.2.6 has devices answer in UTC with
/// the `Z`; some leave the `Z` out (taken as UTC), some write an offset or
/// fractions of a second (taken as written).
pub fn parse_date_time(t: &str) -> Result<Timestamp, ProbeError> {
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    t.parse::<DateTime>()
        .ok()
        .and_then(|civil| jiff::tz::Offset::UTC.to_timestamp(civil).ok())
        .ok_or_else(|| ProbeError::Parse(format!("`{t}` is not a date and time")))
}
