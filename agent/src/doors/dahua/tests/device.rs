//! A stand-in Dahua access controller: serves the fixtures under
//! `sim/fixtures/dahua-access/` and searches its record log as
//! `docs/vendors/dahua-access.md` §1 describes (`StartTime`/`EndTime` in
//! epoch seconds, `count`, no offset, `totalCount` and `found`), capping
//! the page at its own maximum without a word.

use std::sync::{Arc, Mutex};

use crate::doors::hikvision::tests::server::{Handler, Login, Reply, Request, Server};
use crate::recorders::dahua::parse_kv;

pub fn fixture(name: &str) -> String {
    crate::fixture::read("dahua-access", name)
}

/// One record: its number, its time, and every field as written.
#[derive(Clone)]
pub struct Row {
    pub rec_no: u64,
    pub time: i64,
    pub fields: Vec<(String, String)>,
}

type Override = Box<dyn Fn(&Request) -> Option<Reply> + Send + Sync>;

pub struct Dahua {
    /// The device's page maximum.
    pub cap: usize,
    pub log: Mutex<Vec<Row>>,
    pub search: Mutex<Option<Override>>,
    /// The `getDoorStatus` fixture of doors 1 and 2.
    pub doors: Mutex<[&'static str; 2]>,
}

impl Dahua {
    /// The evening of `record_log.txt`, 3 records a page at most.
    pub fn new() -> Arc<Dahua> {
        let kv = parse_kv(&fixture("record_log.txt")).unwrap();
        let mut rows: Vec<Row> = Vec::new();
        for (k, v) in kv {
            let Some(rest) = k.strip_prefix("records[") else {
                continue;
            };
            let (i, field) = rest.split_once("].").unwrap();
            let i: usize = i.parse().unwrap();
            if rows.len() <= i {
                rows.push(Row {
                    rec_no: 0,
                    time: 0,
                    fields: Vec::new(),
                });
            }
            match field {
                "RecNo" => rows[i].rec_no = v.parse().unwrap(),
                "CreateTime" => rows[i].time = v.parse().unwrap(),
                _ => rows[i].fields.push((field.to_owned(), v)),
            }
        }
        Arc::new(Dahua {
            cap: 3,
            log: Mutex::new(rows),
            search: Mutex::new(None),
            doors: Mutex::new(["door_status_close.txt", "door_status_open.txt"]),
        })
    }

    pub async fn serve(self: &Arc<Self>) -> Server {
        self.serve_as(Login::Digest).await
    }

    pub async fn serve_as(self: &Arc<Self>, login: Login) -> Server {
        let me = self.clone();
        let handler: Handler = Arc::new(move |r| me.answer(r));
        Server::start(login, handler).await
    }

    pub fn answer_searches(
        &self,
        reply: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
    ) {
        *self.search.lock().unwrap() = Some(Box::new(reply));
    }

    /// A granted face at door 1 by user `who`.
    pub fn add(&self, rec_no: u64, time: i64, who: &str) {
        let fields = [
            ("UserID", who),
            ("Door", "1"),
            ("Method", "16"),
            ("Status", "1"),
        ];
        self.log.lock().unwrap().push(Row {
            rec_no,
            time,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }

    fn answer(&self, r: &Request) -> Reply {
        let (path, query) = r.target.split_once('?').unwrap_or((&r.target, ""));
        let q = |k: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{k}=")))
                .map(str::to_owned)
        };
        match (path, q("action").as_deref()) {
            ("/cgi-bin/magicBox.cgi", Some("getSystemInfo")) => {
                Reply::text(fixture("system_info.txt"))
            }
            ("/cgi-bin/global.cgi", Some("getCurrentTime")) => {
                Reply::text(fixture("current_time.txt"))
            }
            ("/cgi-bin/accessControl.cgi", Some("getDoorStatus")) => {
                let doors = *self.doors.lock().unwrap();
                match q("channel").as_deref() {
                    Some("1") => Reply::text(fixture(doors[0])),
                    Some("2") => Reply::text(fixture(doors[1])),
                    _ => Reply::status(400, "Error\r\nBad Request!\r\n"),
                }
            }
            ("/cgi-bin/recordFinder.cgi", Some("find"))
                if q("name").as_deref() == Some("AccessControlCardRec") =>
            {
                if let Some(o) = self.search.lock().unwrap().as_ref() {
                    if let Some(reply) = o(r) {
                        return reply;
                    }
                }
                let num = |k: &str| q(k).and_then(|v| v.parse::<i64>().ok());
                self.find(num("StartTime"), num("EndTime"), num("count"))
            }
            _ => Reply::status(404, "Error\r\nBad Request!\r\n"),
        }
    }

    fn find(&self, start: Option<i64>, end: Option<i64>, count: Option<i64>) -> Reply {
        let mut matched: Vec<Row> = self
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| start.is_none_or(|s| r.time >= s) && end.is_none_or(|e| r.time <= e))
            .cloned()
            .collect();
        matched.sort_by_key(|r| (r.time, r.rec_no));
        let n = (count.unwrap_or(100).max(0) as usize).min(self.cap);
        let page = &matched[..n.min(matched.len())];
        Reply::text(records(matched.len(), page))
    }
}

/// A `find` answer: `totalCount`, `found`, then each record's lines.
pub fn records(total: usize, page: &[Row]) -> String {
    let mut out = format!("totalCount={total}\r\nfound={}\r\n", page.len());
    for (i, r) in page.iter().enumerate() {
        out += &format!(
            "records[{i}].RecNo={}\r\nrecords[{i}].CreateTime={}\r\n",
            r.rec_no, r.time
        );
        for (k, v) in &r.fields {
            out += &format!("records[{i}].{k}={v}\r\n");
        }
    }
    out
}

/// A query parameter of a request.
pub fn param(r: &Request, key: &str) -> Option<i64> {
    let query = r.target.split_once('?')?.1;
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{key}=")))?
        .parse()
        .ok()
}
