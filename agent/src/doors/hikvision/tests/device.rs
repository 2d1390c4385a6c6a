//! A stand-in Hikvision access controller: serves the fixtures under
//! `sim/fixtures/hikvision-access/` and searches its event log as
//! `docs/vendors/hikvision-access.md` §1 describes (a serial or time
//! condition, `searchResultPosition`, a silent cap on `maxResults`,
//! `MORE`/`OK`/`NO MATCH`), in one of three firmware flavours for
//! `beginSerialNo`.

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::{json, Value};

use super::server::{Handler, Login, Reply, Request, Server};

pub fn fixture(name: &str) -> String {
    crate::fixture::read("hikvision-access", name)
}

/// How a firmware treats `beginSerialNo`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Serial {
    Honour,
    /// Searches as if it were not there.
    Ignore,
    /// Answers 400 with a `ResponseStatus`.
    Refuse,
}

type Override = Box<dyn Fn(&Request) -> Option<Reply> + Send + Sync>;

pub struct Hik {
    pub serial: Serial,
    /// The firmware's `maxResults` maximum, applied without a word.
    pub cap: usize,
    pub log: Mutex<Vec<Value>>,
    /// Answers the test puts in place of the search (an attacker's).
    pub search: Mutex<Option<Override>>,
}

impl Hik {
    /// The holiday log of `event_log.json`, honouring `beginSerialNo`, at
    /// most 4 events a page.
    pub fn new(serial: Serial) -> Arc<Hik> {
        let log: Value = serde_json::from_str(&fixture("event_log.json")).unwrap();
        Arc::new(Hik {
            serial,
            cap: 4,
            log: Mutex::new(log["InfoList"].as_array().unwrap().clone()),
            search: Mutex::new(None),
        })
    }

    pub fn empty(serial: Serial) -> Arc<Hik> {
        let hik = Hik::new(serial);
        hik.log.lock().unwrap().clear();
        hik
    }

    pub async fn serve(self: &Arc<Self>) -> Server {
        self.serve_as(Login::Digest).await
    }

    pub async fn serve_as(self: &Arc<Self>, login: Login) -> Server {
        let me = self.clone();
        let handler: Handler = Arc::new(move |r| me.answer(r));
        Server::start(login, handler).await
    }

    /// Put `reply` in place of every search answer.
    pub fn answer_searches(
        &self,
        reply: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
    ) {
        *self.search.lock().unwrap() = Some(Box::new(reply));
    }

    pub fn honest_again(&self) {
        *self.search.lock().unwrap() = None;
    }

    /// Add an event to the log: `(major, minor, time, serial)`.
    pub fn add(&self, major: u32, minor: u32, time: &str, serial: u64) {
        self.log.lock().unwrap().push(json!({
            "major": major, "minor": minor, "time": time, "serialNo": serial, "doorNo": 1
        }));
    }

    fn answer(&self, r: &Request) -> Reply {
        match (r.method.as_str(), r.target.as_str()) {
            ("GET", "/ISAPI/System/deviceInfo") => Reply::xml(fixture("device_info.xml")),
            ("GET", "/ISAPI/System/time") => Reply::xml(fixture("system_time.xml")),
            ("GET", "/ISAPI/AccessControl/AcsWorkStatus?format=json") => {
                Reply::json(fixture("work_status.json"))
            }
            ("POST", "/ISAPI/AccessControl/AcsEvent?format=json") => {
                if let Some(o) = self.search.lock().unwrap().as_ref() {
                    if let Some(reply) = o(r) {
                        return reply;
                    }
                }
                self.search(&r.body)
            }
            _ => Reply::status(404, "not found"),
        }
    }

    fn search(&self, body: &str) -> Reply {
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            return Reply::status(400, "bad JSON");
        };
        let cond = &v["AcsEventCond"];
        if cond["beginSerialNo"].is_u64() && self.serial == Serial::Refuse {
            let mut reply = Reply::json(fixture("response_status_bad_parameters.json"));
            if let Reply::Body { status, .. } = &mut reply {
                *status = 400;
            }
            return reply;
        }
        let serials = match (cond["beginSerialNo"].as_u64(), self.serial) {
            (Some(b), Serial::Honour) => {
                Some((b, cond["endSerialNo"].as_u64().unwrap_or(u64::MAX)))
            }
            _ => None,
        };
        let time = |k: &str| cond[k].as_str().and_then(|t| t.parse::<Timestamp>().ok());
        let (start, end) = (time("startTime"), time("endTime"));
        let matched: Vec<Value> = self
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| {
                let n = e["serialNo"].as_u64().unwrap_or(0);
                let t: Option<Timestamp> = e["time"].as_str().and_then(|t| t.parse().ok());
                serials.is_none_or(|(b, end)| (b..=end).contains(&n))
                    && start.is_none_or(|s| t.is_some_and(|t| t >= s))
                    && end.is_none_or(|s| t.is_some_and(|t| t <= s))
            })
            .cloned()
            .collect();
        let position = cond["searchResultPosition"].as_u64().unwrap_or(0) as usize;
        let max = (cond["maxResults"].as_u64().unwrap_or(30) as usize).min(self.cap);
        let page: Vec<Value> = matched.iter().skip(position).take(max).cloned().collect();
        let status = if matched.is_empty() {
            "NO MATCH"
        } else if position + page.len() < matched.len() {
            "MORE"
        } else {
            "OK"
        };
        Reply::json(
            json!({"AcsEvent": {
                "searchID": cond["searchID"], "responseStatusStrg": status,
                "numOfMatches": page.len(), "totalMatches": matched.len(), "InfoList": page
            }})
            .to_string(),
        )
    }
}

/// The `AcsEventCond` of a search request.
pub fn condition(r: &Request) -> Value {
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v["AcsEventCond"].clone()
}
